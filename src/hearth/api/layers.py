"""Layers: PublishLayerVersion, Get/List/DeleteLayerVersion(s), GetLayerVersionByArn, ListLayers."""

from __future__ import annotations

import asyncio
from typing import Any

from hearth.api.body import optional_str, str_list, violation
from hearth.api.code_urls import CodeUrlSigner
from hearth.api.http import (
    MAX_REQUEST_BYTES,
    Request,
    Response,
    Router,
    empty_response,
    json_response,
)
from hearth.api.pagination import list_response, paginate
from hearth.api.shapes import layer_version_detail, layer_version_item
from hearth.arns import ArnFormatter, parse_layer_name
from hearth.control.code_source import CodeSource
from hearth.control.layers import Layers
from hearth.errors import invalid_parameter
from hearth.models import LayerRecord, LayerVersion

LAYERS = "/2018-10-31/layers"
VERSIONS = "/2018-10-31/layers/{LayerName}/versions"
VERSION = "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}"

# AWS's model caps MaxItems at 50 for both layer List operations (and pages by 50).
LAYER_PAGE_SIZE = 50
# Larger than any version number: turns "newest first" into an ascending pagination key.
_VERSION_KEY_BASE = 10**15


def _version_number(request: Request) -> int:
    raw = request.params["VersionNumber"]
    # VersionNumber is a `long` in AWS's model: anything else fails to deserialize.
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits.isascii() or not digits.isdigit():
        raise violation("VersionNumber", raw, "Member must be a number")
    number = int(raw)
    if number < 1:
        # A number, but none AWS ever gives a version (recorded for -1 and 0).
        raise invalid_parameter("Layer Version Cannot be less than 1")
    return number


def _filters(request: Request) -> tuple[str | None, str | None]:
    """The CompatibleRuntime / CompatibleArchitecture filters; an empty value filters nothing."""
    runtime = request.query_value("CompatibleRuntime") or None
    return runtime, request.query_value("CompatibleArchitecture") or None


def _check_max_items(request: Request) -> None:
    raw = request.query_value("MaxItems")
    if raw is not None and raw.isdigit() and int(raw) > LAYER_PAGE_SIZE:
        raise violation(
            "MaxItems", raw, f"Member must have value less than or equal to {LAYER_PAGE_SIZE}"
        )


def _version_key(version: LayerVersion) -> str:
    return f"{_VERSION_KEY_BASE - version.version:016d}"


def _layer_key(entry: tuple[LayerRecord, LayerVersion]) -> str:
    return entry[0].name


class LayersApi:
    def __init__(
        self, layers: Layers, arns: ArnFormatter, signer: CodeUrlSigner, code: CodeSource
    ) -> None:
        self._code_source = code
        self._layers = layers
        self._arns = arns
        self._signer = signer

    def register(self, router: Router) -> None:
        router.add(
            "PublishLayerVersion", "POST", VERSIONS, self.publish, max_body=MAX_REQUEST_BYTES
        )
        router.add("ListLayerVersions", "GET", VERSIONS, self.list_versions)
        router.add("GetLayerVersion", "GET", VERSION, self.get)
        router.add("DeleteLayerVersion", "DELETE", VERSION, self.delete)
        # Same method and path as ListLayers, told apart by `?find=LayerVersion`.
        router.add(
            "GetLayerVersionByArn",
            "GET",
            LAYERS,
            self.get_by_arn,
            query=[("find", "LayerVersion")],
        )
        router.add("ListLayers", "GET", LAYERS, self.list_layers)

    def _detail(self, request: Request, version: LayerVersion) -> dict[str, Any]:
        location = self._signer.url(request.base_url(), version.code_sha256_hex)
        return layer_version_detail(version, self._arns, location)

    async def publish(self, request: Request) -> Response:
        name = parse_layer_name(request.params["LayerName"])
        body = request.json()
        content = body.get("Content")
        if content is None:
            raise violation("Content", None, "Member must not be null")
        # Same sources as function code: ZipFile (base64) or an S3 object.
        upload = await asyncio.to_thread(self._code_source.read, content)
        version = await self._layers.publish(
            name,
            upload.data,
            max_zipped=upload.max_zipped,
            description=optional_str(body, "Description") or "",
            compatible_runtimes=str_list(body, "CompatibleRuntimes"),
            compatible_architectures=str_list(body, "CompatibleArchitectures"),
            license_info=optional_str(body, "LicenseInfo"),
            named_lists=tuple(
                key
                for key in ("CompatibleRuntimes", "CompatibleArchitectures")
                if body.get(key) is not None
            ),
        )
        return json_response(self._detail(request, version), 201)

    async def get(self, request: Request) -> Response:
        name = parse_layer_name(request.params["LayerName"])
        version = self._layers.get(name, _version_number(request))
        return json_response(self._detail(request, version))

    async def get_by_arn(self, request: Request) -> Response:
        arn = request.query_value("Arn")
        if not arn:
            raise violation("Arn", None, "Member must not be null")
        return json_response(self._detail(request, self._layers.get_by_arn(arn)))

    async def delete(self, request: Request) -> Response:
        name = parse_layer_name(request.params["LayerName"])
        await self._layers.delete(name, _version_number(request))
        return empty_response(204)

    async def list_versions(self, request: Request) -> Response:
        name = parse_layer_name(request.params["LayerName"])
        _check_max_items(request)
        versions = self._layers.list_versions(name, *_filters(request))
        page, marker = paginate(versions, request, key=_version_key, default=LAYER_PAGE_SIZE)
        items = [layer_version_item(v, self._arns) for v in page]
        return list_response("LayerVersions", items, marker)

    async def list_layers(self, request: Request) -> Response:
        _check_max_items(request)
        layers = self._layers.list_layers(*_filters(request))
        page, marker = paginate(layers, request, key=_layer_key, default=LAYER_PAGE_SIZE)
        items = [
            {
                "LayerName": record.name,
                "LayerArn": self._arns.layer(record.name),
                "LatestMatchingVersion": layer_version_item(latest, self._arns),
            }
            for record, latest in page
        ]
        return list_response("Layers", items, marker)
