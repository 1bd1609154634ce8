"""Records for unit tests, put straight into a registry."""

from __future__ import annotations

import uuid

from hearth.arns import LATEST
from hearth.models import FunctionRecord, FunctionVersion
from hearth.store.registry import Registry


def put_function(registry: Registry, name: str, versions: int = 2) -> None:
    """A function with $LATEST and published versions "1".."versions"."""
    with registry.transaction() as tx:
        tx.put_function(FunctionRecord(name=name, created="now", last_version_number=versions))
        for version in [LATEST, *(str(n) for n in range(1, versions + 1))]:
            tx.put_version(
                FunctionVersion(
                    function_name=name,
                    version=version,
                    role="arn:aws:iam::123456789012:role/r",
                    runtime="python3.12",
                    handler="app.handler",
                    code_sha256_hex="00" * 32,
                    code_size=1,
                    revision_id=str(uuid.uuid4()),
                    last_modified="2024-01-01T00:00:00.000+0000",
                )
            )
