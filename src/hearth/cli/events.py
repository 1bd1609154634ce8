"""`hearth event SERVICE EVENT [--option VALUE ...]`: AWS's sample events, printed as JSON."""

from __future__ import annotations

import json
from typing import Any

import click

from hearth.samples.catalog import SAMPLES, Sample, generate


@click.group()
def event() -> None:
    """Print a sample event, as `sam local generate-event` does (pipe it to
    `hearth invoke NAME --event -`)."""


def _command(service: str, name: str, sample: Sample) -> click.Command:
    def run(**values: Any) -> None:
        options = {key.replace("_", "-"): value for key, value in values.items()}
        try:
            document = generate(service, name, options)
        except ValueError as exc:
            raise click.UsageError(f"{service} {name}: {exc}") from None
        click.echo(json.dumps(document, indent=2))

    params: list[click.Parameter] = [
        click.Option([f"--{option}"], default=default, show_default=True)
        for option, default in sample.options.items()
    ]
    return click.Command(name, callback=run, params=params, help=sample.help)


for _service, _samples in SAMPLES.items():
    _group = click.Group(_service, help=f"Sample {_service} events.")
    for _name, _sample in _samples.items():
        _group.add_command(_command(_service, _name, _sample))
    event.add_command(_group)
