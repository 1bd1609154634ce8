"""Functions and versions: CreateFunction, Get*, List*, Update*, DeleteFunction, PublishVersion."""

from __future__ import annotations

import asyncio
from typing import Any

from hearth.api.body import optional_bool, optional_str
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
from hearth.api.shapes import function_configuration
from hearth.arns import (
    LATEST,
    ArnFormatter,
    FunctionRef,
    check_region,
    named_account,
    parse_function_ref,
    resolve_qualifier,
)
from hearth.control.code_signing import CodeSigning
from hearth.control.code_source import CodeSource
from hearth.control.functions import Functions
from hearth.control.spec import parse_config
from hearth.control.tags import check_tags
from hearth.errors import ConstraintViolation, LambdaError, invalid_parameter, validation_error
from hearth.models import FunctionVersion

FUNCTIONS = "/2015-03-31/functions"
MAX_NAME_LENGTH = 64
FUNCTION = "/2015-03-31/functions/{FunctionName}"


def function_ref(request: Request) -> FunctionRef:
    """The function a request names, with `?Qualifier=` merged in."""
    named = parse_function_ref(request.params["FunctionName"], name_limit=None)
    ref = check_region(named, request.region)
    return resolve_qualifier(ref, request.query_value("Qualifier"))


# AWS's words for a qualified name given to an operation on the whole function.
FUNCTIONS_ONLY = (
    "This operation is permitted on Lambda functions only. Aliases and versions do not support "
    "this operation. Please specify either a function name or an unqualified function ARN."
)


def unqualified(request: Request, message: str | None = None) -> str:
    """For operations on the whole function: a qualifier in the name is an error."""
    ref = check_region(parse_function_ref(request.params["FunctionName"]), request.region)
    if ref.qualifier is not None:
        raise invalid_parameter(
            message
            or f"Function name {request.params['FunctionName']} must not carry a qualifier for "
            f"the {request.operation} operation."
        )
    return ref.name


class FunctionsApi:
    def __init__(
        self,
        functions: Functions,
        arns: ArnFormatter,
        signer: CodeUrlSigner,
        code: CodeSource,
        signing: CodeSigning,
    ) -> None:
        self._functions = functions
        self._code_source = code
        self._signing = signing
        self._arns = arns
        self._signer = signer

    def register(self, router: Router) -> None:
        router.add("CreateFunction", "POST", FUNCTIONS, self.create, max_body=MAX_REQUEST_BYTES)
        router.add("ListFunctions", "GET", f"{FUNCTIONS}/", self.list)
        router.add("ListFunctions", "GET", FUNCTIONS, self.list)
        router.add("GetFunction", "GET", FUNCTION, self.get)
        router.add(
            "GetFunctionConfiguration", "GET", f"{FUNCTION}/configuration", self.get_configuration
        )
        router.add(
            "UpdateFunctionCode",
            "PUT",
            f"{FUNCTION}/code",
            self.update_code,
            max_body=MAX_REQUEST_BYTES,
        )
        router.add(
            "UpdateFunctionConfiguration",
            "PUT",
            f"{FUNCTION}/configuration",
            self.update_configuration,
        )
        router.add("DeleteFunction", "DELETE", FUNCTION, self.delete)
        router.add("PublishVersion", "POST", f"{FUNCTION}/versions", self.publish_version)
        router.add("ListVersionsByFunction", "GET", f"{FUNCTION}/versions", self.list_versions)

    def _shape(self, version: FunctionVersion, **kwargs: Any) -> dict[str, Any]:
        return function_configuration(version, self._arns, **kwargs)

    async def create(self, request: Request) -> Response:
        body = request.json()
        raw_name = body.get("FunctionName")
        if not isinstance(raw_name, str):
            raise validation_error(
                [ConstraintViolation("functionName", None, "Member must not be null")]
            )
        ref = check_region(parse_function_ref(raw_name, name_limit=None), request.region)
        account = named_account(raw_name)
        if account is not None and account != self._arns.account_id:
            # AWS's front end refuses it, with no message (recorded).
            raise LambdaError("AccessDeniedException", 403, "", error_type=None)
        if len(ref.name) > MAX_NAME_LENGTH:
            # AWS's handler, not its front end, says so: the model allows 140 characters.
            violation = ConstraintViolation(
                "functionName",
                raw_name,
                f"Member must have length less than or equal to {MAX_NAME_LENGTH}",
            )
            raise invalid_parameter(validation_error([violation]).message)
        if ref.qualifier is not None:
            raise invalid_parameter(
                "Creating a function with a qualifier in its name is not supported."
            )
        fields = parse_config(body, creating=True)
        tags = check_tags(body.get("Tags") or {})
        upload = await asyncio.to_thread(self._code_source.read, body.get("Code"))
        signing_config = optional_str(body, "CodeSigningConfigArn")
        self._signing.check_new(ref.name, signing_config, upload)
        version = await self._functions.create(
            ref.name,
            fields,
            upload.data,
            max_zipped=upload.max_zipped,
            publish=optional_bool(body, "Publish"),
            tags=tags,
        )
        if signing_config is not None:
            self._signing.attach(ref.name, signing_config)
        return json_response(self._shape(version, unqualified_arn=True), 201)

    async def get(self, request: Request) -> Response:
        ref = function_ref(request)
        record, version = self._functions.get(ref)
        shape: dict[str, Any] = {
            "Configuration": self._shape(version, arn_qualifier=ref.qualifier),
            "Code": {
                "RepositoryType": "S3",
                "Location": self._signer.url(request.base_url(), version.code_sha256_hex),
            },
        }
        if record.tags and ref.qualifier is None:
            shape["Tags"] = dict(record.tags)
        if record.reserved_concurrency is not None:
            shape["Concurrency"] = {"ReservedConcurrentExecutions": record.reserved_concurrency}
        return json_response(shape)

    async def get_configuration(self, request: Request) -> Response:
        ref = function_ref(request)
        _, version = self._functions.get(ref)
        return json_response(self._shape(version, arn_qualifier=ref.qualifier))

    async def list(self, request: Request) -> Response:
        which = request.query_value("FunctionVersion")
        if which not in (None, "ALL"):
            raise validation_error(
                [
                    ConstraintViolation(
                        "functionVersion", which, "Member must satisfy enum value set: [ALL]"
                    )
                ]
            )
        versions = (
            self._functions.list_all_versions() if which == "ALL" else self._functions.list_latest()
        )
        page, marker = paginate(versions, request, key=_version_key)
        # Listing every version names $LATEST by its qualified ARN, as ListVersions does.
        shapes = [self._list_entry(v, qualified=which == "ALL") for v in page]
        return list_response("Functions", shapes, marker)

    async def list_versions(self, request: Request) -> Response:
        name = unqualified(request)
        page, marker = paginate(self._functions.list_versions(name), request, key=_version_key)
        return list_response("Versions", [self._list_entry(v) for v in page], marker)

    def _list_entry(self, version: FunctionVersion, *, qualified: bool = True) -> dict[str, Any]:
        qualifier = LATEST if qualified and version.is_latest else None
        return self._shape(version, arn_qualifier=qualifier, with_state=False)

    async def update_code(self, request: Request) -> Response:
        name = unqualified(request)
        body = request.json()
        architectures = body.get("Architectures")
        if architectures is not None:
            architectures = tuple(
                parse_config({"Architectures": architectures}, creating=False)["architectures"]
            )
        code = {
            k: v
            for k, v in body.items()
            if k in ("ZipFile", "S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri")
        }
        upload = await asyncio.to_thread(self._code_source.read, code)
        self._signing.check_update(name, upload)
        version = await self._functions.update_code(
            name,
            upload.data,
            max_zipped=upload.max_zipped,
            publish=optional_bool(body, "Publish"),
            dry_run=optional_bool(body, "DryRun"),
            revision_id=optional_str(body, "RevisionId"),
            architectures=architectures,
        )
        return json_response(self._shape(version))

    async def update_configuration(self, request: Request) -> Response:
        name = unqualified(request)
        body = request.json()
        fields = parse_config(body, creating=False)
        version = self._functions.update_configuration(
            name, fields, optional_str(body, "RevisionId")
        )
        return json_response(self._shape(version))

    async def delete(self, request: Request) -> Response:
        await self._functions.delete(function_ref(request))
        return empty_response(204)

    async def publish_version(self, request: Request) -> Response:
        name = unqualified(request)
        body = request.json()
        description = optional_str(body, "Description") or ""
        if len(description) > 256:
            raise validation_error(
                [
                    ConstraintViolation(
                        "description",
                        description,
                        "Member must have length less than or equal to 256",
                    )
                ]
            )
        version = self._functions.publish_version(
            name,
            code_sha256=optional_str(body, "CodeSha256"),
            description=description,
            revision_id=optional_str(body, "RevisionId"),
        )
        return json_response(self._shape(version), 201)


def _version_key(version: FunctionVersion) -> str:
    # Sorts $LATEST before numbers and numbers numerically within one function.
    order = "0" * 12 if version.is_latest else version.version.rjust(12, "0")
    return f"{version.function_name}\x00{order}"
