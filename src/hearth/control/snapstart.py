"""SnapStart's control-plane rules: which runtimes take it, and its shape in responses.

A version published with ``SnapStart.ApplyOn = PublishedVersions`` stays ``Pending`` (reason
code ``Creating``) until the invoke side has run its init (its template is ready), then turns
``Active``, or ``Failed`` with reason code ``FunctionError`` when that init failed
(`Functions.settle_snapstart`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hearth.errors import invalid_parameter
from hearth.models import FunctionVersion

PUBLISHED_VERSIONS = "PublishedVersions"
# What AWS accepts SnapStart for (Hearth runs only the Python ones): python3.12 and later,
# Java 11 and later, .NET 8 and later.
_SUPPORTED = re.compile(r"python3\.(1[2-9]|[2-9]\d)|java(1[1-9]|[2-9]\d)|dotnet([8-9]|\d\d)")
FAILED_REASON_CODE = "FunctionError"


def check(runtime: str, passthrough: Mapping[str, Any]) -> None:
    """AWS's refusal of SnapStart on a runtime that does not take it."""
    snap = passthrough.get("SnapStart")
    apply_on = snap.get("ApplyOn") if isinstance(snap, dict) else None
    if apply_on == PUBLISHED_VERSIONS and not _SUPPORTED.fullmatch(runtime):
        raise invalid_parameter(f"{runtime} is not supported for SnapStart enabled functions.")


def response_shape(version: FunctionVersion) -> dict[str, str]:
    return {
        "ApplyOn": version.snapstart_apply_on,
        "OptimizationStatus": "On" if version.snapstart_on else "Off",
    }
