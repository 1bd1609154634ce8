"""The three workloads every tool runs: each handler returns {"ok": true} for any event.

- python-trivial: a handler with no imports;
- python-heavy: a handler whose init imports a generated package of numpy's size (about 140
  modules, byte-compiled, ~0.1 s to import here, as `import numpy` is), deterministic, so the
  figure measures how a tool pays for a heavy init without shipping a 70 MB wheel per function;
- node: an async Node.js handler.
"""

from __future__ import annotations

import io
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# numpy 2.x imports ~140 modules; the generated tree has as many, each with enough code that
# the whole import costs about what numpy's does on the same machine (quoted in the results).
HEAVY_PACKAGES = 10
# The Python functions run on the benchmark's own interpreter version everywhere (Hearth picks
# the matching interpreter for the runtime; the peers run in a venv of this interpreter), so
# the generated .pyc files are valid for all of them.
PYTHON_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
HEAVY_MODULES = 14
HEAVY_FUNCTIONS = 200


@dataclass(frozen=True)
class Workload:
    name: str
    runtime: str  # the Lambda runtime identifier
    handler: str  # module.function, as Lambda takes it
    language: str  # "python" or "node"
    files: dict[str, bytes] = field(default_factory=dict)

    def write(self, directory: Path) -> Path:
        for relative, content in self.files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        return directory

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for relative in sorted(self.files):
                archive.writestr(
                    zipfile.ZipInfo(relative, (2020, 1, 1, 0, 0, 0)), self.files[relative]
                )
        return buffer.getvalue()


def python_trivial() -> Workload:
    source = b"def handler(event, context):\n    return {'ok': True}\n"
    return Workload("python-trivial", PYTHON_RUNTIME, "app.handler", "python", {"app.py": source})


def node() -> Workload:
    source = b"exports.handler = async () => ({ ok: true });\n"
    return Workload("node", "nodejs20.x", "index.handler", "node", {"index.js": source})


def _heavy_module(package: int, module: int) -> str:
    lines = [
        f'"""Generated module {package}.{module}: code to import, as a real library has."""',
        "",
    ]
    lines.append(f"TABLE = {{i: (i * {module + 3}) % 251 for i in range(1500)}}")
    for number in range(HEAVY_FUNCTIONS):
        lines += [
            "",
            f"def f{number}(x, y=1, *args, **kwargs):",
            f'    """Function {number}."""',
            f"    total = x * {number} + y",
            "    for item in args:",
            "        total += item if isinstance(item, int) else len(str(item))",
            f"    return total + kwargs.get('bias', {number % 7})",
        ]
    lines += ["", f"class Thing{module}:", '    """A class with methods."""']
    for number in range(20):
        lines += ["", f"    def m{number}(self, value):", f"        return value + {number}"]
    return "\n".join(lines) + "\n"


def python_heavy(python: str | None = None, runtime: str = PYTHON_RUNTIME) -> Workload:
    """The generated tree, byte-compiled by the interpreter the functions run on (`python`
    for another `runtime` than this interpreter's)."""
    sources: dict[str, str] = {}
    imports = []
    for package in range(HEAVY_PACKAGES):
        names = [f"m{module}" for module in range(HEAVY_MODULES)]
        sources[f"heavy/p{package}/__init__.py"] = "from . import " + ", ".join(names) + "\n"
        for module in range(HEAVY_MODULES):
            sources[f"heavy/p{package}/m{module}.py"] = _heavy_module(package, module)
        imports.append(f"p{package}")
    sources["heavy/__init__.py"] = "from . import " + ", ".join(imports) + "\n"
    sources["app.py"] = (
        "import heavy  # the heavy init\n\n\ndef handler(event, context):\n    return {'ok': True}\n"
    )
    handler = sources.pop("app.py").encode()
    files = {"app.py": handler, **_compiled(sources, python)}
    return Workload("python-heavy", runtime, "app.handler", "python", files)


def _compiled(sources: dict[str, str], python: str | None = None) -> dict[str, bytes]:
    """Sourceless .pyc files (`m0.pyc` beside where `m0.py` would be), as a wheel built for
    one interpreter can ship: smaller zips, and nothing to recompile whatever mtimes an unzip
    gives them. The magic number is the running interpreter's: see PYTHON_RUNTIME."""
    compiled = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, text in sources.items():
            source = Path(scratch) / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_text(text)
        if python is not None:  # another interpreter compiles, for its own magic number
            subprocess.run(
                [python, "-c", _COMPILE_ALL, scratch, *sources],
                check=True,
                capture_output=True,
            )
        for name in sources:
            source = Path(scratch) / name
            target = source.with_suffix(".pyc")
            if python is None:
                py_compile.compile(str(source), cfile=str(target), dfile=name, doraise=True)
            compiled[str(Path(name).with_suffix(".pyc"))] = target.read_bytes()
    return compiled


_COMPILE_ALL = """
import py_compile, sys
root = sys.argv[1]
for name in sys.argv[2:]:
    source = root + "/" + name
    py_compile.compile(source, cfile=source[:-3] + ".pyc", dfile=name, doraise=True)
"""


def all_workloads() -> list[Workload]:
    return [python_trivial(), python_heavy(), node()]


SNAPSTART_RUNTIME = "python3.12"  # AWS takes SnapStart for python3.12 and later only


def for_snapstart(workload: Workload) -> Workload:
    """The same Python workload on a runtime that takes SnapStart (recompiled for it when
    this interpreter is older)."""
    if sys.version_info >= (3, 12):
        return workload
    from hearth.sandbox.zygote import find_python

    if workload.name == "python-heavy":
        return python_heavy(find_python(SNAPSTART_RUNTIME), SNAPSTART_RUNTIME)
    return Workload(
        workload.name, SNAPSTART_RUNTIME, workload.handler, workload.language, workload.files
    )
