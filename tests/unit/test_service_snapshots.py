"""The snapshot pickler: what in moto's models does not pickle as it is."""

from __future__ import annotations

import io
import pickle
import threading
from collections import defaultdict
from typing import Any

from hearth.services.snapshots import _Pickler


class _Params(defaultdict[str, list[Any]]):
    """Shaped like SSM's ParameterDict: an __init__ that pickle cannot call."""

    def __init__(self, account_id: str, region: str) -> None:
        super().__init__(list)
        self.account_id, self.region = account_id, region


def _round_trip(value: Any) -> Any:
    buffer = io.BytesIO()
    _Pickler(buffer).dump(value)
    return pickle.loads(buffer.getvalue())


def test_locks_come_back_as_fresh_locks() -> None:
    state: dict[str, Any] = {
        "lock": threading.RLock(),
        "plain": threading.Lock(),
        "cond": threading.Condition(),
    }
    state["plain"].acquire()
    back = _round_trip(state)
    assert back["plain"].acquire(blocking=False)  # a new lock, not a held one
    with back["lock"], back["cond"]:
        pass


def test_defaultdicts_of_lambdas_and_subclasses_keep_their_contents() -> None:
    tags: defaultdict[str, defaultdict[str, dict[str, str]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    tags["arn"]["k"]["v"] = "1"
    params = _Params("123456789012", "us-east-1")
    params["/p"].append("v1")
    back_tags, back_params = _round_trip((tags, params))
    assert back_tags["arn"]["k"] == {"v": "1"}
    assert back_tags["new"]["x"] == {}  # still a nested defaultdict
    assert isinstance(back_params, _Params)
    assert (back_params.account_id, back_params.region) == ("123456789012", "us-east-1")
    assert back_params["/p"] == ["v1"] and back_params["/q"] == []
