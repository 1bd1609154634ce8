"""Resource policies: statements built as AWS builds them, per-qualifier policies, revisions,
and the HTTP routes."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from urllib.parse import quote

import pytest

from hearth.api.http import LambdaApp, Router
from hearth.api.policies import PoliciesApi
from hearth.arns import LATEST, ArnFormatter, FunctionRef
from hearth.control.aliases import Aliases
from hearth.control.policies import MAX_POLICY_BYTES, Policies, statement_principal
from hearth.errors import LambdaError
from hearth.store.memory import MemoryRegistry
from tests.unit import asgi, factories

ARNS = ArnFormatter("us-east-1", "123456789012")
FN = "fn"
FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"
REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
INVOKE = {"Action": "lambda:InvokeFunction", "Principal": "*"}


def put_function(registry: MemoryRegistry, name: str = FN, versions: int = 2) -> None:
    factories.put_function(registry, name, versions)


@pytest.fixture
def registry() -> MemoryRegistry:
    registry = MemoryRegistry()
    put_function(registry)
    Aliases(registry, ARNS).create(FN, "live", "1")
    return registry


@pytest.fixture
def policies(registry: MemoryRegistry) -> Policies:
    return Policies(registry, ARNS)


def stored_keys(registry: MemoryRegistry) -> set[str]:
    with registry.transaction() as tx:
        record = tx.get_function(FN)
        assert record is not None
        return set(record.policies)


def error(exc: pytest.ExceptionInfo[LambdaError]) -> tuple[str, int, str]:
    return exc.value.code, exc.value.status, exc.value.message


UNQUALIFIED = FunctionRef(FN)


# Statements --------------------------------------------------------------------------------


def test_statement_like_aws(policies: Policies) -> None:
    statement = policies.add_permission(
        UNQUALIFIED,
        {
            "StatementId": "s3-invoke",
            "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com",
            "SourceArn": "arn:aws:s3:::my-bucket",
            "SourceAccount": "123456789012",
        },
    )
    assert statement == {
        "Sid": "s3-invoke",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FN_ARN,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "123456789012"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
        },
    }


def test_no_condition_without_condition_fields(policies: Policies) -> None:
    statement = policies.add_permission(UNQUALIFIED, {"StatementId": "open", **INVOKE})
    assert "Condition" not in statement
    assert statement["Principal"] == "*"


def test_string_equals_conditions_merge(policies: Policies) -> None:
    statement = policies.add_permission(
        UNQUALIFIED,
        {
            "StatementId": "url",
            "Action": "lambda:InvokeFunctionUrl",
            "Principal": "*",
            "SourceAccount": "111122223333",
            "PrincipalOrgID": "o-abcdefghij",
            "FunctionUrlAuthType": "NONE",
            "EventSourceToken": "token.1_2-3",
        },
    )
    assert statement["Condition"] == {
        "StringEquals": {
            "AWS:SourceAccount": "111122223333",
            "aws:PrincipalOrgID": "o-abcdefghij",
            "lambda:FunctionUrlAuthType": "NONE",
            "lambda:EventSourceToken": "token.1_2-3",
        }
    }


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", "*"),
        ("events.amazonaws.com", {"Service": "events.amazonaws.com"}),
        ("alexa-appkit.amazon.com", {"Service": "alexa-appkit.amazon.com"}),
        ("111122223333", {"AWS": "arn:aws:iam::111122223333:root"}),
        (
            "arn:aws:iam::111122223333:role/caller",
            {"AWS": "arn:aws:iam::111122223333:role/caller"},
        ),
    ],
)
def test_principals(principal: str, expected: object) -> None:
    assert statement_principal(principal) == expected


def test_invalid_principal(policies: Policies) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, {"StatementId": "s", **INVOKE, "Principal": "bob"})
    assert error(exc) == (
        "InvalidParameterValueException",
        400,
        "The provided principal was invalid. Please check the principal and try again.",
    )


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"StatementId": "has space", **INVOKE}, "'statementId'"),
        ({"StatementId": "a" * 101, **INVOKE}, "'statementId'"),
        ({"Action": "lambda:InvokeFunction", "Principal": "*"}, "'statementId'"),
        ({"StatementId": "s", "Action": "s3:GetObject", "Principal": "*"}, "'action'"),
        ({"StatementId": "s", "Action": "lambda:Invoke:Function", "Principal": "*"}, "'action'"),
        ({"StatementId": "s", "Principal": "*"}, "'action'"),
        ({"StatementId": "s", "Action": "lambda:*"}, "'principal'"),
        ({"StatementId": "s", "Action": "*", "Principal": "a b"}, "'principal'"),
        ({"StatementId": "s", "Action": "*", "Principal": ""}, "'principal'"),
        ({"StatementId": "s", **INVOKE, "SourceAccount": "12"}, "'sourceAccount'"),
        ({"StatementId": "s", **INVOKE, "SourceArn": "bucket"}, "'sourceArn'"),
        ({"StatementId": "s", **INVOKE, "PrincipalOrgID": "org"}, "'principalOrgID'"),
        ({"StatementId": "s", **INVOKE, "FunctionUrlAuthType": "OPEN"}, "'functionUrlAuthType'"),
        ({"StatementId": 5, **INVOKE}, "'statementId'"),
    ],
)
def test_model_validation(policies: Policies, fields: dict[str, Any], where: str) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, fields)
    assert exc.value.code == "ValidationException"
    assert exc.value.status == 400
    assert where in exc.value.message


def test_every_violation_is_reported(policies: Policies) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, {"StatementId": "a b", "Action": "nope"})
    assert exc.value.message.startswith("3 validation errors detected: ")
    assert exc.value.message.count("failed to satisfy constraint") == 3


def test_sid_with_dots_and_underscores(policies: Policies) -> None:
    assert policies.add_permission(UNQUALIFIED, {"StatementId": "a.b_c-1", **INVOKE})["Sid"] == (
        "a.b_c-1"
    )


# Add / get ---------------------------------------------------------------------------------


def test_duplicate_sid_conflicts(policies: Policies) -> None:
    policies.add_permission(UNQUALIFIED, {"StatementId": "s", **INVOKE})
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, {"StatementId": "s", **INVOKE})
    assert error(exc) == (
        "ResourceConflictException",
        409,
        "The statement id (s) provided already exists. Please provide a new statement id, or "
        "remove the existing statement.",
    )
    # The same sid may exist under another qualifier.
    policies.add_permission(FunctionRef(FN, "1"), {"StatementId": "s", **INVOKE})


def test_get_policy(policies: Policies) -> None:
    first = policies.add_permission(UNQUALIFIED, {"StatementId": "a", **INVOKE})
    view = policies.get_policy(UNQUALIFIED)
    uuid.UUID(view.revision_id)
    second = policies.add_permission(UNQUALIFIED, {"StatementId": "b", **INVOKE})
    later = policies.get_policy(UNQUALIFIED)
    assert later.document == {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [first, second],
    }
    assert later.revision_id != view.revision_id
    # $LATEST's policy is the unqualified function's.
    assert policies.get_policy(FunctionRef(FN, LATEST)) == later


def test_get_policy_without_statements(policies: Policies) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.get_policy(UNQUALIFIED)
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist.",
    )


def test_revision_id_on_add(policies: Policies) -> None:
    # Before any policy exists the function's RevisionId is checked, and AWS's message
    # points at GetPolicy (its recorded answer).
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, {"StatementId": "a", **INVOKE, "RevisionId": "x"})
    assert error(exc)[:2] == ("PreconditionFailedException", 412)
    assert "Call the GetPolicy API" in error(exc)[2]
    policies.add_permission(UNQUALIFIED, {"StatementId": "a", **INVOKE})
    current = policies.get_policy(UNQUALIFIED).revision_id
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(UNQUALIFIED, {"StatementId": "b", **INVOKE, "RevisionId": "stale"})
    assert error(exc) == ("PreconditionFailedException", 412, REVISION_MISMATCH)
    policies.add_permission(UNQUALIFIED, {"StatementId": "b", **INVOKE, "RevisionId": current})
    assert len(policies.get_policy(UNQUALIFIED).document["Statement"]) == 2


def test_policies_per_qualifier(registry: MemoryRegistry, policies: Policies) -> None:
    version = policies.add_permission(FunctionRef(FN, "1"), {"StatementId": "v", **INVOKE})
    alias = policies.add_permission(FunctionRef(FN, "live"), {"StatementId": "l", **INVOKE})
    assert version["Resource"] == f"{FN_ARN}:1"
    assert alias["Resource"] == f"{FN_ARN}:live"
    assert stored_keys(registry) == {"1", "live"}
    assert policies.get_policy(FunctionRef(FN, "1")).document["Statement"] == [version]
    assert policies.get_policy(FunctionRef(FN, "live")).document["Statement"] == [alias]
    with pytest.raises(LambdaError):
        policies.get_policy(UNQUALIFIED)
    # Deleting the alias takes its policy with it.
    Aliases(registry, ARNS).delete(FN, "live")
    assert stored_keys(registry) == {"1"}


def test_qualifier_must_exist(policies: Policies) -> None:
    fields = {"StatementId": "s", **INVOKE}
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(FunctionRef(FN, "9"), fields)
    assert error(exc) == ("ResourceNotFoundException", 404, f"Function not found: {FN_ARN}:9")
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(FunctionRef(FN, "ghost"), fields)
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        f"Cannot find alias arn: {FN_ARN}:ghost",
    )
    for call in (
        lambda: policies.get_policy(FunctionRef(FN, "9")),
        lambda: policies.remove_permission(FunctionRef(FN, "ghost"), "s"),
    ):
        with pytest.raises(LambdaError) as exc:
            call()
        assert exc.value.code == "ResourceNotFoundException"


def test_latest_qualifier_refused_on_add(policies: Policies) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(FunctionRef(FN, LATEST), {"StatementId": "s", **INVOKE})
    assert error(exc) == (
        "InvalidParameterValueException",
        400,
        "We currently do not support adding policies for $LATEST.",
    )


def test_function_must_exist(policies: Policies) -> None:
    missing = FunctionRef("nope")
    expected = f"Function not found: {ARNS.function('nope')}"
    with pytest.raises(LambdaError) as exc:
        policies.add_permission(missing, {"StatementId": "s", **INVOKE})
    assert error(exc) == ("ResourceNotFoundException", 404, expected)
    with pytest.raises(LambdaError) as exc:
        policies.get_policy(missing)
    # GetPolicy says no more than this (recorded: get_policy_fn_doesnotexist).
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist.",
    )
    with pytest.raises(LambdaError) as exc:
        policies.remove_permission(missing, "s")
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        f"No policy found for: {ARNS.function('nope')}",
    )


def test_policy_size_limit(policies: Policies) -> None:
    source_arn = "arn:aws:s3:::" + "b" * 4000
    with pytest.raises(LambdaError) as exc:
        for n in range(10):
            policies.add_permission(
                UNQUALIFIED, {"StatementId": f"s{n}", **INVOKE, "SourceArn": source_arn}
            )
    assert exc.value.code == "PolicyLengthExceededException"
    assert exc.value.status == 400
    assert f"is bigger than the limit ({MAX_POLICY_BYTES})" in exc.value.message
    size = len(json.dumps(policies.get_policy(UNQUALIFIED).document, separators=(",", ":")))
    assert size <= MAX_POLICY_BYTES


# Remove ------------------------------------------------------------------------------------


def test_remove_permission(registry: MemoryRegistry, policies: Policies) -> None:
    policies.add_permission(UNQUALIFIED, {"StatementId": "a", **INVOKE})
    policies.add_permission(UNQUALIFIED, {"StatementId": "b", **INVOKE})
    before = policies.get_policy(UNQUALIFIED).revision_id
    with pytest.raises(LambdaError) as exc:
        policies.remove_permission(UNQUALIFIED, "zzz")
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        "Statement zzz is not found in resource policy.",
    )
    with pytest.raises(LambdaError) as exc:
        policies.remove_permission(UNQUALIFIED, "a", "stale")
    assert error(exc) == ("PreconditionFailedException", 412, REVISION_MISMATCH)
    policies.remove_permission(UNQUALIFIED, "a", before)
    after = policies.get_policy(UNQUALIFIED)
    assert [s["Sid"] for s in after.document["Statement"]] == ["b"]
    assert after.revision_id != before
    # Removing the last statement removes the policy.
    policies.remove_permission(UNQUALIFIED, "b")
    assert stored_keys(registry) == set()
    with pytest.raises(LambdaError) as exc:
        policies.get_policy(UNQUALIFIED)
    assert exc.value.message == "The resource you requested does not exist."
    with pytest.raises(LambdaError) as exc:
        policies.remove_permission(UNQUALIFIED, "b")
    assert error(exc) == (
        "ResourceNotFoundException",
        404,
        "No policy is associated with the given resource.",
    )


def test_remove_validates_statement_id(policies: Policies) -> None:
    with pytest.raises(LambdaError) as exc:
        policies.remove_permission(UNQUALIFIED, "a b")
    assert exc.value.code == "ValidationException"
    assert "'statementId'" in exc.value.message


def test_remove_is_per_qualifier(policies: Policies) -> None:
    policies.add_permission(UNQUALIFIED, {"StatementId": "s", **INVOKE})
    policies.add_permission(FunctionRef(FN, "1"), {"StatementId": "s", **INVOKE})
    policies.remove_permission(FunctionRef(FN, "1"), "s")
    assert [s["Sid"] for s in policies.get_policy(UNQUALIFIED).document["Statement"]] == ["s"]


# HTTP --------------------------------------------------------------------------------------


def test_api_routes(policies: Policies) -> None:
    router = Router()
    PoliciesApi(policies).register(router)
    app = LambdaApp(router)
    by_arn = f"/2015-03-31/functions/{quote(FN_ARN, safe='')}/policy"

    async def scenario() -> None:
        added = await asgi.call(
            app,
            "POST",
            by_arn,
            "Qualifier=1",
            body={
                "StatementId": "s3",
                "Action": "lambda:InvokeFunction",
                "Principal": "s3.amazonaws.com",
                "SourceArn": "arn:aws:s3:::bucket",
            },
        )
        assert added.status == 201, added.body
        assert set(added.json()) == {"Statement"}
        statement = json.loads(added.json()["Statement"])
        assert statement["Resource"] == f"{FN_ARN}:1"
        assert statement["Condition"] == {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"}}

        # The qualifier may ride in the name instead (`fn:1`, percent-encoded).
        got = await asgi.call(app, "GET", f"/2015-03-31/functions/{quote(FN + ':1')}/policy")
        assert got.status == 200
        assert set(got.json()) == {"Policy", "RevisionId"}
        document = json.loads(got.json()["Policy"])
        assert document == {"Version": "2012-10-17", "Id": "default", "Statement": [statement]}

        duplicate = await asgi.call(
            app, "POST", by_arn, "Qualifier=1", body={"StatementId": "s3", **INVOKE}
        )
        assert duplicate.status == 409
        assert duplicate.headers["x-amzn-errortype"] == "ResourceConflictException"

        unqualified = await asgi.call(app, "GET", by_arn)
        assert unqualified.status == 404
        assert unqualified.json() == {
            "Type": "User",
            "Message": "The resource you requested does not exist.",
        }

        stale = await asgi.call(app, "DELETE", f"{by_arn}/s3", "Qualifier=1&RevisionId=stale")
        assert stale.status == 412
        assert stale.json()["message"] == REVISION_MISMATCH
        revision = got.json()["RevisionId"]
        removed = await asgi.call(
            app, "DELETE", f"{by_arn}/s3", f"Qualifier=1&RevisionId={revision}"
        )
        assert removed.status == 204
        assert removed.body == b""
        after = await asgi.call(app, "GET", by_arn, "Qualifier=1")
        assert after.status == 404

        invalid = await asgi.call(app, "POST", by_arn, body={"StatementId": "s"})
        assert invalid.status == 400
        assert invalid.headers["x-amzn-errortype"] == "ValidationException"

        conflicting = await asgi.call(
            app, "GET", f"/2015-03-31/functions/{quote(FN + ':1')}/policy", "Qualifier=live"
        )
        assert conflicting.status == 400
        assert conflicting.headers["x-amzn-errortype"] == "InvalidParameterValueException"

    asyncio.run(scenario())
