"""The seeds' applications, deployed by their own scripts, end to end on one `hearth serve`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Server

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(
    ("example", "alerts"),
    [
        (
            "transactions",
            [
                '"accountBalance\\": \\"1550\\"',
                '"accountBalance\\": \\"1600\\"',
                '"accountBalance\\": \\"1650\\"',
            ],
        ),
        ("stock_check", ["Berlin is out of stock of Kindle", "Paris is out of stock of Fire TV"]),
    ],
)
def test_an_example_runs_end_to_end(server: Server, example: str, alerts: list[str]) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / example / "deploy.py"),
            "--endpoint-url",
            server.endpoint,
            "--timeout",
            "90",
        ],
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shown = [line for line in result.stdout.splitlines() if line.strip().startswith("ALERT")]
    assert len(shown) == len(alerts), result.stdout
    for alert in alerts:  # SNS delivers asynchronously: in any order
        assert sum(alert in line for line in shown) == 1, result.stdout
