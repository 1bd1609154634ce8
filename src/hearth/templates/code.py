"""A function's or layer's code as zip bytes: a directory zipped deterministically, or a zip."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from hearth.templates.errors import TemplateError

_SKIPPED = {"__pycache__", ".git", ".aws-sam", ".hearth", "node_modules/.cache"}


def zip_code(path: Path, logical_id: str, dependencies: Path | None = None) -> bytes:
    """The zip for ``path`` (with the installed ``dependencies`` beside the code, the code's own
    files winning): the same files give the same bytes, so the same CodeSha256, so an unchanged
    function is not updated."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise TemplateError(
                f"Resources.{logical_id}", f"{path} is neither a directory nor a zip"
            )
        return path.read_bytes()
    files: dict[str, Path] = {}
    for root in [dependencies, path] if dependencies is not None else [path]:
        for file in root.rglob("*"):
            parts = file.relative_to(root).parts
            if not file.is_file() or any(part in _SKIPPED for part in parts):
                continue
            if file.suffix == ".pyc" or file.name == ".hearth-complete":
                continue
            files["/".join(parts)] = file
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, file in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(file, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()
