"""The aws CLI (from PyPI), unchanged, against Hearth."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import ROLE, Server, aws, aws_json, make_zip


def test_aws_cli_lifecycle(server: Server, tmp_path: Path) -> None:
    package = tmp_path / "function.zip"
    package.write_bytes(make_zip())
    endpoint = server.endpoint
    created = aws_json(
        endpoint,
        "create-function",
        "--function-name",
        "cli-fn",
        "--runtime",
        "python3.12",
        "--role",
        ROLE,
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{package}",
        "--environment",
        "Variables={STAGE=dev}",
        "--tags",
        "team=core",
    )
    assert created["State"] == "Pending"
    aws(endpoint, "wait", "function-active-v2", "--function-name", "cli-fn")
    got = aws_json(endpoint, "get-function", "--function-name", "cli-fn")
    assert got["Configuration"]["Environment"]["Variables"] == {"STAGE": "dev"}
    assert got["Tags"] == {"team": "core"}

    listed = aws_json(endpoint, "list-functions")
    assert "cli-fn" in [f["FunctionName"] for f in listed["Functions"]]

    version = aws_json(endpoint, "publish-version", "--function-name", "cli-fn")
    assert version["Version"] == "1"
    alias = aws_json(
        endpoint,
        "create-alias",
        "--function-name",
        "cli-fn",
        "--name",
        "live",
        "--function-version",
        "1",
    )
    assert alias["AliasArn"].endswith(":cli-fn:live")
    updated = aws_json(
        endpoint, "update-function-configuration", "--function-name", "cli-fn", "--timeout", "20"
    )
    assert updated["Timeout"] == 20
    aws(endpoint, "wait", "function-updated-v2", "--function-name", "cli-fn")
    code = aws_json(
        endpoint,
        "update-function-code",
        "--function-name",
        "cli-fn",
        "--zip-file",
        f"fileb://{package}",
        "--publish",
    )
    assert code["Version"] == "2"
    settings = aws_json(endpoint, "get-account-settings")
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    layer = aws_json(
        endpoint,
        "publish-layer-version",
        "--layer-name",
        "cli-layer",
        "--zip-file",
        f"fileb://{package}",
    )
    assert layer["Version"] == 1
    aws(endpoint, "delete-function", "--function-name", "cli-fn")
    missing = aws(endpoint, "get-function", "--function-name", "cli-fn", check=False)
    assert missing.returncode == 255  # aws CLI v1: 255 for a service error
    assert "ResourceNotFoundException" in missing.stderr
    assert (
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:cli-fn"
        in missing.stderr
    )


def test_aws_cli_reports_validation_errors(server: Server, tmp_path: Path) -> None:
    package = tmp_path / "function.zip"
    package.write_bytes(make_zip({"../evil.py": "x = 1\n"}))
    result = aws(
        server.endpoint,
        "create-function",
        "--function-name",
        "cli-bad",
        "--runtime",
        "python3.12",
        "--role",
        ROLE,
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{package}",
        check=False,
    )
    assert result.returncode == 255
    assert "InvalidParameterValueException" in result.stderr
    assert "Could not unzip uploaded file" in result.stderr
