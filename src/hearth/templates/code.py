"""A function's or layer's code as zip bytes: a directory zipped deterministically, or a zip."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from hearth.templates.errors import TemplateError

_SKIPPED = {"__pycache__", ".git", ".aws-sam", ".hearth", "node_modules/.cache"}


def zip_code(path: Path, logical_id: str) -> bytes:
    """The zip for ``path``: the same files give the same bytes, so the same CodeSha256, so an
    unchanged function is not updated."""
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise TemplateError(
                f"Resources.{logical_id}", f"{path} is neither a directory nor a zip"
            )
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            parts = file.relative_to(path).parts
            if any(part in _SKIPPED for part in parts) or file.suffix == ".pyc":
                continue
            info = zipfile.ZipInfo("/".join(parts), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if os.access(file, os.X_OK) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()
