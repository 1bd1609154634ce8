"""Authentication details at the edge (issue 11, item 11), against a real `hearth serve`.

A signature must cover `host`; URLs Hearth hands out never take the client's `Host`;
Hearth's own `/_hearth/async` is signed like the API when SigV4 is required.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.client import HTTPMessage as Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.integration.conftest import ROLE, Server, lambda_client, make_zip

KEY, SECRET = "AKIDEDGETEST", "edge-secret-key"
PUBLIC = "https://lambda.example:8443"


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(
        tmp_path_factory.mktemp("edge-secured"),
        extra_args=["--access-key-id", KEY, "--public-url", PUBLIC],
        env={"HEARTH_SECRET_ACCESS_KEY": SECRET},
    ).start()
    yield server
    server.stop()


class _WithoutHost(SigV4Auth):
    def headers_to_sign(self, request: AWSRequest) -> Any:
        signed = super().headers_to_sign(request)
        del signed["host"]
        return signed


def _signed(endpoint: str, path: str, signer: type[SigV4Auth] = SigV4Auth) -> AWSRequest:
    request = AWSRequest(method="GET", url=f"{endpoint}{path}")
    signer(Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(request)
    return request


def _send(
    endpoint: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Message, dict[str, Any]]:
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, response.headers, json.loads(body) if body else {}
    finally:
        connection.close()


def test_signed_headers_without_host_are_refused(secured: Server) -> None:
    request = _signed(secured.endpoint, "/2015-03-31/functions/", _WithoutHost)
    assert "host" not in request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    status, headers, body = _send(secured.endpoint, "/2015-03-31/functions/", dict(request.headers))
    assert status == 403
    assert headers["x-amzn-ErrorType"] == "IncompleteSignatureException"
    assert body["message"] == (
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )
    # The same request signed with host passes: the refusal is about `host` alone.
    good = _signed(secured.endpoint, "/2015-03-31/functions/")
    assert _send(secured.endpoint, "/2015-03-31/functions/", dict(good.headers))[0] == 200


def test_async_status_needs_a_signature_when_sigv4_is_required(
    secured: Server, server: Server
) -> None:
    status, headers, _ = _send(secured.endpoint, "/_hearth/async")
    assert (status, headers["x-amzn-ErrorType"]) == (403, "MissingAuthenticationTokenException")
    signed = _signed(secured.endpoint, "/_hearth/async")
    status, _, body = _send(secured.endpoint, "/_hearth/async", dict(signed.headers))
    assert status == 200 and "Queue" in body
    # Without credentials configured it stays open, like every other route.
    assert _send(server.endpoint, "/_hearth/async")[0] == 200


def test_code_location_ignores_the_clients_host_header(server: Server) -> None:
    client = lambda_client(server.endpoint)
    client.create_function(
        FunctionName="edge-location",
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip()},
    )
    try:
        status, _, body = _send(
            server.endpoint,
            "/2015-03-31/functions/edge-location",
            {"Host": "evil.example:1/x?"},
        )
        assert status == 200
        location = body["Code"]["Location"]
        assert location.startswith(f"{server.endpoint}/_hearth/code/"), location
        assert "evil" not in location
    finally:
        client.delete_function(FunctionName="edge-location")


def test_public_url_is_where_code_urls_point(secured: Server) -> None:
    client = lambda_client(secured.endpoint, key=KEY, secret=SECRET)
    client.create_function(
        FunctionName="edge-public",
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip()},
    )
    location = client.get_function(FunctionName="edge-public")["Code"]["Location"]
    assert location.startswith(f"{PUBLIC}/_hearth/code/"), location
