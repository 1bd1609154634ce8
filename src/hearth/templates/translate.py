"""SAM to CloudFormation with AWS's own translator (aws-sam-translator), keeping local code paths.

The translator accepts only S3 locations for code, so local paths (a directory, a zip, or a
``sam build`` output) are swapped for placeholders before it runs and looked up again after.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hearth.templates.errors import TemplateError

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
PLACEHOLDER_BUCKET = "hearth-local-code"

# SAM resource type → the property that names its code.
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
}


@dataclass(frozen=True)
class Translated:
    """A CloudFormation template, and where each function's or layer's code is on disk."""

    template: dict[str, Any]
    code_paths: dict[str, Path] = field(default_factory=dict)


def _is_sam(template: dict[str, Any]) -> bool:
    transform = template.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def _local_code(base: Path, logical_id: str, uri: str) -> Path:
    built = base / ".aws-sam" / "build" / logical_id
    # `sam build` output wins, as `sam local` prefers it.
    path = built if built.is_dir() else (base / uri)
    if not path.exists():
        raise TemplateError(
            f"Resources.{logical_id}.Properties", f"code location {uri!r} does not exist"
        )
    return path.resolve()


def _swap_code(template: dict[str, Any], base: Path) -> dict[str, Path]:
    """Replace local code locations with placeholders in ``template`` (a copy), return them."""
    paths: dict[str, Path] = {}
    globals_ = template.get("Globals")
    function_globals = globals_.get("Function", {}) if isinstance(globals_, dict) else {}
    default_uri = function_globals.get("CodeUri") if isinstance(function_globals, dict) else None
    for logical_id, resource in template["Resources"].items():
        prop = _CODE_PROPERTIES.get(resource["Type"])
        if prop is None:
            continue
        properties = resource.setdefault("Properties", {})
        if not isinstance(properties, dict):
            raise TemplateError(f"Resources.{logical_id}.Properties", "must be a mapping")
        uri = properties.get(prop, default_uri if prop == "CodeUri" else None)
        if "InlineCode" in properties or "ImageUri" in properties:
            continue
        if uri is None:
            uri = "."  # sam build and sam local take the template's own directory
        if isinstance(uri, str) and not uri.startswith("s3://"):
            paths[logical_id] = _local_code(base, logical_id, uri)
            properties[prop] = f"s3://{PLACEHOLDER_BUCKET}/{logical_id}"
    return paths


def _plain_code_paths(template: dict[str, Any], base: Path) -> dict[str, Path]:
    """Local paths in plain CloudFormation (``Code: ./dir``, as `aws cloudformation package`
    takes them)."""
    paths: dict[str, Path] = {}
    for logical_id, resource in template["Resources"].items():
        properties = resource.get("Properties")
        if not isinstance(properties, dict):
            continue
        key = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}.get(
            resource["Type"]
        )
        if key and isinstance(properties.get(key), str):
            paths[logical_id] = _local_code(base, logical_id, properties[key])
            properties[key] = {"S3Bucket": PLACEHOLDER_BUCKET, "S3Key": logical_id}
    return paths


def translate(
    template: dict[str, Any], base: Path, parameters: dict[str, Any], region: str
) -> Translated:
    """``template`` as CloudFormation; SAM translated, plain CloudFormation passed through."""
    working = copy.deepcopy(template)
    paths = _swap_code(working, base) if _is_sam(working) else {}
    if _is_sam(working):
        working = _run_translator(working, parameters, region)
    paths.update(_plain_code_paths(working, base))
    return Translated(working, paths)


def _run_translator(template: dict[str, Any], parameters: dict[str, Any], region: str) -> Any:
    # samtranslator takes seconds to import: only SAM templates pay for it.
    import boto3  # noqa: PLC0415
    from samtranslator.model.exceptions import (  # noqa: PLC0415
        ExceptionWithMessage,
        InvalidDocumentException,
    )
    from samtranslator.parser.parser import Parser  # noqa: PLC0415
    from samtranslator.translator.translator import Translator  # noqa: PLC0415

    # The translator logs "unpublished metrics" at exit: its CloudWatch metrics are AWS's own.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    session = boto3.session.Session(region_name=region)
    translator = Translator(None, Parser(), boto_session=session)
    try:
        # Managed policy names stay names: IAM is recorded, not enforced.
        return translator.translate(
            template, parameter_values=dict(parameters), get_managed_policy_map=dict
        )
    except InvalidDocumentException as exc:
        messages = [_cause(cause) for cause in exc.causes]
        raise TemplateError("", "; ".join(messages)) from None
    except ExceptionWithMessage as exc:
        raise TemplateError("", exc.message) from None


def _cause(cause: Any) -> str:
    logical_id = getattr(cause, "_logical_id", None) or getattr(cause, "logical_id", None)
    message = str(getattr(cause, "message", cause))
    return (
        f"Resources.{logical_id}: {message}"
        if logical_id and logical_id not in message
        else message
    )
