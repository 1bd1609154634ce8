"""Hearth's answers against AWS's recorded ones, case by case (tests/integration/parity/).

A case matches when every answer it recorded has the same keys, the same values and the same
status code, placeholders (names, RevisionIds, hashes) standing for consistent values. The
cases in GAPS still differ; they are expected to fail (strictly, so a fix is noticed) until
they are closed. `python -m tests.integration.parity.report` prints every difference.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.conftest import Server, lambda_client
from tests.integration.parity.cases import CASES
from tests.integration.parity.recorded import SERVER_ARGS
from tests.integration.parity.replay import Case, replay_case

GAPS: dict[str, str] = {
    "TestLambdaVersions::test_publish_with_wrong_revisionid": (
        "recorded on python3.9 before AWS's answers carried LoggingConfig, SnapStart and "
        "RuntimeVersionConfig; replayed on python3.12"
    ),
    "TestLambdaRevisions::test_function_revisions_basic": (
        "updates the runtime to python3.8, which AWS still accepts and Hearth does not run"
    ),
    "TestLambdaLayer::test_layer_exceptions": (
        "an invalid runtime and an invalid architecture in one publish: AWS lists both in one "
        "message; Hearth's model check answers the architecture before the handler sees the "
        "runtime (Runtime is a handler-checked enum)"
    ),
}


@pytest.fixture(scope="module")
def parity_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = Server(tmp_path_factory.mktemp("parity"), SERVER_ARGS).start()
    yield lambda_client(server.endpoint), lambda_client(server.endpoint, validate=False)
    server.stop()


def _param(case: Case) -> Any:
    reason = GAPS.get(case.name) or case.divergence
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_recorded_case(parity_client: Any, case: Case) -> None:
    found = replay_case(case, *parity_client)
    differing = {key: diffs for key, diffs in found.items() if diffs}
    assert not differing, "\n".join(f"{k}: {d}" for k, ds in differing.items() for d in ds)
