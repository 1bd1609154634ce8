"""scripts/apt-missing.sh, as setup-aws-ric.sh uses it: install only the Debian packages that
are missing, say which, and fail loudly (issue 12 item 13). apt-get and dpkg-query are
replaced by small scripts on PATH that record how they were called."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the helper installs only as root")


def run_helper(
    tmp_path: Path, installed: list[str], *packages: str, apt_fails: bool = False
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "apt-calls"
    status = 'echo "E: Unable to locate package $*" >&2; exit 100' if apt_fails else "exit 0"
    (bin_dir / "apt-get").write_text(f'#!/bin/sh\necho "$*" >> {calls}\n{status}\n')
    (bin_dir / "dpkg-query").write_text(
        "#!/bin/sh\nfor p in " + " ".join(installed or ["-"]) + "; do\n"
        '  [ "$p" = "$3" ] && { printf "install ok installed"; exit 0; }\n'
        "done\nexit 1\n"
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    result = subprocess.run(
        [
            "bash",
            "-c",
            '. scripts/apt-missing.sh; apt_install_missing "$@"',
            "-",
            "for the test",
            *packages,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"},
        check=False,
    )
    return result, calls.read_text().splitlines() if calls.exists() else []


def test_nothing_missing_installs_nothing(tmp_path: Path) -> None:
    result, calls = run_helper(tmp_path, ["make", "g++"], "make", "g++")
    assert (result.returncode, result.stdout, calls) == (0, "", [])


def test_only_the_missing_packages_are_installed_and_named(tmp_path: Path) -> None:
    result, calls = run_helper(tmp_path, ["make"], "make", "cmake", "libtool")
    assert result.returncode == 0, result.stderr
    assert "==> Installing with apt-get: cmake libtool (for the test)" in result.stdout
    assert calls == ["update -qq", "install -y -qq cmake libtool"]


def test_a_failed_install_fails_loudly(tmp_path: Path) -> None:
    result, _ = run_helper(tmp_path, [], "cmake", apt_fails=True)
    assert result.returncode == 1
    assert "E: Unable to locate package" in result.stderr  # apt-get's own words are shown
    assert "error: apt-get could not install cmake" in result.stderr
