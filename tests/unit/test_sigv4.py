"""SigV4 verification against requests signed by botocore and sent by boto3 itself."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from hearth.api.sigv4 import Credential, SigV4Verifier
from hearth.errors import LambdaError

KEY_ID = "AKIDHEARTHTEST000001"
SECRET = "hearth/secret+key/0123456789abcdefghijklmn"
OTHER = Credential("AKIDHEARTHOTHER00002", "another-secret")
ARN = "arn:aws:lambda:us-east-1:123456789012:function:f"
ENCODED_ARN = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)


@dataclasses.dataclass(frozen=True)
class Wire:
    """One request as it arrived: the pieces an HTTP server hands the verifier."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return next(v for k, v in self.headers.items() if k.lower() == name.lower())

    def with_header(self, name: str, value: str | None) -> Wire:
        headers = {k: v for k, v in self.headers.items() if k.lower() != name.lower()}
        if value is not None:
            headers[name] = value
        return dataclasses.replace(self, headers=headers)

    def signed_at(self) -> datetime:
        return datetime.strptime(self.header("X-Amz-Date"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def verifier(
    *credentials: Credential, clock: Callable[[], datetime] | None = None
) -> SigV4Verifier:
    creds = credentials or (Credential(KEY_ID, SECRET), OTHER)
    if clock is None:
        return SigV4Verifier(creds)
    return SigV4Verifier(creds, clock=clock)


def verify(wire: Wire, v: SigV4Verifier | None = None) -> str:
    return (v or verifier()).verify(wire.method, wire.path, wire.query, wire.headers, wire.body)


def rejected(wire: Wire, code: str, message: str, v: SigV4Verifier | None = None) -> None:
    with pytest.raises(LambdaError) as caught:
        verify(wire, v)
    assert (caught.value.code, caught.value.status, caught.value.message) == (code, 403, message)


# --- requests signed directly with botocore's signer -------------------------------------------


def botocore_signed(
    url: str,
    *,
    method: str = "GET",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    region: str = "us-east-1",
    token: str | None = None,
) -> Wire:
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    SigV4Auth(Credentials(KEY_ID, SECRET, token), "lambda", region).add_auth(request)
    prepared = request.prepare()
    path, _, query = prepared.url.removeprefix("http://127.0.0.1:9001").partition("?")
    wire_headers = {k: str(v) for k, v in prepared.headers.items()}
    wire_headers["Host"] = "127.0.0.1:9001"  # what the HTTP client adds on the wire
    sent = prepared.body or b""
    assert isinstance(sent, bytes)
    return Wire(method, path, query, wire_headers, sent)


INVOKE_URL = f"http://127.0.0.1:9001/2015-03-31/functions/{ENCODED_ARN}/invocations"


def test_botocore_signed_request_is_accepted() -> None:
    wire = botocore_signed(f"{INVOKE_URL}?Qualifier=%24LATEST", method="POST", body=b'{"a": 1}')
    assert wire.path == f"/2015-03-31/functions/{ENCODED_ARN}/invocations"
    assert "SignedHeaders=host;x-amz-date," in wire.header("Authorization")
    assert verify(wire) == KEY_ID


def test_canonical_uri_is_the_raw_path_encoded_again() -> None:
    wire = botocore_signed(f"{INVOKE_URL}?Qualifier=%24LATEST", method="POST", body=b"{}")
    decoded = dataclasses.replace(wire, path=wire.path.replace("%3A", ":"))
    rejected(decoded, "InvalidSignatureException", MISMATCH)


@pytest.mark.parametrize("suffix", ["#fragment", "?Qualifier=2"])
def test_a_path_cannot_smuggle_a_query_or_fragment(suffix: str) -> None:
    wire = botocore_signed(INVOKE_URL, method="POST")
    rejected(
        dataclasses.replace(wire, path=wire.path + suffix), "InvalidSignatureException", MISMATCH
    )


def test_any_region_in_the_scope_is_accepted() -> None:
    assert verify(botocore_signed(INVOKE_URL, method="POST", region="eu-west-1")) == KEY_ID


def test_second_credential_is_recognised() -> None:
    request = AWSRequest(method="GET", url="http://127.0.0.1:9001/2015-03-31/functions/")
    SigV4Auth(
        Credentials(OTHER.access_key_id, OTHER.secret_access_key), "lambda", "us-east-1"
    ).add_auth(request)
    prepared = request.prepare()
    headers = {**dict(prepared.headers.items()), "Host": "127.0.0.1:9001"}
    wire = Wire("GET", "/2015-03-31/functions/", "", headers, b"")
    assert verify(wire) == OTHER.access_key_id


def test_signed_content_sha256_must_match_the_body() -> None:
    body = b'{"x": 1}'
    good = botocore_signed(
        INVOKE_URL,
        method="POST",
        body=body,
        headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()},
    )
    assert verify(good) == KEY_ID
    unsigned = botocore_signed(
        INVOKE_URL, method="POST", body=body, headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    )
    rejected(unsigned, "InvalidSignatureException", MISMATCH)


def test_a_repeated_query_key_is_covered_by_the_signature() -> None:
    wire = botocore_signed(f"{INVOKE_URL}?Qualifier=1")
    assert verify(wire) == KEY_ID
    smuggled = dataclasses.replace(wire, query="Qualifier=2&Qualifier=1")
    rejected(smuggled, "InvalidSignatureException", MISMATCH)


def test_query_encoding_differences_do_not_matter() -> None:
    wire = botocore_signed(f"{INVOKE_URL}?Qualifier=%24LATEST")
    assert verify(dataclasses.replace(wire, query="Qualifier=$LATEST")) == KEY_ID


# --- requests as boto3's lambda client puts them on the wire -----------------------------------


class _Recorder(BaseHTTPRequestHandler):
    seen: list[Wire]

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path, _, query = self.path.partition("?")
        self.seen.append(Wire(self.command, path, query, dict(self.headers.items()), body))
        payload = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _record

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[int, list[Wire]]]:
    seen: list[Wire] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


CALLS: dict[str, Callable[[Any], object]] = {
    "get_function": lambda c: c.get_function(FunctionName=ARN, Qualifier="$LATEST"),
    "list_functions": lambda c: c.list_functions(MaxItems=5),
    "create_function": lambda c: c.create_function(
        FunctionName="f",
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/lambda-role",
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": {"GREETING": "hello world & more"}},
    ),
    "invoke": lambda c: c.invoke(FunctionName=ARN, Payload=b'{"n": 1}', Qualifier="$LATEST"),
}


def capture(server: tuple[int, list[Wire]], call: str, token: str | None = None) -> Wire:
    port, seen = server
    session = boto3.session.Session(
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        aws_session_token=token,
        region_name="us-east-1",
    )
    client = session.client(
        "lambda",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )
    try:
        before = len(seen)
        CALLS[call](client)
        assert len(seen) == before + 1
        return seen[-1]
    finally:
        client.close()


@pytest.fixture(scope="module", params=sorted(CALLS))
def sent(request: pytest.FixtureRequest, server: tuple[int, list[Wire]]) -> Wire:
    return capture(server, request.param)


def test_boto3_requests_are_accepted(sent: Wire, server: tuple[int, list[Wire]]) -> None:
    assert sent.header("Host") == f"127.0.0.1:{server[0]}"
    assert not any(k.lower() == "x-amz-content-sha256" for k in sent.headers)
    assert verify(sent) == KEY_ID


def test_boto3_sends_the_encoded_arn_and_qualifier(server: tuple[int, list[Wire]]) -> None:
    wire = capture(server, "get_function")
    assert (wire.method, wire.path, wire.query) == (
        "GET",
        f"/2015-03-31/functions/{ENCODED_ARN}",
        "Qualifier=%24LATEST",
    )
    posted = capture(server, "create_function")
    assert posted.method == "POST"
    assert json.loads(posted.body)["FunctionName"] == "f"


def test_header_names_in_any_case(sent: Wire) -> None:
    upper = dataclasses.replace(sent, headers={k.upper(): v for k, v in sent.headers.items()})
    lower = dataclasses.replace(sent, headers={k.lower(): v for k, v in sent.headers.items()})
    assert verify(upper) == verify(lower) == KEY_ID


def test_wrong_secret(sent: Wire) -> None:
    v = verifier(Credential(KEY_ID, SECRET + "x"))
    rejected(sent, "InvalidSignatureException", MISMATCH, v)


def test_tampered_body(sent: Wire) -> None:
    rejected(
        dataclasses.replace(sent, body=sent.body + b" "), "InvalidSignatureException", MISMATCH
    )


def test_tampered_path(sent: Wire) -> None:
    rejected(dataclasses.replace(sent, path=sent.path + "x"), "InvalidSignatureException", MISMATCH)


def test_tampered_query(sent: Wire) -> None:
    query = f"{sent.query}&Extra=1" if sent.query else "Extra=1"
    rejected(dataclasses.replace(sent, query=query), "InvalidSignatureException", MISMATCH)


def test_tampered_method(sent: Wire) -> None:
    method = "PUT" if sent.method != "PUT" else "POST"
    rejected(dataclasses.replace(sent, method=method), "InvalidSignatureException", MISMATCH)


def test_tampered_host(sent: Wire) -> None:
    rejected(sent.with_header("Host", "127.0.0.1:1"), "InvalidSignatureException", MISMATCH)


def test_unsigned_headers_may_change(sent: Wire) -> None:
    assert "user-agent" not in sent.header("Authorization")
    assert verify(sent.with_header("User-Agent", "something else")) == KEY_ID


def test_unknown_access_key(sent: Wire) -> None:
    rejected(
        sent,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        verifier(OTHER),
    )


def test_date_six_minutes_in_the_past(sent: Wire) -> None:
    now = sent.signed_at() + timedelta(minutes=6)
    stamp, date = now.strftime("%Y%m%dT%H%M%SZ"), sent.header("X-Amz-Date")
    earliest = (now - timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    rejected(
        sent,
        "InvalidSignatureException",
        f"Signature expired: {date} is now earlier than {earliest} ({stamp} - 5 min.)",
        verifier(clock=lambda: now),
    )


def test_date_six_minutes_in_the_future(sent: Wire) -> None:
    now = sent.signed_at() - timedelta(minutes=6)
    stamp, date = now.strftime("%Y%m%dT%H%M%SZ"), sent.header("X-Amz-Date")
    latest = (now + timedelta(minutes=5)).strftime("%Y%m%dT%H%M%SZ")
    rejected(
        sent,
        "InvalidSignatureException",
        f"Signature not yet current: {date} is still later than {latest} ({stamp} + 5 min.)",
        verifier(clock=lambda: now),
    )


def test_skew_exactly_at_the_limit_is_accepted(sent: Wire) -> None:
    at = sent.signed_at()
    assert verify(sent, verifier(clock=lambda: at + timedelta(minutes=5))) == KEY_ID
    assert verify(sent, verifier(clock=lambda: at - timedelta(minutes=5))) == KEY_ID


def test_skew_message_matches_aws_wording() -> None:
    signed = botocore_signed(INVOKE_URL)
    # The skew check comes before the signature check, so re-dating the request is enough.
    wire = _rescope(signed, f"/{signed.header('X-Amz-Date')[:8]}/", "/20240101/")
    wire = wire.with_header("X-Amz-Date", "20240101T000000Z")
    clock = datetime(2024, 1, 1, 0, 10, tzinfo=UTC)
    rejected(
        wire,
        "InvalidSignatureException",
        "Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z "
        "(20240101T001000Z - 5 min.)",
        verifier(clock=lambda: clock),
    )
    future = wire.with_header("X-Amz-Date", "20240101T002000Z")
    rejected(
        future,
        "InvalidSignatureException",
        "Signature not yet current: 20240101T002000Z is still later than 20240101T001500Z "
        "(20240101T001000Z + 5 min.)",
        verifier(clock=lambda: clock),
    )


def test_session_token_is_signed_and_accepted(server: tuple[int, list[Wire]]) -> None:
    wire = capture(server, "get_function", token="FwoGZXIvYXdzEXAMPLETOKEN==")
    assert wire.header("X-Amz-Security-Token") == "FwoGZXIvYXdzEXAMPLETOKEN=="
    assert "x-amz-security-token" in wire.header("Authorization")
    assert verify(wire) == KEY_ID
    swapped = wire.with_header("X-Amz-Security-Token", "another-token")
    rejected(swapped, "InvalidSignatureException", MISMATCH)


# --- malformed requests --------------------------------------------------------------------------


def test_missing_authorization(sent: Wire) -> None:
    rejected(
        sent.with_header("Authorization", None),
        "MissingAuthenticationTokenException",
        "Missing Authentication Token",
    )


def test_authorization_without_signature(sent: Wire) -> None:
    auth = sent.header("Authorization").split(", Signature=")[0]
    rejected(
        sent.with_header("Authorization", auth),
        "IncompleteSignatureException",
        f"Authorization header requires 'Signature' parameter. Authorization={auth}",
    )


def test_authorization_of_another_scheme(sent: Wire) -> None:
    rejected(
        sent.with_header("Authorization", "AWS AKIDEXAMPLE:c2lnbmF0dXJl"),
        "IncompleteSignatureException",
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization=AWS AKIDEXAMPLE:c2lnbmF0dXJl",
    )


def test_authorization_with_a_stray_token(sent: Wire) -> None:
    auth = sent.header("Authorization").replace("Credential=", "Credential= ")
    scope = auth.split("Credential= ")[1].split(",")[0]
    rejected(
        sent.with_header("Authorization", auth),
        "IncompleteSignatureException",
        f"'{scope}' not a valid key=value pair (missing equal-sign) "
        f"in Authorization header: '{auth}'.",
    )


def test_missing_date(sent: Wire) -> None:
    auth = sent.header("Authorization")
    rejected(
        sent.with_header("X-Amz-Date", None),
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={auth}",
    )


def test_unparseable_date(sent: Wire) -> None:
    rejected(
        sent.with_header("X-Amz-Date", "2024-01-01T00:00:00Z"),
        "IncompleteSignatureException",
        "Date must be in ISO-8601 'basic format'. Got '2024-01-01T00:00:00Z'. "
        "See http://en.wikipedia.org/wiki/ISO_8601",
    )


def _rescope(wire: Wire, old: str, new: str) -> Wire:
    return wire.with_header("Authorization", wire.header("Authorization").replace(old, new, 1))


def test_scope_for_another_service(sent: Wire) -> None:
    rejected(
        _rescope(sent, "/lambda/", "/s3/"),
        "InvalidSignatureException",
        "Credential should be scoped to correct service: 'lambda'. ",
    )


def test_scope_with_a_bad_terminator(sent: Wire) -> None:
    rejected(
        _rescope(sent, "/aws4_request", "/aws5_request"),
        "InvalidSignatureException",
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
    )


def test_scope_date_must_match_the_request_date(sent: Wire) -> None:
    date = sent.header("X-Amz-Date")
    rejected(
        _rescope(sent, f"/{date[:8]}/", "/19990101/"),
        "InvalidSignatureException",
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '19990101' != '{date[:8]}', from '{date}'.",
    )
