"""SigV4 verification against a `hearth serve` that has credentials configured."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Server, aws, lambda_client
from tests.integration.test_functions import error_of

KEY, SECRET = "AKIDHEARTHTEST", "hearth-secret-key"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("secured"),
        extra_args=["--access-key-id", KEY],
        env={"HEARTH_SECRET_ACCESS_KEY": SECRET},
    ).start()
    yield server
    server.stop()


def test_serve_announces_auth(secured: Server, server: Server) -> None:
    assert any("SigV4 required" in line for line in secured.output)
    assert any("any credentials are accepted" in line for line in server.output)


def test_right_credentials_work(secured: Server) -> None:
    client = lambda_client(secured.endpoint, key=KEY, secret=SECRET)
    assert client.list_functions()["Functions"] == []
    # Path labels with encoded characters sign and verify too.
    with pytest.raises(ClientError) as exc:
        client.get_function(
            FunctionName="arn:aws:lambda:us-east-1:123456789012:function:f", Qualifier="$LATEST"
        )
    assert error_of(exc)[0] == "ResourceNotFoundException"


def test_wrong_secret_is_invalid_signature(secured: Server) -> None:
    client = lambda_client(secured.endpoint, key=KEY, secret="wrong")
    with pytest.raises(ClientError) as exc:
        client.list_functions()
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("The request signature we calculated does not match")


def test_unknown_key_is_unrecognized(secured: Server) -> None:
    client = lambda_client(secured.endpoint, key="AKIDUNKNOWN", secret=SECRET)
    with pytest.raises(ClientError) as exc:
        client.list_functions()
    assert error_of(exc) == (
        "UnrecognizedClientException",
        403,
        "The security token included in the request is invalid.",
    )


@pytest.mark.parametrize(
    ("minutes", "wording"), [(-6, "Signature expired"), (6, "Signature not yet current")]
)
def test_clock_skew_over_five_minutes(
    secured: Server, monkeypatch: pytest.MonkeyPatch, minutes: int, wording: str
) -> None:
    skewed = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
        minutes=minutes
    )
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: skewed)
    client = lambda_client(secured.endpoint, key=KEY, secret=SECRET)
    with pytest.raises(ClientError) as exc:
        client.list_functions()
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith(wording)


def test_aws_cli_with_and_without_the_key(secured: Server, tmp_path: Path) -> None:
    denied = aws(secured.endpoint, "list-functions", check=False)
    assert denied.returncode != 0
    assert "UnrecognizedClientException" in denied.stderr
    env_ok = aws_with(secured.endpoint, KEY, SECRET, "list-functions")
    assert env_ok.returncode == 0, env_ok.stderr


def aws_with(endpoint: str, key: str, secret: str, *args: str) -> Any:
    import os
    import subprocess
    import sys

    aws_bin = Path(sys.executable).parent / "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [str(aws_bin), "lambda", *args, "--endpoint-url", endpoint],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
