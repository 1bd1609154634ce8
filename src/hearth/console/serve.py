"""Serves the console's page and its built assets; nothing else of the file system."""

from __future__ import annotations

from pathlib import Path

from hearth.api.http import Request, Response, Router
from hearth.errors import not_found

WEB = Path(__file__).parent / "web"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_MISSING = (
    "<!doctype html><title>Hearth console</title><p>The console is not built: run "
    "<code>./scripts/setup.sh</code> (it needs node and npm).</p>"
)


def register(router: Router, web: Path = WEB) -> None:
    async def page(request: Request) -> Response:
        built = (web / "dist" / "console.js").is_file()
        body = (web / "index.html").read_bytes() if built else _MISSING.encode()
        return Response(200, body, content_type="text/html; charset=utf-8")

    async def asset(request: Request) -> Response:
        name = request.params["Name"]
        # Only the files the build writes: one flat directory, no path in the name.
        path = web / "dist" / name
        if "/" in name or name.startswith(".") or path.suffix not in _TYPES or not path.is_file():
            raise not_found(f"No console asset {name}")
        return Response(200, path.read_bytes(), content_type=_TYPES[path.suffix])

    # The console is the API's own client: it signs nothing, so `service.py` mounts it only
    # when the API does not require SigV4.
    router.add("Console", "GET", "/console", page, authenticated=False, max_body=0)
    router.add("Console", "GET", "/console/", page, authenticated=False, max_body=0)
    router.add(
        "ConsoleAsset", "GET", "/console/assets/{Name}", asset, authenticated=False, max_body=0
    )
