"""Dependencies installed as `sam build` installs them (AWS's aws-lambda-builders), cached by the
manifest's hash: an unchanged requirements.txt / package.json costs nothing after the first time.

The dependencies are built apart from the code (into ``<cache>/<hash>/``) and zipped in with it,
so a save of the code alone never reinstalls them.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from hearth.templates.errors import TemplateError

# runtime family → (language, dependency manager, manifest, files the install also depends on)
_WORKFLOWS = {
    "python": ("python", "pip", "requirements.txt", ()),
    "nodejs": ("nodejs", "npm", "package.json", ("package-lock.json",)),
}
_DONE = ".hearth-complete"


class DependencyBuilder:
    """Installs a function's dependencies once per (runtime, manifest) and remembers them."""

    def __init__(self, cache_dir: Path, say: Callable[[str], None] = lambda _: None) -> None:
        self._cache = cache_dir
        self._say = say

    def dependencies(self, source: Path, runtime: str, logical_id: str) -> Path | None:
        """The directory of ``source``'s installed dependencies, or None when it has no
        manifest (or is a zip, or a runtime without a workflow)."""
        family = next((name for name in _WORKFLOWS if runtime.startswith(name)), None)
        if family is None or not source.is_dir():
            return None
        language, manager, manifest, also = _WORKFLOWS[family]
        if not (source / manifest).is_file():
            return None
        digest = hashlib.sha256(runtime.encode())
        for name in (manifest, *also):
            if (source / name).is_file():
                digest.update(name.encode() + b"\0" + (source / name).read_bytes())
        target = self._cache / digest.hexdigest()[:24]
        if (target / _DONE).exists():
            return target
        self._say(f"  installing {logical_id}'s {manifest} ({manager}) ...")
        self._cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._cache) as scratch:
            work = Path(scratch)
            (work / "src").mkdir()
            for name in (manifest, *also):
                if (source / name).is_file():
                    shutil.copy2(source / name, work / "src" / name)
            self._run(language, manager, work, manifest, runtime, logical_id)
            (work / "out" / _DONE).touch()
            shutil.rmtree(target, ignore_errors=True)
            (work / "out").rename(target)
        return target

    def _run(
        self, language: str, manager: str, work: Path, manifest: str, runtime: str, logical_id: str
    ) -> None:
        # aws-lambda-builders takes seconds to import; only builds pay for it.
        from aws_lambda_builders.builder import LambdaBuilder  # noqa: PLC0415
        from aws_lambda_builders.exceptions import (  # noqa: PLC0415
            LambdaBuilderError,
            WorkflowFailedError,
        )

        builder = LambdaBuilder(
            language=language, dependency_manager=manager, application_framework=None
        )
        runtimes = [runtime]
        if language == "python":
            # Hearth runs a python3.X function on its own interpreter when 3.X is not installed
            # (sandbox/zygote.find_python); the dependencies are built for that one then.
            runtimes.append(f"python{sys.version_info.major}.{sys.version_info.minor}")
        error: Exception | None = None
        for candidate in runtimes:
            try:
                builder.build(
                    str(work / "src"),
                    str(work / "out"),
                    str(work / "scratch"),
                    str(work / "src" / manifest),
                    runtime=candidate,
                )
                return
            except (WorkflowFailedError, LambdaBuilderError) as exc:
                error = exc
                if "Binary validation failed" not in str(exc):
                    break
        raise TemplateError(
            f"Resources.{logical_id}", f"installing the dependencies of {manifest} failed: {error}"
        )
