"""Subscription filters of Hearth's log groups: which log events go to which Lambda function.

`FileSubscriptions` keeps them in one JSON file in the data dir (there are at most two per log
group, and they change rarely), written atomically; `MemorySubscriptions` is its twin.
Guarantees of both: `put` replaces a filter of the same name in that group, `delete` returns
whether there was one, `for_group` lists a group's filters by name, and a write is durable on
return.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("hearth.logs")


@dataclass(frozen=True)
class SubscriptionFilter:
    group: str
    name: str
    pattern: str
    destination_arn: str
    created_ms: int
    role_arn: str | None = None
    distribution: str = "ByLogStream"


class Subscriptions(Protocol):
    def put(self, subscription: SubscriptionFilter) -> None: ...

    def delete(self, group: str, name: str) -> bool: ...

    def delete_group(self, group: str) -> None: ...

    def for_group(self, group: str) -> list[SubscriptionFilter]: ...

    def all(self) -> list[SubscriptionFilter]: ...


class MemorySubscriptions:
    def __init__(self) -> None:
        self._filters: dict[tuple[str, str], SubscriptionFilter] = {}

    def put(self, subscription: SubscriptionFilter) -> None:
        self._filters[(subscription.group, subscription.name)] = subscription
        self._changed()

    def delete(self, group: str, name: str) -> bool:
        found = self._filters.pop((group, name), None) is not None
        if found:
            self._changed()
        return found

    def delete_group(self, group: str) -> None:
        doomed = [key for key in self._filters if key[0] == group]
        for key in doomed:
            del self._filters[key]
        if doomed:
            self._changed()

    def for_group(self, group: str) -> list[SubscriptionFilter]:
        return sorted(
            (f for (g, _), f in self._filters.items() if g == group), key=lambda f: f.name
        )

    def all(self) -> list[SubscriptionFilter]:
        return list(self._filters.values())

    def _changed(self) -> None:
        """Where a durable twin writes."""


class FileSubscriptions(MemorySubscriptions):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self._path = path
        try:
            saved = json.loads(path.read_text())
            for item in saved.get("filters", []):
                found = SubscriptionFilter(**item)
                self._filters[(found.group, found.name)] = found
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError):
            logger.exception("log subscription filters unreadable at %s; starting afresh", path)

    def _changed(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        with tmp.open("w") as file:
            json.dump({"format": 1, "filters": [asdict(f) for f in self.all()]}, file)
            file.flush()
            os.fsync(file.fileno())
        tmp.replace(self._path)
