"""The web console in a real browser: Debian's Chromium driven by Playwright.

One end-to-end run: the function list, a function page with real data (code in the editor,
charts, logs), an edit in the editor, Deploy, a sample event invoked, the new output and its
log lines. Screenshots go to $HEARTH_CONSOLE_SCREENSHOTS when it is set (the README's)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Server, create_function, make_zip

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
V1 = "def handler(event, context):\n    print('hello v1')\n    return 'v1'\n"
V2 = (
    "def handler(event, context):\n"
    "    print('hello v2', event['Records'][0]['eventName'])\n"
    "    return 'v2'\n"
)


def _chromium() -> str:
    """Debian's chromium, installed with apt-get when it is missing (CI runs as root)."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("\n==> installing Debian's chromium for the console test (apt-get)", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        done = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env)
        if done.returncode == 0 and os.access(CHROMIUM, os.X_OK):
            return CHROMIUM
    message = (
        "!!! CONSOLE BROWSER TEST SKIPPED: no Chromium at /usr/bin/chromium and it could not be "
        "installed with apt-get (needs root and Debian's package lists). Install `chromium`."
    )
    print(message, file=sys.stderr)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="!!! playwright is not installed")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


def _shots() -> Path | None:
    where = os.environ.get("HEARTH_CONSOLE_SCREENSHOTS")
    if not where:
        return None
    Path(where).mkdir(parents=True, exist_ok=True)
    return Path(where)


def test_console_is_built_and_served(server: Server) -> None:
    with urllib.request.urlopen(server.endpoint + "/console/assets/console.js") as response:
        assert response.headers["Content-Type"].startswith("text/javascript")
        assert len(response.read()) > 100_000  # CodeMirror and uPlot are in the bundle
    for hostile in ("..%2Fserve.py", ".gitignore", "nope.js", "%2E%2E%2F%2E%2E%2Fcli.py"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{server.endpoint}/console/assets/{hostile}")
        assert caught.value.code == 404
        caught.value.close()


def test_edit_deploy_invoke_in_the_browser(server: Server, client: Any, browser: Any) -> None:
    name = "console-fn"
    create_function(client, name, make_zip({"app.py": V1, "util/helpers.py": "X = 1\n"}))
    client.invoke(FunctionName=name, Payload=b"{}")
    shots = _shots()
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.endpoint + "/console")
    page.wait_for_selector(f"li[data-name='{name}']")
    if shots:
        page.screenshot(path=str(shots / "functions.png"))

    page.click(f"li[data-name='{name}']")
    page.wait_for_selector("#editor .cm-content")
    assert "hello v1" in page.inner_text("#editor .cm-content")
    # Highlighted: the Python grammar wraps `def` in a styled span of its own.
    assert "def" in page.locator(".cm-line span").all_inner_texts()
    assert page.locator("#files span").all_inner_texts() == ["app.py", "util/helpers.py"]
    page.wait_for_function("document.querySelectorAll('#charts .chart canvas').length === 3")
    page.wait_for_function("document.querySelector('#logs').textContent.includes('hello v1')")
    if shots:
        page.screenshot(path=str(shots / "function.png"), full_page=True)

    page.click("#editor .cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(V2)
    page.click("#deploy")
    page.wait_for_function("document.querySelector('#deploy-status').textContent === 'deployed'")
    page.select_option("#samples", "s3-put")
    page.click("#invoke")
    page.wait_for_function("document.querySelector('#result').textContent.includes('v2')")
    assert "hello v2 ObjectCreated:Put" in page.inner_text("#log-tail")
    page.fill("#pattern", '"hello v2"')
    page.click("#search")
    page.wait_for_function(
        "document.querySelector('#logs').textContent.includes('hello v2 ObjectCreated:Put')"
    )
    assert "hello v1" not in page.inner_text("#logs")
    if shots:
        page.screenshot(path=str(shots / "invoked.png"), full_page=True)
    assert errors == []
    # The new code is what the API has, too.
    answer = client.invoke(FunctionName=name, Payload=b'{"Records": [{"eventName": "x"}]}')
    assert answer["Payload"].read() == b'"v2"'
    page.close()
