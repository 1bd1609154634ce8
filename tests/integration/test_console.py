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


def _shot(page: Any, shots: Path | None, name: str) -> None:
    if shots:
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def test_edit_deploy_invoke_in_the_browser(  # noqa: PLR0915 - one walk through every page
    server: Server, client: Any, browser: Any
) -> None:
    name = "console-fn"
    create_function(client, name, make_zip({"app.py": V1, "util/helpers.py": "X = 1\n"}))
    client.invoke(FunctionName=name, Payload=b"{}")
    version = client.publish_version(FunctionName=name)["Version"]
    client.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    shots = _shots()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.endpoint + "/console")
    entry = f"li[data-name='{name}']"
    page.wait_for_selector(f"{entry} svg.sparkline")
    assert "python3.12 · 128 MB" in page.inner_text(entry)
    assert page.get_attribute(f"{entry} svg", "aria-label") == "1 invocations, 0 errors in 24 h"
    _shot(page, shots, "functions")

    page.click(entry)
    page.wait_for_selector("#editor .cm-content")
    assert "hello v1" in page.inner_text("#editor .cm-content")
    # Highlighted: the Python grammar wraps `def` in a styled span of its own.
    assert "def" in page.locator(".cm-line span").all_inner_texts()
    assert page.locator("#files li").all_inner_texts() == ["app.py", "util/", "helpers.py"]
    page.click("li[data-path='util/helpers.py']")
    assert "X = 1" in page.inner_text("#editor .cm-content")
    page.click("li[data-path='app.py']")
    _shot(page, shots, "code")

    page.click("#editor .cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(V2)
    page.click("#deploy")
    page.wait_for_function("document.querySelector('#deploy-status').textContent === 'deployed'")
    page.select_option("#samples", "s3-put")
    page.click("#invoke")
    page.wait_for_function("document.querySelector('#result').textContent.includes('v2')")
    assert "Succeeded" in page.inner_text("#result") and "max memory" in page.inner_text("#result")
    assert "hello v2 ObjectCreated:Put" in page.inner_text("#log-tail")
    _shot(page, shots, "invoked")

    page.click("button[data-tab='monitoring']")
    page.wait_for_function("document.querySelectorAll('#charts .chart canvas').length === 4")
    page.select_option("#range", "1d")
    page.wait_for_function("document.querySelectorAll('#charts .chart canvas').length === 4")
    _shot(page, shots, "monitoring")

    page.click("button[data-tab='logs']")
    page.fill("#pattern", '"hello v2"')
    page.click("#search")
    page.wait_for_function(
        "document.querySelector('#logs').textContent.includes('hello v2 ObjectCreated:Put')"
    )
    assert "hello v1" not in page.inner_text("#logs")
    page.check("#follow")
    client.invoke(FunctionName=name, Payload=b'{"Records": [{"eventName": "followed"}]}')
    page.wait_for_function("document.querySelector('#logs').textContent.includes('followed')")
    _shot(page, shots, "logs")

    page.click("button[data-tab='configuration']")
    page.wait_for_selector("#diagram .node.function")
    page.fill("#memory", "256")
    page.fill("#environment", "GREETING=hi")
    page.fill("#reserved", "5")
    page.click("#save-config")
    page.wait_for_function("document.querySelector('#config-status').textContent === 'saved'")
    _shot(page, shots, "configuration")
    config = client.get_function(FunctionName=name)
    assert config["Configuration"]["MemorySize"] == 256
    assert config["Configuration"]["Environment"]["Variables"] == {"GREETING": "hi"}
    assert config["Concurrency"]["ReservedConcurrentExecutions"] == 5

    page.click("button[data-tab='versions']")
    page.wait_for_selector("#aliases td")
    assert "live" in page.inner_text("#aliases") and "1: 100%" in page.inner_text("#aliases")
    _shot(page, shots, "versions")

    page.click("button[data-tab='cost']")
    page.wait_for_selector("#cost td")
    assert "Requests (24 h)\t3" in page.inner_text("#cost")
    _shot(page, shots, "cost")
    assert errors == []
    # The new code is what the API has, too.
    answer = client.invoke(FunctionName=name, Payload=b'{"Records": [{"eventName": "x"}]}')
    assert answer["Payload"].read() == b'"v2"'
    page.close()


def test_console_signs_in_when_sigv4_is_required(tmp_path: Path, browser: Any) -> None:
    key, secret = "AKIDCONSOLE", "console-secret"
    secured = Server(
        tmp_path / "data", ["--access-key-id", key, "--secret-access-key", secret]
    ).start()
    try:
        client = secured.client(key=key, secret=secret)
        create_function(client, "signed-fn")
        page = browser.new_page()
        page.goto(secured.endpoint + "/console")
        page.wait_for_selector("#signin")
        assert page.locator("li.function").count() == 0  # nothing shown before signing in
        page.fill("#access-key", key)
        page.fill("#secret-key", "wrong")
        page.click("#signin-button")
        page.wait_for_selector("p.error:not(:empty)")
        assert "signature" in page.inner_text("p.error").lower()
        page.fill("#access-key", key)
        page.fill("#secret-key", secret)
        page.click("#signin-button")
        page.wait_for_selector("li[data-name='signed-fn']")
        assert secret not in page.url
        page.click("li[data-name='signed-fn']")
        page.wait_for_selector("#editor .cm-content")
        page.click("#invoke")
        page.wait_for_function(
            "document.querySelector('#result').textContent.includes('Succeeded')"
        )
        page.close()
    finally:
        secured.stop()
