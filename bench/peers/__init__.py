"""Hearth against the tools people use today: one run, one client, one machine.

`bench/compare.py` is the entry point; `scripts/bench-peers.sh` installs the peers and runs it.
Modules: workloads (the handlers), tools (how each tool is started and given a fresh
environment), client (the raw-HTTP and boto3 load), memory (process-tree RSS/PSS),
stats (percentiles, medians over rounds), ratios (peer over Hearth), report (Markdown, plots,
the README table).
"""
