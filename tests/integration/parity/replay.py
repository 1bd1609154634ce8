"""Replaying a recorded case: its calls, made through boto3, and their answers compared.

A case is data: the calls AWS's recording made, in order, each under the name its answer was
recorded by (or none, for a set-up call whose answer was not recorded). Strings in parameters
are templates over the case's names (`{fn}`, `{fn2}`, `{arn}`, `{role}`, `{region}`,
`{account}`); `Ref` takes a value from an earlier answer.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError, ParamValidationError

from tests.integration.parity.recorded import (
    ACCOUNT,
    REGION,
    Bindings,
    differences,
    recorded_case,
    unwrap,
)

ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-test-role"


def zip_of(source: str) -> bytes:
    """A zip holding `handler.py` with this source (the recordings' handler.handler)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("handler.py", source)
    return buffer.getvalue()


ZIP = zip_of("def handler(event, context):\n    return event\n")
ZIP2 = zip_of("def handler(event, context):\n    return {'changed': event}\n")


@dataclass(frozen=True)
class Ref:
    """A value from an earlier answer: `Ref("create", "RevisionId")`."""

    key: str
    path: tuple[str | int, ...]
    # Added to a number taken (a limit plus one, for a case that goes past the server's own).
    plus: int = 0

    def __init__(self, key: str, *path: str | int, plus: int = 0) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "plus", plus)


@dataclass(frozen=True)
class Call:
    key: str | None
    op: str
    params: dict[str, Any] = field(default_factory=dict)
    # False where the recording reached the server past botocore's own checks.
    validate: bool = True
    # True where the recording kept a summary of the error (`summarize`), not the answer.
    summary: bool = False
    # Where the recording kept one item of a list answer: (list field, key, value it has).
    pick: tuple[str, str, Any] | None = None
    # True where the recording kept the names of each object's fields, not their values.
    keys_only: bool = False


@dataclass(frozen=True)
class Wait:
    """boto3's waiter: `function_active_v2` or `function_updated_v2`."""

    waiter: str = "function_active_v2"
    function: str = "{fn}"
    qualifier: str | None = None


@dataclass(frozen=True)
class Create:
    """CreateFunction with the arguments the recorded answer under `key` shows were sent
    (runtime, handler, memory, timeout, description, environment, architectures...)."""

    key: str | None
    fn: str = "{fn}"
    overrides: dict[str, Any] = field(default_factory=dict)
    wait: bool = True


@dataclass(frozen=True)
class S3Put:
    """An object put in the S3 on the same endpoint (the bucket made if need be)."""

    bucket: str
    key: str
    body: bytes


@dataclass(frozen=True)
class SqsQueue:
    """A queue made in the SQS on the same endpoint (an event source mapping's source)."""

    name: str


Step = Call | Wait | Create | S3Put | SqsQueue

# What a FunctionConfiguration echoes of CreateFunction's arguments.
_ECHOED = ("Runtime", "Handler", "MemorySize", "Timeout", "Description", "Environment")


def _create_params(recorded: Any) -> dict[str, Any]:
    config = unwrap(recorded) if isinstance(recorded, dict) else {}
    params: dict[str, Any] = {"Runtime": "python3.12", "Handler": "handler.handler"}
    for key in _ECHOED:
        if key in config and not (isinstance(config[key], str) and "<" in config[key]):
            params[key] = config[key]
    if config.get("Architectures", ["x86_64"]) != ["x86_64"]:
        params["Architectures"] = config["Architectures"]
    if config.get("EphemeralStorage", {"Size": 512}) != {"Size": 512}:
        params["EphemeralStorage"] = config["EphemeralStorage"]
    if config.get("TracingConfig", {}).get("Mode", "PassThrough") != "PassThrough":
        params["TracingConfig"] = config["TracingConfig"]
    if config.get("Version", "$LATEST") != "$LATEST":
        params["Publish"] = True
    return params


@dataclass(frozen=True)
class Case:
    name: str
    steps: Sequence[Step]
    file: str = "test_lambda_api.snapshot.json"
    # Why Hearth answers differently on purpose (a documented divergence); the test then
    # asserts that it still differs, so a fix is noticed.
    divergence: str | None = None


def create(key: str | None = None, fn: str = "{fn}", **params: Any) -> Call:
    """CreateFunction with the recordings' usual arguments."""
    base: dict[str, Any] = {
        "FunctionName": fn,
        "Runtime": "python3.12",
        "Handler": "handler.handler",
        "Role": ROLE,
        "Code": {"ZipFile": ZIP},
    }
    return Call(key, "create_function", base | params)


@dataclass
class Replay:
    client: Any
    raw_client: Any = None
    names: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.names = {
            "fn": f"parity-{tag}",
            "fn2": f"parity-{tag}-b",
            "role": ROLE,
            "region": REGION,
            "account": ACCOUNT,
            "tag": tag,
        }
        self.names["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.names['fn']}"

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**self.names)
        if isinstance(value, Ref):
            found: Any = self.answers.get(value.key)
            for part in value.path:
                try:
                    found = found[part]
                except (KeyError, IndexError, TypeError):
                    return f"<no {value.key} to take {part} from>"
            return found + value.plus if value.plus else found
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def run(self, steps: Sequence[Step], recorded: dict[str, Any]) -> None:
        for step in steps:
            if isinstance(step, Create):
                sent = _create_params(recorded.get(step.key or "", {}))
                sent |= {"FunctionName": step.fn, "Role": ROLE, "Code": {"ZipFile": ZIP}}
                answer = self.call("create_function", self.resolve(sent | step.overrides))
                if step.key is not None:
                    self.answers[step.key] = answer
                if step.wait and not isinstance(answer, str) and "Error" not in answer:
                    self.run([Wait(function=step.fn)], recorded)
                continue
            if isinstance(step, S3Put):
                self._s3_put(step)
                continue
            if isinstance(step, SqsQueue):
                self._client("sqs").create_queue(QueueName=self.resolve(step.name))
                continue
            if isinstance(step, Wait):
                params: dict[str, Any] = {"FunctionName": self.resolve(step.function)}
                if step.qualifier:
                    params["Qualifier"] = step.qualifier
                self.client.get_waiter(step.waiter).wait(
                    **params, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
                )
                continue
            client = self.client if step.validate else self.raw_client or self.client
            answer = self.call(step.op, self.resolve(step.params), client)
            if step.summary:
                answer = summarize(answer)
            if step.keys_only and isinstance(answer, dict):
                answer = {
                    k: sorted(v) if isinstance(v, dict) and k != "ResponseMetadata" else v
                    for k, v in answer.items()
                }
            if step.pick is not None and isinstance(answer, dict):
                listed, key, wanted = step.pick
                wanted = self.resolve(wanted)
                items = [i for i in answer.get(listed, []) if i.get(key) == wanted]
                answer = items[0] if items else answer
            if step.key is not None:
                self.answers[step.key] = answer

    def _client(self, service: Literal["s3", "sqs"]) -> Any:
        meta = self.client.meta
        credentials = self.client._request_signer._credentials  # the Lambda client's own
        return boto3.client(
            service,
            endpoint_url=meta.endpoint_url,
            region_name=meta.region_name,
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
        )

    def _s3_put(self, step: S3Put) -> None:
        s3 = self._client("s3")
        bucket = self.resolve(step.bucket)
        with contextlib.suppress(ClientError):
            s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key=self.resolve(step.key), Body=step.body)

    def call(self, op: str, params: dict[str, Any], client: Any = None) -> Any:
        method: Callable[..., Any] = getattr(client or self.client, op)
        try:
            answer = method(**params)
        except ClientError as error:
            return error.response
        except ParamValidationError as error:
            return str(error)
        if isinstance(answer, dict) and "Payload" in answer:
            answer = {**answer, "Payload": answer["Payload"].read().decode()}
        return answer


_VALIDATION = re.compile(r"(\d+) validation errors? detected: (.*)", re.DOTALL)


def summarize(answer: Any) -> Any:
    """An error as some recordings keep it: its code and message, or, for a message of
    validation errors, its code, their count and each error (split where AWS joins them)."""
    if not isinstance(answer, dict) or "Error" not in answer:
        return answer
    code, message = answer["Error"].get("Code"), answer["Error"].get("Message", "")
    found = _VALIDATION.fullmatch(message)
    if found is None:
        return {"Code": code, "Message": message}
    errors = re.split(r"; (?=Value )", found.group(2))
    return {"Code": code, "Count": int(found.group(1)), "Errors": errors}


def compare(case: Case, replay: Replay) -> dict[str, list[str]]:
    """Per recorded answer, its differences from what Hearth answered (empty: it matches)."""
    bindings = Bindings()
    found: dict[str, list[str]] = {}
    for key, recorded in recorded_case(case.name, case.file).items():
        if key not in replay.answers:
            found[key] = ["not replayed"]
            continue
        found[key] = differences(unwrap(recorded), replay.answers[key], bindings)
    return found


def replay_case(case: Case, client: Any, raw_client: Any = None) -> dict[str, list[str]]:
    replay = Replay(client, raw_client)
    replay.run(case.steps, recorded_case(case.name, case.file))
    return compare(case, replay)
