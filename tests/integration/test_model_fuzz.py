"""A bounded, seeded fuzz of requests generated from botocore's model: no 5xx, ever (issue 11).

The larger run is `bench/fuzz_bench.py`. Afterwards boto3 must still read everything that was
stored (a wrong-typed value once stored broke `list_functions()` for every client).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.integration.conftest import ROLE, Server, lambda_client, make_zip
from tests.integration.model_fuzz import KNOWN_FUNCTION, Fuzzer, send

SEED = 11
REQUESTS = 2500
BUDGET_SECONDS = 25


def test_generated_requests_never_get_a_5xx(server: Server, client: Any) -> None:
    client.create_function(
        FunctionName=KNOWN_FUNCTION,
        Runtime="python3.12",
        Handler="app.handler",
        Role=ROLE,
        Code={"ZipFile": make_zip()},
    )
    statuses: Counter[int] = Counter()
    failures = []
    deadline = time.monotonic() + BUDGET_SECONDS
    for request in Fuzzer(SEED).requests(REQUESTS):
        if time.monotonic() > deadline:
            break
        status, body = send(server.endpoint, request)
        statuses[status] += 1
        if status >= 500:
            failures.append(
                (request.operation, request.method, request.path, request.body[:300], body[:300])
            )
    assert sum(statuses.values()) > 300, statuses
    assert not failures, f"{len(failures)} 5xx of {sum(statuses.values())}: {failures[:5]}"
    assert statuses[400] > 0  # the fuzz does reach the validation
    assert statuses[201] > 0, statuses  # and gets some of its requests stored
    # What was stored can still be read back by an ordinary boto3 client.
    fresh = lambda_client(server.endpoint)
    for page in fresh.get_paginator("list_functions").paginate(FunctionVersion="ALL"):
        for function in page["Functions"]:
            fresh.get_function(FunctionName=function["FunctionArn"])
    fresh.list_layers()
