"""Each tool the benchmark runs: how it is started, and how it is given a fresh environment.

A `Tool` starts for one workload and yields a `Running` tool; the benchmark drives every
Running tool the same way (see compare.py). Guarantees a Running tool gives:
- `caller` invokes the same warm environment (or, for a process-per-invoke tool, runs one);
- `cold_start(i)` returns the latency of the first invoke of an environment that did not exist
  before the call (how it forces that is the tool's `fresh` text, quoted in the report);
- `roots()` are the pids whose process trees are the tool's whole memory footprint;
- leaving the context stops every process the tool started.
"""

from __future__ import annotations

from .base import Running, Tool

__all__ = ["Running", "Tool"]
