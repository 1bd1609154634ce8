"""The README's usage examples, run as a new user would run them (issue 12 items 8-10): the
CLI lines exactly as written, the boto3 snippet after the command that makes its hello.zip,
and the banner it quotes, against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
DEFAULT_ENDPOINT = "http://127.0.0.1:9070"


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end]


def block(text: str, language: str, after: str) -> str:
    found = re.search(rf"{re.escape(after)}.*?```{language}\n(.*?)```", text, re.S)
    assert found, f"no {language} block after {after!r}"
    return found.group(1)


def user_dir(tmp_path: Path) -> Path:
    """A directory that looks like the clone's root: examples/ and .venv/ are where the README
    says they are (this test's own venv)."""
    root = tmp_path / "clone"
    root.mkdir()
    (root / "examples").symlink_to(REPO / "examples")
    (root / ".venv").symlink_to(Path(sys.executable).parents[1])
    return root


def run(command: str, cwd: Path, server: Server) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HEARTH_ENDPOINT_URL"] = server.endpoint
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_examples_run_as_written(server: Server, tmp_path: Path) -> None:
    cwd = user_dir(tmp_path)
    (cwd / "event.json").write_text('{"name": "file"}')
    lines = block(section("Using it"), "bash", "a small CLI").strip().splitlines()
    assert all(line.startswith(".venv/bin/hearth ") for line in lines), lines
    outputs = {}
    for line in lines:
        command = line.split("  #")[0].strip().replace(" --follow", "")  # follow would not end
        result = run(command, cwd, server)
        assert result.returncode == 0, f"{command}: {result.stderr}"
        outputs[command.split()[1]] = result.stdout
    assert "Hello, file!" in outputs["invoke"]
    assert "REPORT RequestId:" in outputs["logs"]


def test_the_boto3_example_runs_after_the_zip_it_names(server: Server, tmp_path: Path) -> None:
    cwd = user_dir(tmp_path)
    using = section("Using it")
    zip_command = re.search(r"\(`(\.venv/bin/python -m zipfile [^`]+)`\)", using)
    assert zip_command, "the README says how to make hello.zip"
    assert run(zip_command.group(1), cwd, server).returncode == 0
    snippet = block(using, "python", "From boto3").replace(DEFAULT_ENDPOINT, server.endpoint)
    result = run(f"{sys.executable} - <<'PY'\n{snippet}PY", cwd, server)
    assert result.returncode == 0, result.stderr
    assert "Hello, boto3!" in result.stdout
    server.client().delete_function(FunctionName="hello-boto3")


def test_the_quoted_banner_is_what_serve_prints(server: Server) -> None:
    quoted = block(section("Using it"), "text", "`hearth serve` prints").splitlines()[1:]
    printed = [line.rstrip("\n") for line in server.output]
    port = server.endpoint.rsplit(":", 1)[1]
    for line in quoted:
        if line.strip() in ("...", "") or "data dir:" in line:
            continue
        assert line.replace(":9070", f":{port}") in printed, line


def test_the_claims_name_only_what_works() -> None:
    """The opening claims SAM only as far as the Applications section lists; every section it
    names exists below it."""
    intro = README[: README.index("\n## ")]
    description = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["description"]
    assert "SAM" not in description
    assert "parts of a SAM\ntemplate listed under [Applications]" in intro
    for named, section_heading in (
        ("event source mappings", "## Event source mappings"),
        ("function URLs", "## HTTP in"),
        ("CloudWatch Logs", "### CloudWatch Logs"),
        ("web\nconsole", "### The web console"),
        ("hearth up", "## Applications: `hearth up`"),
    ):
        assert named in intro and f"\n{section_heading}" in README, named
