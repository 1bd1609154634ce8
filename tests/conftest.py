"""Suite-wide test selection: which tests must run alone (scripts/test.sh runs them last)."""

from __future__ import annotations

import pytest

# These measure the machine (latency, throughput, descriptor and connection limits held for
# seconds): beside other test workers they measure the neighbours instead, so scripts/test.sh
# runs them after the parallel phase, one at a time.
RUN_ALONE = frozenset(
    {
        "test_bench_quick.py",
        "test_bench_peers_quick.py",
        "test_edge_bench_quick.py",
        "test_http_bench_quick.py",
        "test_edge_limits.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in RUN_ALONE:
            item.add_marker(pytest.mark.serial)
