"""The `hearth` command. The only place flags and environment variables are read.

`server.py` holds the commands that run Hearth on this machine (`serve`, `doctor`); `client.py`
the commands that talk to a running server over the Lambda API (`deploy`, `functions`,
`invoke`, `logs`, `delete`). This module assembles them into one group.
"""

from __future__ import annotations

import difflib

import click

from hearth import __version__
from hearth.cli import app, client, cluster, events, mappings, server

# Words people type for a command by another name (from other CLIs); a mistyped word is
# matched against these as well as the real names.
SYNONYMS = {
    "ls": "functions",
    "list": "functions",
    "list-functions": "functions",
    "rm": "delete",
    "remove": "delete",
    "run": "invoke",
    "call": "invoke",
    "create": "deploy",
    "update": "deploy",
    "push": "deploy",
    "start": "serve",
    "server": "serve",
    "tail": "logs",
    "log": "logs",
}
# difflib's similarity a suggestion needs. Click's own 0.6 offers `logs` for `ls` and
# `invoke` for `info`; 0.7 keeps real typos (`sever`, `functoins`, `lgos`) and drops those.
SUGGESTION_CUTOFF = 0.7


class _Group(click.Group):
    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            ctx.fail(f"No such command {name!r}.{self._suggestion(ctx, name)}")
        return super().resolve_command(ctx, args)

    def _suggestion(self, ctx: click.Context, name: str) -> str:
        word = name.lower()
        candidates = {command: command for command in self.list_commands(ctx)}
        candidates.update(SYNONYMS)
        close = difflib.get_close_matches(word, candidates, n=1, cutoff=SUGGESTION_CUTOFF)
        return f" Did you mean {candidates[close[0]]!r}?" if close else ""


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hearth")
def main() -> None:
    """Hearth: AWS Lambda, run on your own machines."""


for command in (
    *server.COMMANDS,
    *client.COMMANDS,
    mappings.mappings,
    *app.COMMANDS,
    events.event,
    *cluster.COMMANDS,
):
    main.add_command(command)

__all__ = ["main"]
