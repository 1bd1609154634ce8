"""A mistyped command gets a related suggestion, or none (issue 12 item 12), through click's
runner on the real `hearth` group."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hearth.cli import main


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("sever", "serve"),
        ("functoins", "functions"),
        ("lgos", "logs"),
        ("ls", "functions"),  # click's own matcher offers `logs`
        ("list", "functions"),
        ("rm", "delete"),
        ("run", "invoke"),
        ("tail", "logs"),
    ],
)
def test_a_typo_suggests_the_command_meant(typed: str, suggested: str) -> None:
    result = CliRunner().invoke(main, [typed])
    assert result.exit_code == 2
    assert f"Error: No such command {typed!r}. Did you mean {suggested!r}?" in result.output


def test_an_unrelated_word_suggests_nothing() -> None:
    result = CliRunner().invoke(main, ["info"])  # click's own matcher offers `invoke`
    assert result.exit_code == 2
    assert "Error: No such command 'info'.\n" in result.output
    assert "Did you mean" not in result.output


def test_real_commands_and_options_still_work() -> None:
    assert CliRunner().invoke(main, ["--version"]).output.startswith("hearth, version ")
    assert "Zip DIRECTORY" in CliRunner().invoke(main, ["deploy", "--help"]).output
