"""What the platform writes into a function's log stream, in the function's LogFormat.

Text: AWS's START / END / REPORT lines (`platform_lines`). JSON (advanced logging controls):
`platform.start` and `platform.report` records, system records left out below
SystemLogLevel, and application records (JSON objects with a `level`) dropped below
ApplicationLogLevel, as AWS filters them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from hearth.logs.platform_lines import (
    billed_duration_ms,
    end_line,
    error_status,
    init_report_line,
    report_line,
    start_line,
    timeout_status,
)

LEVELS = {"TRACE": 0, "DEBUG": 1, "INFO": 2, "WARN": 3, "WARNING": 3, "ERROR": 4, "FATAL": 5,
          "CRITICAL": 5}  # fmt: skip


def _iso_ms(epoch: float) -> str:
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


@dataclass(frozen=True)
class Report:
    request_id: str
    duration_ms: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None
    status: str = "success"  # success | error | timeout
    error_type: str | None = None
    # Set instead of init_duration_ms for an environment forked from a SnapStart template.
    restore_duration_ms: float | None = None


@dataclass(frozen=True)
class SystemLog:
    log_format: str = "Text"
    application_level: str | None = None
    system_level: str | None = None

    @property
    def json(self) -> bool:
        return self.log_format == "JSON"

    def _system(self, kind: str, record: dict[str, object]) -> str | None:
        # Platform records are INFO: a SystemLogLevel of WARN or above leaves them out.
        if LEVELS.get(self.system_level or "INFO", 2) > LEVELS["INFO"]:
            return None
        return json.dumps({"time": _iso_ms(time.time()), "type": kind, "record": record})

    def start(self, request_id: str, version: str) -> str | None:
        if not self.json:
            return start_line(request_id, version)
        return self._system("platform.start", {"requestId": request_id, "version": version})

    def end(self, request_id: str) -> str | None:
        return None if self.json else end_line(request_id)

    def timed_out(self, line: str) -> str | None:
        """The 'Task timed out' line: in JSON, the report's status says it."""
        return None if self.json else line

    def report(self, report: Report) -> str | None:
        if not self.json:
            line = report_line(
                report.request_id,
                report.duration_ms,
                report.memory_size_mb,
                report.max_memory_used_mb,
                report.init_duration_ms,
                report.restore_duration_ms,
            )
            if report.status == "timeout":
                line += timeout_status()
            elif report.status == "error":
                line += error_status(report.error_type or "Runtime.Unknown")
            return line
        metrics: dict[str, object] = {
            "durationMs": round(report.duration_ms, 3),
            "billedDurationMs": billed_duration_ms(report.duration_ms),
            "memorySizeMB": report.memory_size_mb,
            "maxMemoryUsedMB": report.max_memory_used_mb,
        }
        if report.init_duration_ms is not None:
            metrics["initDurationMs"] = round(report.init_duration_ms, 3)
        if report.restore_duration_ms is not None:
            metrics["restoreDurationMs"] = round(report.restore_duration_ms, 3)
            metrics["billedRestoreDurationMs"] = billed_duration_ms(report.restore_duration_ms)
        record: dict[str, object] = {
            "requestId": report.request_id,
            "metrics": metrics,
            "status": report.status,
        }
        if report.error_type:
            record["errorType"] = report.error_type
        return self._system("platform.report", record)

    def init_failed(self, duration_ms: float, error_type: str) -> str | None:
        if not self.json:
            return init_report_line(duration_ms, error_type)
        return self._system(
            "platform.initReport",
            {
                "initializationType": "on-demand",
                "phase": "init",
                "status": "error",
                "errorType": error_type,
                "metrics": {"durationMs": round(duration_ms, 3)},
            },
        )

    def keeps(self, line: str) -> bool:
        """Whether an application line reaches the log: in JSON, a record whose `level` is
        below ApplicationLogLevel does not (lines that are not such records always do)."""
        if not self.json or not self.application_level or not line.startswith("{"):
            return True
        try:
            record = json.loads(line)
        except ValueError:
            return True
        level = record.get("level") if isinstance(record, dict) else None
        if not isinstance(level, str) or level.upper() not in LEVELS:
            return True
        return LEVELS[level.upper()] >= LEVELS.get(self.application_level, 0)
