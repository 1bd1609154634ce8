"""What the boto3-driven benchmarks share: a client for Hearth's port, a function made and
waited for. (invoke_bench.py stays stdlib-only: its client is raw HTTP.)"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from invoke_bench import handler_zip


def client(service: str, endpoint: str) -> Any:
    """A client of any service on Hearth's port, without retries (a retry would hide a
    failure in the figures)."""
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 0}),
    )


def create_function(lam: Any, name: str, source: str) -> None:
    """A python3.12 function with `source` as app.py, Active when this returns."""
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="app.handler",
        Code={"ZipFile": handler_zip(source)},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
