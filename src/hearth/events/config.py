"""What the dispatcher needs to know about a function: its event invoke config and its DLQ.

Read from the registry and cached until the control plane changes anything (`invalidate` is
subscribed to registry writes in service.py), so a busy queue does not open a registry
transaction per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hearth.arns import LATEST
from hearth.events.retry import DEFAULT_MAX_EVENT_AGE_SECONDS, DEFAULT_MAX_RETRY_ATTEMPTS
from hearth.store.qualifiers import version_of
from hearth.store.registry import RegistryReader

_CACHE_SIZE = 10_000


@dataclass(frozen=True)
class AsyncConfig:
    """An EventInvokeConfig with AWS's defaults filled in."""

    max_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    max_event_age_seconds: int = DEFAULT_MAX_EVENT_AGE_SECONDS
    on_success: str | None = None
    on_failure: str | None = None

    @classmethod
    def from_stored(cls, stored: dict[str, Any] | None) -> AsyncConfig:
        if stored is None:
            return cls()
        destinations = stored.get("DestinationConfig") or {}
        return cls(
            max_retry_attempts=stored.get("MaximumRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS),
            max_event_age_seconds=stored.get(
                "MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS
            ),
            on_success=destinations.get("OnSuccess", {}).get("Destination"),
            on_failure=destinations.get("OnFailure", {}).get("Destination"),
        )


class AsyncConfigs:
    def __init__(self, registry: RegistryReader) -> None:
        self._registry = registry
        self._configs: dict[tuple[str, str | None], AsyncConfig] = {}
        self._dead_letters: dict[tuple[str, str | None], str | None] = {}

    def invalidate(self) -> None:
        self._configs.clear()
        self._dead_letters.clear()

    def config(self, name: str, qualifier: str | None) -> AsyncConfig:
        """The config an async invoke of `name:qualifier` runs under.

        Each qualifier has its own config, as on AWS: an alias or version without one gets
        the defaults, not the function's. The unqualified function and `$LATEST` name the
        same code, so each falls back to the other's config.
        """
        key = (name, qualifier)
        cached = self._configs.get(key)
        if cached is None:
            with self._registry.transaction() as tx:
                record = tx.get_function(name)
            stored = None
            if record is not None:
                configs = record.event_invoke_configs
                stored = configs.get(qualifier or "")
                if stored is None and qualifier in (None, LATEST):
                    stored = configs.get(LATEST if qualifier is None else "")
            cached = AsyncConfig.from_stored(stored)
            self._remember(self._configs, key, cached)
        return cached

    def dead_letter_target(self, name: str, version_or_qualifier: str | None) -> str | None:
        """The DeadLetterConfig target of the version that ran (or that the qualifier names)."""
        key = (name, version_or_qualifier)
        if key in self._dead_letters:
            return self._dead_letters[key]
        with self._registry.transaction() as tx:
            # A vanished alias falls back to $LATEST's target.
            number = version_of(tx, name, version_or_qualifier or LATEST) or LATEST
            found = tx.get_version(name, number)
        target = found.dead_letter_target_arn if found is not None else None
        self._remember(self._dead_letters, key, target)
        return target

    @staticmethod
    def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[key] = value
