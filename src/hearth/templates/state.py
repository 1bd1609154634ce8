"""What `hearth up` deployed for a stack, kept in the data dir (``stacks/<name>.json``).

Written after every resource, atomically, so a failed `up` remembers what it did create and
the next one continues (or deletes) from there.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hearth.store.datadir import STACKS as STACKS_DIR

_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


@dataclass
class Deployed:
    """One resource as applied: its Ref value, attributes (for Fn::GetAtt), and the digest of
    the resolved properties it was applied with (an equal digest means nothing to do)."""

    type: str
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    retain: bool = False


def valid_stack_name(name: str) -> bool:
    """CloudFormation's rule: a letter, then letters, digits and hyphens, up to 128."""
    return _STACK_NAME.fullmatch(name) is not None


class StackState:
    """The state file of one stack."""

    def __init__(self, data_dir: Path, stack_name: str) -> None:
        self.path = data_dir / STACKS_DIR / f"{stack_name}.json"

    def load(self) -> dict[str, Deployed]:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return {
            logical_id: Deployed(**entry) for logical_id, entry in document["resources"].items()
        }

    def save(self, resources: dict[str, Deployed]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document: dict[str, Any] = {
            "resources": {logical_id: asdict(entry) for logical_id, entry in resources.items()}
        }
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
