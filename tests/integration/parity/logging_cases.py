"""The recorded cases of advanced logging (LoggingConfig): set at create, changed in part by
UpdateFunctionConfiguration (what is not named is kept, levels appear with JSON and go with
Text). The update each case made is read off its recorded answer."""

from __future__ import annotations

from typing import Any

from tests.integration.parity.replay import Call, Case, Create, Wait

FN = {"FunctionName": "{fn}"}
_JSON = {"LogFormat": "JSON"}


def _update(suffix: str, logging: dict[str, Any]) -> list[Call | Wait]:
    params = {"FunctionName": "{fn}", "LoggingConfig": logging}
    return [
        Call(f"updated_config{suffix}", "update_function_configuration", params),
        Wait("function_updated_v2"),
        Call(f"received_config{suffix}", "get_function_configuration", FN),
    ]


def _case(name: str, create: dict[str, Any], *updates: list[Call | Wait]) -> Case:
    overrides: dict[str, Any] = {"Environment": {"Variables": {}}}
    if create:
        overrides["LoggingConfig"] = create
    return Case(
        f"TestLoggingConfig::{name}",
        [
            Create("create_response", overrides=overrides),
            Call("get_function_response", "get_function", FN),
            Call("function_config", "get_function_configuration", FN),
            *(step for update in updates for step in update),
        ],
    )


_PARTIAL = "test_function_partial_advanced_logging_configuration_update"

LOGGING_CASES = [
    _case(
        "test_function_advanced_logging_configuration",
        {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO"},
        _update("", {"LogGroup": "cool_lambda"}),
    ),
    _case(
        "test_advanced_logging_configuration_format_switch",
        {},
        _update("", _JSON),
        _update("_v2", {"LogFormat": "Text"}),
    ),
    _case(f"{_PARTIAL}[partial_config0]", {}, _update("", _JSON)),
    _case(
        f"{_PARTIAL}[partial_config1]", {}, _update("", _JSON | {"ApplicationLogLevel": "DEBUG"})
    ),
    _case(f"{_PARTIAL}[partial_config2]", {}, _update("", _JSON | {"SystemLogLevel": "DEBUG"})),
    _case(f"{_PARTIAL}[partial_config3]", {}, _update("", {"LogGroup": "cool_lambda"})),
]
