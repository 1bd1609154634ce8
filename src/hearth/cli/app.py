"""The `hearth up` and `hearth dev` commands (the logic is in hearth/templates/)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from hearth.config import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_REGION,
    default_data_dir,
)

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

_TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")


def _find_template(given: Path | None) -> Path:
    if given is not None:
        return given.expanduser().resolve()
    for name in _TEMPLATE_NAMES:
        if Path(name).is_file():
            return Path(name).resolve()
    return Path(_TEMPLATE_NAMES[0]).resolve()


def app_options(command: Any) -> Any:
    """The options `up` and `dev` share."""
    options = [
        click.argument("template", required=False, type=click.Path(path_type=Path)),
        click.option(
            "--parameter-overrides",
            multiple=True,
            help="KEY=VALUE (or ParameterKey=K,ParameterValue=V), repeatable, as `sam deploy`.",
        ),
        click.option(
            "--stack-name",
            default=None,
            help="[default: samconfig.toml's, or the directory's name]",
        ),
        click.option(
            "--config-env", default="default", show_default=True, help="samconfig.toml environment."
        ),
        click.option("--force", is_flag=True, help="Apply every resource again, changed or not."),
        click.option(
            "--endpoint-url",
            envvar="HEARTH_ENDPOINT_URL",
            default=f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
            show_default=True,
            help="The Hearth server to deploy to.",
        ),
        click.option("--region", envvar="HEARTH_REGION", default=DEFAULT_REGION, show_default=True),
        click.option(
            "--account-id",
            envvar="HEARTH_ACCOUNT_ID",
            default=DEFAULT_ACCOUNT_ID,
            show_default=True,
        ),
        click.option(
            "--data-dir",
            envvar="HEARTH_DATA_DIR",
            type=click.Path(path_type=Path),
            default=None,
            help="The server's data dir, where what was deployed is remembered "
            f"[default: {default_data_dir()}].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class App:
    """One template, one stack, one server: plans and applies it."""

    def __init__(
        self,
        *,
        template: Path | None,
        parameter_overrides: tuple[str, ...],
        stack_name: str | None,
        config_env: str,
        endpoint_url: str,
        region: str,
        account_id: str,
        data_dir: Path | None,
    ) -> None:
        from hearth.cli.client import _client
        from hearth.templates.apply import Applier
        from hearth.templates.boto_deployer import BotoDeployer
        from hearth.templates.parameters import parse_overrides, read_samconfig
        from hearth.templates.state import StackState, valid_stack_name

        self.template = _find_template(template)
        samconfig = read_samconfig(self.template.parent, config_env)
        overrides = parse_overrides(
            [str(samconfig.get("parameter_overrides", ""))]
            if samconfig.get("parameter_overrides")
            else []
        )
        overrides.update(parse_overrides(list(parameter_overrides)))
        self.overrides = overrides
        self.stack_name = stack_name or str(
            samconfig.get("stack_name") or self.template.parent.name
        )
        if not valid_stack_name(self.stack_name):
            raise click.BadParameter(
                f"{self.stack_name!r}: a stack name is a letter, then letters, digits and hyphens",
                param_hint="--stack-name",
            )
        self.region = region
        self.account_id = account_id
        self.endpoint_url = endpoint_url
        state = StackState((data_dir or default_data_dir()).expanduser().resolve(), self.stack_name)
        self._cached: tuple[bytes, Any] | None = None
        from hearth.templates.api_deployer import ApiDeployer
        from hearth.templates.build import DependencyBuilder
        from hearth.templates.service_deployer import ServiceDeployer

        builder = DependencyBuilder(
            self.template.parent / ".hearth" / "deps",
            lambda line: console.print(line, markup=False),
        )
        import boto3

        session = boto3.session.Session()

        def client(service: str) -> Any:
            return _client(endpoint_url, region, service, session)

        self.applier = Applier(
            BotoDeployer(client("lambda")),
            state,
            account=account_id,
            region=region,
            services=ServiceDeployer(client),
            apis=ApiDeployer(client, endpoint_url),
            dependencies=builder,
        )

    def plan(self) -> Any:
        from hearth.templates.plan import plan_template

        # A save of code alone leaves the template as it was: its plan (the translation, the
        # slow part) is reused; the code is zipped and compared at apply time anyway.
        try:
            text = self.template.read_bytes()
        except OSError:
            text = b""
        if self._cached is not None and self._cached[0] == text:
            return self._cached[1]
        plan = plan_template(
            self.template,
            overrides=self.overrides,
            region=self.region,
            account_id=self.account_id,
            stack_name=self.stack_name,
        )
        self._cached = (text, plan)
        return plan

    def up(self, *, force: bool = False, quiet: bool = False) -> Any:
        """Plan and apply; print what changed. Raises TemplateError / ApplyError."""
        plan = self.plan()
        outcome = self.applier.apply(plan, force=force)
        if not quiet:
            show_outcome(outcome, self.stack_name)
        return plan, outcome


def show_outcome(outcome: Any, stack_name: str) -> None:
    for verb, names in (
        ("created", outcome.created),
        ("updated", outcome.updated),
        ("deleted", outcome.deleted),
    ):
        for name in names:
            console.print(f"  {verb:8} {name}", markup=False)
    if not outcome.changed:
        console.print(
            f"Stack {stack_name}: no changes ({len(outcome.unchanged)} resources up to date).",
            markup=False,
        )
    else:
        console.print(
            f"Stack {stack_name}: {len(outcome.created)} created, {len(outcome.updated)} updated, "
            f"{len(outcome.deleted)} deleted, {len(outcome.unchanged)} unchanged.",
            markup=False,
        )
    if outcome.recorded:
        names = ", ".join(f"{name} ({kind})" for name, kind in outcome.recorded)
        console.print(f"IAM recorded, not enforced: {names}", markup=False)
    if outcome.unsupported:
        console.print("Not run by Hearth (listed, not created):", markup=False)
        for name, kind in outcome.unsupported:
            console.print(f"  {name} ({kind})", markup=False)
    if outcome.outputs:
        console.print("Outputs:", markup=False)
        for name, (description, value) in outcome.outputs.items():
            console.print(
                f"  {name} = {value}" + (f"  # {description}" if description else ""), markup=False
            )


def _fail(exc: Exception) -> None:
    err_console.print(f"error: {exc}", markup=False)
    sys.exit(1)


@click.command()
@app_options
def up(
    template: Path | None,
    parameter_overrides: tuple[str, ...],
    stack_name: str | None,
    config_env: str,
    force: bool,
    endpoint_url: str,
    region: str,
    account_id: str,
    data_dir: Path | None,
) -> None:
    """Deploy a SAM / CloudFormation template to Hearth: create or update every resource Hearth
    runs, in dependency order; delete what the template no longer has."""
    from botocore.exceptions import EndpointConnectionError

    from hearth.templates.apply import ApplyError
    from hearth.templates.errors import TemplateError

    try:
        app = App(
            template=template,
            parameter_overrides=parameter_overrides,
            stack_name=stack_name,
            config_env=config_env,
            endpoint_url=endpoint_url,
            region=region,
            account_id=account_id,
            data_dir=data_dir,
        )
        app.up(force=force)
    except (TemplateError, ApplyError) as exc:
        _fail(exc)
    except EndpointConnectionError:
        _fail(Exception(f"cannot reach Hearth at {endpoint_url}. Is `hearth serve` running there?"))


# dev ----------------------------------------------------------------------------------

_IGNORED_PARTS = {".hearth", ".aws-sam", "__pycache__", ".git", "node_modules"}


def _watched(path: str) -> bool:
    parts = Path(path).parts
    return not any(part in _IGNORED_PARTS for part in parts) and not path.endswith((".pyc", "~"))


def _tail_logs(endpoint_url: str, region: str, names: Any, stop: Any, since_ms: int) -> None:
    """Print the application's log lines as they arrive (START / END / REPORT dimmed)."""
    import time as clock

    import boto3

    session = boto3.session.Session()
    fallback = "hearth" if session.get_credentials() is None else None
    logs = session.client(
        "logs",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=fallback,
        aws_secret_access_key=fallback,
    )
    since = {name: since_ms for name in list(names())}
    while not stop.wait(0.3):
        for name in list(names()):
            start = since.setdefault(name, int(clock.time() * 1000))
            try:
                page = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", startTime=start)
            except Exception:  # noqa: S112 - a group appears with the first invoke
                continue
            for item in page.get("events", []):
                since[name] = max(since[name], item["timestamp"] + 1)
                _print_log_line(name, item["message"].rstrip("\n"))


def _print_log_line(name: str, line: str) -> None:
    from rich.markup import escape

    if line.startswith(("START ", "END ", "REPORT ", "INIT_START ")):
        console.print(f"[dim]{escape(name)} {escape(line)}[/]")
    elif (
        "ERROR" in line or "Traceback" in line or "errorMessage" in line or "Task timed out" in line
    ):
        console.print(f"[cyan]{escape(name)}[/] [bold red]{escape(line)}[/]")
    else:
        console.print(f"[cyan]{escape(name)}[/] {escape(line)}")


@click.command()
@app_options
def dev(
    template: Path | None,
    parameter_overrides: tuple[str, ...],
    stack_name: str | None,
    config_env: str,
    force: bool,
    endpoint_url: str,
    region: str,
    account_id: str,
    data_dir: Path | None,
) -> None:
    """`hearth up`, then watch the template and every function's code: a save redeploys only
    what changed (the server keeps running, other functions stay warm). Ctrl-C stops."""
    import threading
    import time as clock

    import watchfiles
    from botocore.exceptions import EndpointConnectionError

    from hearth.templates.apply import ApplyError
    from hearth.templates.errors import TemplateError

    try:
        app = App(
            template=template,
            parameter_overrides=parameter_overrides,
            stack_name=stack_name,
            config_env=config_env,
            endpoint_url=endpoint_url,
            region=region,
            account_id=account_id,
            data_dir=data_dir,
        )
        plan, _ = app.up(force=force)
    except (TemplateError, ApplyError) as exc:
        _fail(exc)
    except EndpointConnectionError:
        _fail(Exception(f"cannot reach Hearth at {endpoint_url}. Is `hearth serve` running there?"))
    functions: dict[str, str] = {}

    def function_names() -> list[str]:
        return list(functions.values())

    def remember(current: Any) -> None:
        functions.clear()
        for logical_id, entry in app.applier.deployed().items():
            if entry.type == "AWS::Lambda::Function":
                functions[logical_id] = entry.physical_id

    remember(plan)
    stop = threading.Event()
    threading.Thread(
        target=_tail_logs,
        args=(endpoint_url, region, function_names, stop, int(clock.time() * 1000)),
        daemon=True,
    ).start()
    roots = {
        app.template.parent,
        *(path if path.is_dir() else path.parent for path in plan.code_paths.values()),
    }
    console.print(f"Watching {', '.join(sorted(map(str, roots)))} (Ctrl-C stops)", markup=False)
    try:
        # step: yield 20 ms after the last change, so a save is picked up at once.
        for changes in watchfiles.watch(
            *roots,
            watch_filter=lambda _, path: _watched(path),
            step=20,
            debounce=400,
            raise_interrupt=False,
        ):
            started = clock.monotonic()
            changed = sorted({Path(path).name for _, path in changes})
            try:
                plan, outcome = app.up(quiet=True)
            except (TemplateError, ApplyError) as exc:
                console.print(f"[bold red]reload failed[/]: {exc}", markup=True, highlight=False)
                continue
            remember(plan)
            took = (clock.monotonic() - started) * 1000
            what = ", ".join(outcome.created + outcome.updated + outcome.deleted) or "nothing to do"
            console.print(f"[green]reloaded[/] {', '.join(changed)} → {what} in {took:.0f} ms")
    finally:
        stop.set()


COMMANDS = (up, dev)
