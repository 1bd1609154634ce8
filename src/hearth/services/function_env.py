"""What a function's environment gets so its AWS SDK reaches the services unchanged.

AWS's runtimes carry boto3 / the AWS SDK for JavaScript v3 and hand each function its role's
session credentials; Hearth does the same, and adds `AWS_ENDPOINT_URL` (honoured by boto3 and
the JavaScript SDK v3) so that `boto3.client("s3")` lands on Hearth's port, or on the external
endpoints configured instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hearth.invoke.runtimes import RUNTIMES_DIR
from hearth.services.role_sessions import RoleSessions


@dataclass(frozen=True)
class SdkDirs:
    """The shared, read-only SDK installs (scripts/setup-aws-sdk.sh fills them)."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "python"

    @property
    def node_modules(self) -> Path:
        return self.root / "node" / "node_modules"

    @property
    def in_runtimes_dir(self) -> bool:
        """Inside Hearth's runtimes directory, which sandboxes show at /var/runtime."""
        return self.root.resolve().is_relative_to(RUNTIMES_DIR)

    def seen_from(self, runtime_dir: str) -> Path:
        """Where a function sees the SDKs, given where it sees the runtimes directory."""
        if not self.in_runtimes_dir:
            return self.root
        return Path(runtime_dir) / self.root.resolve().relative_to(RUNTIMES_DIR)

    def missing(self) -> list[str]:
        wanted = {"boto3": self.python / "boto3", "@aws-sdk": self.node_modules / "@aws-sdk"}
        return [name for name, path in wanted.items() if not path.is_dir()]


@dataclass
class FunctionServiceEnvironment:
    """Variables for one function's environment; the endpoint is set once Hearth listens."""

    sessions: RoleSessions
    sdk: SdkDirs | None
    # Where every service is reached: Hearth's own URL (embedded) or --aws-endpoint-url.
    endpoint_url: str | None = None
    service_endpoints: Sequence[tuple[str, str]] = ()
    _extra: dict[str, str] = field(default_factory=dict)

    async def variables(
        self, function_name: str, role_arn: str, family: str, base: Mapping[str, str]
    ) -> dict[str, str]:
        """The variables to set over `base` (the function's environment so far)."""
        session = (await self.sessions.for_function(function_name, role_arn)).credentials
        env = {
            "AWS_ACCESS_KEY_ID": session.access_key_id,
            "AWS_SECRET_ACCESS_KEY": session.secret_access_key,
            "AWS_SESSION_TOKEN": session.session_token,
        }
        # The SDKs look for ~/.aws/config; a sandbox's uid has no passwd entry, so without HOME
        # the JavaScript SDK fails on os.homedir() (AWS's runtime user has a home).
        if "HOME" not in base:
            env["HOME"] = "/tmp"  # noqa: S108 - the function's own private /tmp
        # A function's own AWS_ENDPOINT_URL wins (AWS reserves no such name).
        if self.endpoint_url is not None and "AWS_ENDPOINT_URL" not in base:
            env["AWS_ENDPOINT_URL"] = self.endpoint_url
        for service, url in self.service_endpoints:
            name = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
            if name not in base:
                env[name] = url
        if self.sdk is not None:
            seen = SdkDirs(self.sdk.seen_from(base.get("LAMBDA_RUNTIME_DIR", str(RUNTIMES_DIR))))
            # After the code and the layers: a copy the function or a layer brings wins.
            if family == "python":
                env["PYTHONPATH"] = _append(base.get("PYTHONPATH", ""), str(seen.python))
            elif family == "node":
                env["NODE_PATH"] = _append(base.get("NODE_PATH", ""), str(seen.node_modules))
        return env


def _append(path: str, entry: str) -> str:
    return f"{path}:{entry}" if path else entry
