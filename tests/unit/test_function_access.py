"""Telling a function's requests to Hearth's API apart and holding them to the role's
policies: the pure parts (policy evaluation, action naming, caller identification), with
the in-memory policies and derived sessions."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from hearth.api.http import Request
from hearth.api.iam_actions import action_of
from hearth.arns import ArnFormatter
from hearth.errors import LambdaError
from hearth.invoke.identities import FunctionIdentity, SandboxIdentities, is_sandbox_uid
from hearth.sandbox.isolation import FIRST_UID
from hearth.sandbox.peers import TcpPeer, tcp_peer
from hearth.services.credentials import FunctionCredentials
from hearth.services.function_access import REMOTE, Caller, FunctionAccess, peer_lookup
from hearth.services.role_policies import Decision, StaticPolicies, evaluate
from hearth.services.role_sessions import DerivedSessions, RoleSessions, assumed_role_arn

ARNS = ArnFormatter("us-east-1", "123456789012")
ROLE = "arn:aws:iam::123456789012:role/service/reader"
TARGET = "arn:aws:lambda:us-east-1:123456789012:function:victim"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    ("statement", "decision"),
    [
        (
            {"Effect": "Allow", "Action": "lambda:GetFunctionConfiguration", "Resource": TARGET},
            "allowed",
        ),
        ({"Effect": "Allow", "Action": "LAMBDA:getfunction*", "Resource": TARGET}, "allowed"),
        ({"Effect": "Allow", "Action": "lambda:*", "Resource": TARGET + ":*"}, "implicit"),
        (
            {
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": TARGET.replace("victim", "vict?m"),
            },
            "allowed",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "lambda:*",
                "Resource": TARGET.replace("victim", "v.ctim"),
            },
            "implicit",
        ),
        ({"Effect": "Allow", "NotAction": "lambda:GetFunction*", "Resource": "*"}, "implicit"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "allowed"),
        # What Hearth cannot evaluate never allows, and always denies.
        (
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            "implicit",
        ),
        ({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"}, "implicit"),
        ({"Effect": "Deny", "Action": "lambda:*", "NotResource": "arn:aws:s3:::x"}, "explicit"),
        (
            {
                "Effect": "Deny",
                "Action": "lambda:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            "explicit",
        ),
        ({"Effect": "Maybe", "Action": "*", "Resource": "*"}, "implicit"),
    ],
)
def test_a_statement_decides_as_iam_would(statement: dict[str, Any], decision: str) -> None:
    assert (
        evaluate([_policy(statement)], "lambda:GetFunctionConfiguration", TARGET).value == decision
    )


def test_an_explicit_deny_in_any_policy_wins() -> None:
    allow = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = _policy({"Effect": "Deny", "Action": "lambda:Get*", "Resource": "*"})
    assert evaluate([allow, deny], "lambda:GetFunction", TARGET) is Decision.EXPLICIT_DENY
    assert evaluate([allow, deny], "lambda:InvokeFunction", TARGET) is Decision.ALLOWED
    assert evaluate(["not json", "{}", '{"Statement": 3}'], "lambda:GetFunction", TARGET) is (
        Decision.IMPLICIT_DENY
    )


def _request(
    operation: str, params: dict[str, str] | None = None, query: str = "", peer: object = None
) -> Request:
    return Request("GET", "/", query, {}, b"", operation=operation, params=params or {}, peer=peer)


@pytest.mark.parametrize(
    ("request_", "action", "resource"),
    [
        (
            _request("GetFunctionConfiguration", {"FunctionName": "victim"}),
            "lambda:GetFunctionConfiguration",
            TARGET,
        ),
        (
            _request("InvokeFunction", {"FunctionName": "123456789012:function:victim:live"}),
            "lambda:InvokeFunction",
            TARGET + ":live",
        ),
        (
            _request("GetFunction", {"FunctionName": "victim"}, query="Qualifier=3"),
            "lambda:GetFunction",
            TARGET + ":3",
        ),
        (
            _request("InvokeWithResponseStream", {"FunctionName": TARGET}),
            "lambda:InvokeFunction",
            TARGET,
        ),
        (_request("ListFunctions"), "lambda:ListFunctions", "*"),
        (
            _request("GetLayerVersion", {"LayerName": "libs", "VersionNumber": "2"}),
            "lambda:GetLayerVersion",
            "arn:aws:lambda:us-east-1:123456789012:layer:libs:2",
        ),
        (
            _request("GetEventSourceMapping", {"UUID": "u-1"}),
            "lambda:GetEventSourceMapping",
            "arn:aws:lambda:us-east-1:123456789012:event-source-mapping:u-1",
        ),
        (_request("ListTags", {"Resource": TARGET}), "lambda:ListTags", TARGET),
        (_request("GetFunction", {"FunctionName": "bad name!"}), "lambda:GetFunction", "*"),
        (_request("AsyncStatus"), "hearth:AsyncStatus", "*"),
        (_request("Console"), "hearth:Console", "*"),
        (_request("CloudWatch", {"Operation": "GetMetricData"}), "cloudwatch:GetMetricData", "*"),
    ],
)
def test_each_request_names_its_action_and_resource(
    request_: Request, action: str, resource: str
) -> None:
    named = action_of(request_, ARNS)
    assert (named.action, named.resource) == (action, resource)


def test_create_function_and_logs_name_their_resource_from_the_body() -> None:
    create = Request("POST", "/", "", {}, b'{"FunctionName": "victim"}', operation="CreateFunction")
    assert action_of(create, ARNS).resource == TARGET
    logs = Request(
        "POST",
        "/",
        "",
        {"x-amz-target": "Logs_20140328.GetLogEvents"},
        b'{"logGroupName": "/aws/lambda/victim"}',
        operation="AwsJson",
        service="logs",
    )
    named = action_of(logs, ARNS)
    assert named.action == "logs:GetLogEvents"
    assert named.resource == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/victim:*"


def test_an_assumed_role_arn_is_named_as_sts_names_it() -> None:
    assert assumed_role_arn(ROLE, "fn") == "arn:aws:sts::123456789012:assumed-role/reader/fn"


def _sessions() -> RoleSessions:
    return RoleSessions(DerivedSessions(FunctionCredentials(b"k" * 32)))


def test_sessions_differ_per_role_and_are_reused_while_fresh() -> None:
    sessions = _sessions()
    one = asyncio.run(sessions.for_function("fn", ROLE))
    again = asyncio.run(sessions.for_function("fn", ROLE))
    other = asyncio.run(sessions.for_function("fn", ROLE.replace("reader", "writer")))
    assert one is again
    assert one.credentials.access_key_id != other.credentials.access_key_id
    assert sessions.find(one.credentials.access_key_id) is one
    assert sessions.find("AKIDNOBODY") is None


def _access(
    documents: dict[str, list[str]] | None = None,
) -> tuple[FunctionAccess, RoleSessions, SandboxIdentities]:
    sessions = _sessions()
    identities = SandboxIdentities()
    return (
        FunctionAccess(sessions, identities, StaticPolicies(documents or {}), ARNS),
        sessions,
        identities,
    )


def _signed(
    access_key: str,
    secret: str,
    token: str | None,
    path: str = "/2015-03-31/functions/victim/configuration",
) -> Request:
    aws = AWSRequest(
        method="GET", url=f"http://127.0.0.1:9000{path}", headers={"host": "127.0.0.1:9000"}
    )
    SigV4Auth(Credentials(access_key, secret, token), "lambda", "us-east-1").add_auth(aws)
    headers = {k.lower(): v for k, v in aws.headers.items()}
    return Request(
        "GET",
        path,
        "",
        headers,
        b"",
        operation="GetFunctionConfiguration",
        params={"FunctionName": "victim"},
    )


def test_a_functions_own_signature_names_it_and_a_forged_one_is_refused() -> None:
    access, sessions, _ = _access()
    session = asyncio.run(sessions.for_function("prober", ROLE))
    creds = session.credentials
    caller = access.caller_of(
        _signed(creds.access_key_id, creds.secret_access_key, creds.session_token)
    )
    assert (
        caller is not None and caller.arn == "arn:aws:sts::123456789012:assumed-role/reader/prober"
    )
    with pytest.raises(LambdaError) as forged:
        access.caller_of(_signed(creds.access_key_id, "guessed", creds.session_token))
    assert forged.value.code == "InvalidSignatureException"
    with pytest.raises(LambdaError) as no_token:
        access.caller_of(_signed(creds.access_key_id, creds.secret_access_key, None))
    assert no_token.value.code == "UnrecognizedClientException"
    # Another key is nobody in particular: the peer decides.
    assert access.caller_of(_signed("hearth-test", "hearth-test", None)) is None


def test_the_peer_names_a_function_by_its_sandbox_uid() -> None:
    access, _, identities = _access()
    identities.bind(FIRST_UID + 7, FunctionIdentity("prober", ROLE))

    def as_peer(peer: object) -> Caller | None:
        return access.caller_of(_request("ListFunctions", peer=peer))

    assert as_peer(None) is None  # not asked: not sandboxed
    assert as_peer(REMOTE) is None
    assert as_peer(TcpPeer(os.getuid() if os.getuid() else 1000, owned=True)) is None
    found = as_peer(TcpPeer(FIRST_UID + 7, owned=True))
    assert found is not None and found.role_arn == ROLE
    # A sandbox uid of no environment here (another server's) and a socket already closed
    # are anonymous, which no policy allows.
    assert as_peer(TcpPeer(FIRST_UID + 99_999, owned=True)) == Caller("anonymous", None)
    assert as_peer(TcpPeer(0, owned=False)) == Caller("anonymous", None)
    assert is_sandbox_uid(FIRST_UID) and not is_sandbox_uid(FIRST_UID - 1)


def test_authorize_answers_aws_access_denied_for_a_function_only() -> None:
    allow = _policy({"Effect": "Allow", "Action": "lambda:ListFunctions", "Resource": "*"})
    access, _, identities = _access({ROLE: [allow]})
    identities.bind(FIRST_UID, FunctionIdentity("prober", ROLE))
    function = TcpPeer(FIRST_UID, owned=True)
    asyncio.run(access.authorize(_request("ListFunctions", peer=function)))
    asyncio.run(access.authorize(_request("GetFunction", {"FunctionName": "victim"}, peer=REMOTE)))
    asyncio.run(access.authorize(_request("Health", peer=function)))
    with pytest.raises(LambdaError) as denied:
        asyncio.run(
            access.authorize(_request("GetFunction", {"FunctionName": "victim"}, peer=function))
        )
    assert (denied.value.code, denied.value.status) == ("AccessDeniedException", 403)
    assert denied.value.body()["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/reader/prober is not authorized to perform: "
        f"lambda:GetFunction on resource: {TARGET} because no identity-based policy allows the "
        "lambda:GetFunction action"
    )


def test_loopback_peers_are_looked_up_and_others_are_remote() -> None:
    assert peer_lookup(("192.0.2.1", 5000), ("127.0.0.1", 9000)) is REMOTE
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.create_server((host, 0), family=family) as server:
            client = socket.create_connection(server.getsockname()[:2])
            accepted, peer = server.accept()
            with accepted:
                local = accepted.getsockname()[:2]
                # Named with the socket's inode: what its holder's fds list.
                inode = os.fstat(client.fileno()).st_ino
                assert peer_lookup(peer[:2], local) == TcpPeer(os.getuid(), True, inode)
                client.close()
                # Closed by its process: the kernel no longer says whose it was.
                found = tcp_peer(peer[:2], local)
                assert found is None or not found.owned


def test_not_sandboxed_only_credentials_name_a_function() -> None:
    sessions = _sessions()
    access = FunctionAccess(sessions, None, StaticPolicies({}), ARNS)
    # A sandbox uid cannot be (no sandboxes): whatever the connection says is not asked.
    assert access.caller_of(_request("ListFunctions", peer=TcpPeer(FIRST_UID, owned=True))) is None
    creds = asyncio.run(sessions.for_function("prober", ROLE)).credentials
    signed = _signed(creds.access_key_id, creds.secret_access_key, creds.session_token)
    assert access.caller_of(signed) == Caller(
        "arn:aws:sts::123456789012:assumed-role/reader/prober", ROLE
    )
    with pytest.raises(LambdaError):
        asyncio.run(access.authorize(signed))
