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
    "TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_code_signing_config]": "open",
    "TestLambdaFunction::test_ops_on_nonexisting_fn[get_function_event_invoke_config]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[get_function]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[get_function_configuration]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[get_function_code_signing_config]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[get_function_event_invoke_config]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[get_function_concurrency]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[delete_function]": "open",
    "TestLambdaFunction::test_get_function_wrong_region[invoke]": "open",
    "TestLambdaFunction::test_ops_on_nonexisting_version[get_function_event_invoke_config]": "open",
    "TestLambdaFunction::test_create_lambda_exceptions": "open",
    "TestLambdaFunction::test_update_lambda_exceptions": "open",
    "TestLambdaVersions::test_publish_with_wrong_revisionid": "open",
    "TestLambdaAlias::test_non_existent_alias_deletion": "open",
    "TestLambdaAlias::test_non_existent_alias_update": "open",
    "TestLambdaRevisions::test_function_revisions_basic": "open",
    "TestLambdaReservedConcurrency::test_function_concurrency_exceptions": "open",
    "TestLambdaRecursion::test_put_function_recursion_config_allow": "open",
    "TestLambdaRecursion::test_put_function_recursion_config_default_terminate": "open",
    "TestLambdaSizeLimits::test_large_environment_variables_fails": "open",
}


@pytest.fixture(scope="module")
def parity_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = Server(tmp_path_factory.mktemp("parity"), SERVER_ARGS).start()
    yield lambda_client(server.endpoint)
    server.stop()


def _param(case: Case) -> Any:
    reason = GAPS.get(case.name) or case.divergence
    marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_recorded_case(parity_client: Any, case: Case) -> None:
    found = replay_case(case, parity_client)
    differing = {key: diffs for key, diffs in found.items() if diffs}
    assert not differing, "\n".join(f"{k}: {d}" for k, ds in differing.items() for d in ds)
