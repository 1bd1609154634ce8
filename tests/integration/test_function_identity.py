"""Functions are their roles: credentials from the role's session, and Hearth's API held to
the role's policies (#15.5, #11.3), against a real, sandboxed `hearth serve` with auth off."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from hearth.sandbox.capabilities import probe
from hearth.sandbox.choice import choose_isolation
from hearth.sandbox.isolation import Isolation

from .conftest import Server, make_zip, service_client

ACCOUNT = "123456789012"
SANDBOXED = choose_isolation(Isolation.AUTO, probe()).sandboxed
needs_sandbox = pytest.mark.skipif(not SANDBOXED, reason="this host cannot sandbox")

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)

PROBE = """
import json, os, urllib.request, urllib.error
import boto3
from botocore import UNSIGNED
from botocore.config import Config

def who(event, context):
    identity = boto3.client("sts").get_caller_identity()
    return {"arn": identity["Arn"], "key": os.environ["AWS_ACCESS_KEY_ID"],
            "token": bool(os.environ.get("AWS_SESSION_TOKEN"))}

_CLIENTS = {}


def _lambda(how):
    # Made once per environment: creating a client costs more than the call.
    if how not in _CLIENTS:
        retries = {"max_attempts": 0}
        if how == "unsigned":
            config = Config(signature_version=UNSIGNED, retries=retries)
            _CLIENTS[how] = boto3.client("lambda", config=config)
        elif how == "other-keys":
            _CLIENTS[how] = boto3.client("lambda", aws_access_key_id="hearth-test",
                                         aws_secret_access_key="hearth-test",
                                         aws_session_token=None, config=Config(retries=retries))
        else:
            _CLIENTS[how] = boto3.client(how if how != "own" else "lambda",
                                         config=Config(retries=retries))
    return _CLIENTS[how]


def probe(event, context):
    seen = {}
    for how in ("own", "unsigned", "other-keys"):
        try:
            got = _lambda(how).get_function_configuration(FunctionName=event["target"])
            seen[how] = {"allowed": got.get("Environment", {}).get("Variables", {})}
        except Exception as exc:
            error = exc.response["Error"]
            seen[how] = {"code": error["Code"], "message": error["Message"],
                         "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
    try:
        _lambda("logs").describe_log_groups()
        seen["logs"] = "allowed"
    except Exception as exc:
        seen["logs"] = exc.response["Error"]["Code"]
    grant = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    try:
        _lambda("iam").put_role_policy(RoleName=event.get("role", "reader"),
                                            PolicyName="all", PolicyDocument=json.dumps(grant))
        seen["iam"] = "allowed"
    except Exception as exc:
        seen["iam"] = exc.response["Error"]["Code"]
    try:
        urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_hearth/async")
        seen["hearth"] = 200
    except urllib.error.HTTPError as exc:
        seen["hearth"] = exc.code
    return seen


def _client(service, how):
    key = (service, how)
    if key not in _CLIENTS:
        config = Config(retries={"max_attempts": 0},
                        signature_version=UNSIGNED if how == "unsigned" else None)
        keys = {}
        if how == "other-keys":
            keys = {"aws_access_key_id": "hearth-test", "aws_secret_access_key": "hearth-test",
                    "aws_session_token": None}
        _CLIENTS[key] = boto3.client(service, config=config, **keys)
    return _CLIENTS[key]


def _code(call):
    try:
        call()
        return "allowed"
    except Exception as exc:  # a refusal botocore cannot parse has no response: its name
        return exc.response["Error"]["Code"] if hasattr(exc, "response") else type(exc).__name__


def control(event, context):
    # Read and change another function, and grant its own role more, every way.
    target, seen = event["target"], {}
    grant = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    for how in ("own", "unsigned", "other-keys"):
        lam, iam = _client("lambda", how), _client("iam", how)
        seen[how] = {
            "get": _code(lambda: lam.get_function(FunctionName=target)),
            "update": _code(lambda: lam.update_function_configuration(
                FunctionName=target, Description="changed by " + context.function_name)),
            "iam": _code(lambda: iam.put_role_policy(
                RoleName=event["role"], PolicyName="all", PolicyDocument=grant)),
        }
    return seen
"""


@pytest.fixture(scope="module")
def hearth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("identity")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def roles(hearth: Server) -> dict[str, str]:
    iam = service_client(hearth.endpoint, "iam")
    return {
        name: iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        for name in ("reader", "writer")
    }


@pytest.fixture(scope="module")
def functions(hearth: Server, roles: dict[str, str]) -> Any:
    lam = hearth.client()
    code = make_zip({"app.py": PROBE})
    made: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
        ("who-reader", roles["reader"], "app.who", {}),
        ("who-writer", roles["writer"], "app.who", {}),
        ("prober", roles["reader"], "app.probe", {}),
        ("victim", roles["writer"], "app.who", {"Variables": {"DB_PASSWORD": "s3cret"}}),
        ("offline", roles["reader"], "app.control", {"Variables": {"HEARTH_NETWORK": "none"}}),
    )
    for name, role, handler, environment in made:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": code},
            Timeout=30,
            Environment=environment,
        )
    for name, *_ in made:  # all settle together
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
    return lam


def _invoke(lam: Any, name: str, event: dict[str, Any] | None = None) -> Any:
    result = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}))
    payload = json.loads(result["Payload"].read())
    assert "FunctionError" not in result, payload
    return payload


def test_each_function_is_its_roles_session(functions: Any) -> None:
    with ThreadPoolExecutor(2) as pool:  # two cold starts at once
        reader, writer = pool.map(partial(_invoke, functions), ["who-reader", "who-writer"])
    assert reader["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/who-reader"
    assert writer["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/writer/who-writer"
    assert reader["key"].startswith("ASIA") and reader["token"]
    assert reader["key"] != writer["key"]


@needs_sandbox
def test_a_function_cannot_read_another_unless_its_role_allows(
    hearth: Server, functions: Any, roles: dict[str, str]
) -> None:
    victim_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:victim"
    seen = _invoke(functions, "prober", {"target": "victim"})
    expected = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/prober is not authorized to perform: "
        f"lambda:GetFunctionConfiguration on resource: {victim_arn} because no identity-based "
        "policy allows the lambda:GetFunctionConfiguration action"
    )
    for how in ("own", "unsigned", "other-keys"):
        assert seen[how] == {"code": "AccessDeniedException", "message": expected, "status": 403}
    assert seen["logs"] == "AccessDeniedException"
    assert seen["hearth"] == 403
    assert seen["iam"] == "AccessDenied"  # nor can it grant its role more
    # The operator (not a sandbox uid) is not held to any role, auth off.
    assert functions.get_function_configuration(FunctionName="victim")["Environment"] == {
        "Variables": {"DB_PASSWORD": "s3cret"}
    }

    iam = service_client(hearth.endpoint, "iam")
    allow: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "lambda:GetFunctionConfiguration", "Resource": victim_arn}
        ],
    }
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps(allow))
    try:
        seen = _invoke(functions, "prober", {"target": "victim"})
        for how in ("own", "unsigned", "other-keys"):
            assert seen[how] == {"allowed": {"DB_PASSWORD": "s3cret"}}
        assert seen["logs"] == "AccessDeniedException"  # still nothing else
        # An explicit Deny wins over the Allow.
        deny = {**allow, "Statement": [{**allow["Statement"][0], "Effect": "Deny"}]}
        iam.put_role_policy(RoleName="reader", PolicyName="no", PolicyDocument=json.dumps(deny))
        seen = _invoke(functions, "prober", {"target": "victim"})
        assert seen["own"]["code"] == "AccessDeniedException"
        assert seen["own"]["message"].endswith("with an explicit deny in an identity-based policy")
    finally:
        iam.delete_role_policy(RoleName="reader", PolicyName="read")
        iam.delete_role_policy(RoleName="reader", PolicyName="no")


def test_a_forged_signature_with_a_functions_key_is_refused(hearth: Server, functions: Any) -> None:
    key = _invoke(functions, "who-reader")["key"]
    forged = hearth.client(key=key, secret="not-its-secret")
    with pytest.raises(functions.exceptions.ClientError) as caught:
        forged.get_function_configuration(FunctionName="victim")
    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_the_operator_reaches_hearths_own_surfaces(hearth: Server) -> None:
    started = time.monotonic()
    with urllib.request.urlopen(hearth.endpoint + "/_hearth/async") as answer:
        assert answer.status == 200
    assert time.monotonic() - started < 5
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(hearth.endpoint + "/_hearth/nothing-here")
    caught.value.close()
    assert caught.value.code != 403


@needs_sandbox
def test_through_the_relay_iam_holds_a_network_none_function_to_its_role(
    hearth: Server, functions: Any
) -> None:
    """#11.3 (b): the relay's connection to Hearth is Hearth's own; the request is the
    sandbox's, so IAM is held to its role however it is signed, and Lambda is out of reach."""
    iam = service_client(hearth.endpoint, "iam")
    seen = _invoke(functions, "offline", {"target": "victim", "role": "reader"})
    # Unsigned, the relay cannot tell which service it is for: refused at the relay.
    # (botocore's IAM client cannot parse the relay's JSON 403: it is refused all the same.)
    assert seen["unsigned"] == {
        "get": "AccessDeniedException",
        "update": "AccessDeniedException",
        "iam": "ResponseParserError",
    }
    for how in ("own", "other-keys"):
        assert seen[how] == {
            "get": "AccessDeniedException",
            "update": "AccessDeniedException",
            "iam": "AccessDenied",
        }, how
    assert iam.list_role_policies(RoleName="reader")["PolicyNames"] == []
    assert functions.get_function_configuration(FunctionName="victim").get("Description") == ""
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="reader", PolicyName="may", PolicyDocument=json.dumps(allow))
    try:
        seen = _invoke(functions, "offline", {"target": "victim", "role": "reader"})
        for how in ("own", "other-keys"):
            assert seen[how]["iam"] == "allowed", how
            assert seen[how]["get"] == "AccessDeniedException"  # the relay still stops Lambda
        # Forked from a SnapStart template, it shares the template's network namespace and
        # so its init's relay: that too is the function's, not anonymous.
        functions.update_function_configuration(
            FunctionName="offline", SnapStart={"ApplyOn": "PublishedVersions"}
        )
        waiter = {"Delay": 0.2, "MaxAttempts": 100}
        functions.get_waiter("function_updated_v2").wait(
            FunctionName="offline", WaiterConfig=waiter
        )
        version = functions.publish_version(FunctionName="offline")["Version"]
        functions.get_waiter("function_active_v2").wait(
            FunctionName="offline", Qualifier=version, WaiterConfig=waiter
        )
        seen = _invoke(functions, f"offline:{version}", {"target": "victim", "role": "reader"})
        assert seen["own"]["iam"] == seen["other-keys"]["iam"] == "allowed", seen
    finally:
        for name in iam.list_role_policies(RoleName="reader")["PolicyNames"]:
            iam.delete_role_policy(RoleName="reader", PolicyName=name)


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("plain"), ["--isolation", "process"]).start()
    yield running
    running.stop()


def test_with_plain_processes_a_functions_connections_are_its_own(plain: Server) -> None:
    """#11.3 (a): every environment shares Hearth's uid; its sockets, found among its
    process tree's fds, tell it apart, so an unsigned request is the function's too."""
    iam = service_client(plain.endpoint, "iam")
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam = plain.client()
    for name, handler in (("victim", "app.who"), ("prober", "app.control")):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler=handler,
            Code={"ZipFile": make_zip({"app.py": PROBE})},
            Timeout=30,
        )
        lam.get_waiter("function_active_v2").wait(
            FunctionName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
        )
    denied = {
        "get": "AccessDeniedException",
        "update": "AccessDeniedException",
        "iam": "AccessDenied",
    }
    # An unsigned IAM request names no service: it never reaches IAM (nor parses as IAM's).
    unsigned = {**denied, "iam": "ResponseParserError"}
    seen = _invoke(lam, "prober", {"target": "victim", "role": "reader"})
    assert seen == {"own": denied, "unsigned": unsigned, "other-keys": denied}
    assert lam.get_function_configuration(FunctionName="victim").get("Description") == ""
    assert iam.list_role_policies(RoleName="reader")["PolicyNames"] == []
    # The operator, unsigned from this host, is not held to any role.
    lam.update_function_configuration(FunctionName="victim", Description="the operator's")
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["lambda:GetFunction"], "Resource": "*"},
        ],
    }
    iam.put_role_policy(RoleName="reader", PolicyName="get", PolicyDocument=json.dumps(allow))
    seen = _invoke(lam, "prober", {"target": "victim", "role": "reader"})
    assert seen == {
        "own": {**denied, "get": "allowed"},
        "unsigned": {**unsigned, "get": "allowed"},
        "other-keys": {**denied, "get": "allowed"},
    }
    # A Node.js function (its runtime a standby process given to it, or its own) likewise.
    lam.create_function(
        FunctionName="node-prober",
        Runtime="nodejs20.x",
        Role=role,
        Handler="index.handler",
        Timeout=30,
        Code={"ZipFile": make_zip({"index.js": NODE_PROBE})},
    )
    lam.get_waiter("function_active_v2").wait(
        FunctionName="node-prober", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    iam.delete_role_policy(RoleName="reader", PolicyName="get")
    assert _invoke(lam, "node-prober", {"target": "victim"}) == {"status": 403}


NODE_PROBE = """
exports.handler = async (event) => {
  const url = `${process.env.AWS_ENDPOINT_URL}/2015-03-31/functions/${event.target}`;
  const answer = await fetch(url);  // unsigned
  return {status: answer.status};
};
"""
