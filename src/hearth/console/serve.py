"""Serves the console's page and its built assets; nothing else of the file system."""

from __future__ import annotations

from pathlib import Path

from hearth.api.http import Request, Response, Router, json_response
from hearth.errors import not_found

WEB = Path(__file__).parent / "web"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_MISSING = (
    "<!doctype html><title>Hearth console</title><p>The console is not built: run "
    "<code>./scripts/setup.sh</code> (it needs node and npm).</p>"
)


def register(router: Router, *, auth_required: bool, web: Path = WEB) -> None:
    """The page and its assets hold no secrets and are served to anyone; every API call the
    page makes is signed with the key pair the user signs in with when SigV4 is required."""

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

    async def config(request: Request) -> Response:
        return json_response({"authRequired": auth_required})

    router.add("Console", "GET", "/console", page, authenticated=False, max_body=0)
    router.add(
        "ConsoleConfig", "GET", "/console/config.json", config, authenticated=False, max_body=0
    )
    router.add("Console", "GET", "/console/", page, authenticated=False, max_body=0)
    router.add(
        "ConsoleAsset", "GET", "/console/assets/{Name}", asset, authenticated=False, max_body=0
    )
