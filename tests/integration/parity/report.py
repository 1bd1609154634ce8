"""`python -m tests.integration.parity.report [ENDPOINT]`: replay every case, print the count.

Without an endpoint it starts a `hearth serve` of its own (account 111111111111, as recorded).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.integration.conftest import Server, lambda_client
from tests.integration.parity.cases import CASES
from tests.integration.parity.recorded import SERVER_ARGS
from tests.integration.parity.replay import replay_case


def main(argv: list[str]) -> int:
    server = None
    endpoint = argv[0] if argv else ""
    if not endpoint:
        server = Server(Path(tempfile.mkdtemp()), SERVER_ARGS).start()
        endpoint = server.endpoint
    client = lambda_client(endpoint)
    raw_client = lambda_client(endpoint, validate=False)
    matched = answers = answers_ok = 0
    try:
        for case in CASES:
            found = replay_case(case, client, raw_client)
            ok = [k for k, diffs in found.items() if not diffs]
            answers += len(found)
            answers_ok += len(ok)
            if len(ok) == len(found):
                matched += 1
                continue
            print(f"✗ {case.name}")
            for key, diffs in found.items():
                for line in diffs[:8]:
                    print(f"    {key}{line if line.startswith('.') else ': ' + line}")
    finally:
        if server is not None:
            server.stop()
    print(f"cases matching: {matched}/{len(CASES)}; answers matching: {answers_ok}/{answers}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
