"""Code signing configs, which functions use them, and the check of code deployed to those
functions.

What "signed" means on Hearth (a documented divergence: Hearth cannot verify AWS Signer's
signatures): code is signed by a signing profile version when it was read from S3 and the
object carries the user metadata `hearth-signing-profile-version-arn` naming that profile
version (`x-amz-meta-hearth-signing-profile-version-arn`). It is trusted when that profile
version is one of the config's AllowedPublishers. A ZipFile upload is never signed. Untrusted
code is refused under `UntrustedArtifactOnDeployment: Enforce` with AWS's
CodeVerificationFailedException, and accepted with a logged warning under `Warn`.

The configs live in a `Documents` map (store/documents.py); a function's config is kept in its
record (`settings["code-signing"][""]`), so it goes with the function.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import string
from collections.abc import Mapping
from typing import Any

from hearth.arns import ArnFormatter
from hearth.control.code_source import CodeUpload
from hearth.errors import LambdaError, conflict, function_not_found
from hearth.models import aws_timestamp
from hearth.store.documents import Documents
from hearth.store.registry import Registry

logger = logging.getLogger("hearth.code_signing")

CODE_SIGNING = "code-signing"
SIGNATURE_METADATA = "hearth-signing-profile-version-arn"
POLICIES = ("Warn", "Enforce")
_ID_ALPHABET = string.ascii_lowercase + string.digits


def config_not_found(arn: str) -> LambdaError:
    # AWS sends this one without a "Type" key (recorded).
    return LambdaError(
        "ResourceNotFoundException",
        404,
        f"The Lambda code signing configuration {arn} can not be found.",
        error_type=None,
    )


def attached_config_not_found(arn: str) -> LambdaError:
    return LambdaError(
        "CodeSigningConfigNotFoundException",
        404,
        "The code signing configuration cannot be found. Check that the provided "
        f"configuration is not deleted: {arn}.",
    )


def verification_failed(function_arn: str) -> LambdaError:
    return LambdaError(
        "CodeVerificationFailedException",
        400,
        "Lambda cannot deploy the function. The function or layer might be signed using a "
        f"signature that the client is not configured to accept. Check the provided signature "
        f"for {function_arn}.",
    )


class CodeSigning:
    def __init__(self, configs: Documents, registry: Registry, arns: ArnFormatter) -> None:
        self._configs = configs
        self._registry = registry
        self._arns = arns

    def _arn(self, config_id: str) -> str:
        return (
            f"arn:aws:lambda:{self._arns.region}:{self._arns.account_id}:"
            f"code-signing-config:{config_id}"
        )

    # Configs -----------------------------------------------------------------------------
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        config_id = "csc-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))
        config = {
            "CodeSigningConfigId": config_id,
            "CodeSigningConfigArn": self._arn(config_id),
            "Description": str(body.get("Description") or ""),
            "AllowedPublishers": _publishers(body.get("AllowedPublishers")),
            "CodeSigningPolicies": _policies(body.get("CodeSigningPolicies"), None),
            "LastModified": aws_timestamp(),
        }
        self._configs.put(config_id, config)
        return config

    def get(self, arn: str) -> dict[str, Any]:
        found = self._configs.get(self._id_of(arn))
        if found is None:
            raise config_not_found(arn)
        return found

    def update(self, arn: str, body: Mapping[str, Any]) -> dict[str, Any]:
        config = self.get(arn)
        changed = dict(config)
        if "Description" in body:
            changed["Description"] = str(body.get("Description") or "")
        if "AllowedPublishers" in body:
            changed["AllowedPublishers"] = _publishers(body["AllowedPublishers"])
        if "CodeSigningPolicies" in body:
            changed["CodeSigningPolicies"] = _policies(
                body["CodeSigningPolicies"], config["CodeSigningPolicies"]
            )
        if changed != config:
            changed["LastModified"] = aws_timestamp()
            self._configs.put(config["CodeSigningConfigId"], changed)
        return changed

    def delete(self, arn: str) -> None:
        config = self.get(arn)
        if self.functions_using(arn):
            raise conflict(
                f"The code signing configuration {arn} is in use by one or more functions. "
                "Remove it from those functions first."
            )
        self._configs.delete(config["CodeSigningConfigId"])

    def configs(self) -> list[dict[str, Any]]:
        return self._configs.list()

    def functions_using(self, arn: str) -> list[str]:
        self.get(arn)
        with self._registry.transaction() as tx:
            return [
                self._arns.function(record.name)
                for record in tx.list_functions()
                if _attached(record.settings) == arn
            ]

    # A function's config ----------------------------------------------------------------
    def attach(self, name: str, arn: str) -> None:
        # The config is looked up first: AWS names a missing config even when the function
        # is missing too (recorded).
        if self._configs.get(self._id_of(arn)) is None:
            raise attached_config_not_found(arn)
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            settings = {**record.settings, CODE_SIGNING: {"": {"CodeSigningConfigArn": arn}}}
            tx.put_function(dataclasses.replace(record, settings=settings))

    def detach(self, name: str) -> None:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            if CODE_SIGNING in record.settings:
                settings = {k: v for k, v in record.settings.items() if k != CODE_SIGNING}
                tx.put_function(dataclasses.replace(record, settings=settings))

    def of_function(self, name: str) -> str | None:
        with self._registry.transaction() as tx:
            record = tx.get_function(name)
            if record is None:
                raise function_not_found(self._arns.function(name))
            return _attached(record.settings)

    # Deployment check -------------------------------------------------------------------
    def check_new(self, name: str, arn: str | None, upload: CodeUpload) -> None:
        """CreateFunction with CodeSigningConfigArn: that config must exist; check the code."""
        if arn is None:
            return
        config = self._configs.get(self._id_of(arn))
        if config is None:
            raise attached_config_not_found(arn)
        self._verify(config, name, upload)

    def check_update(self, name: str, upload: CodeUpload) -> None:
        """UpdateFunctionCode: the function's config, if it has one, judges the new code."""
        arn = self.of_function(name)
        if arn is None:
            return
        config = self._configs.get(self._id_of(arn))
        if config is not None:
            self._verify(config, name, upload)

    def _verify(self, config: Mapping[str, Any], name: str, upload: CodeUpload) -> None:
        trusted = config["AllowedPublishers"]["SigningProfileVersionArns"]
        signer = upload.metadata.get(SIGNATURE_METADATA)
        if signer is not None and signer in trusted:
            return
        policy = config["CodeSigningPolicies"]["UntrustedArtifactOnDeployment"]
        function_arn = self._arns.function(name)
        if policy == "Enforce":
            raise verification_failed(function_arn)
        logger.warning(
            "code signing: untrusted code deployed to %s (config %s, policy Warn): %s",
            function_arn,
            config["CodeSigningConfigArn"],
            "unsigned" if signer is None else f"signed by {signer}, not an allowed publisher",
        )

    def _id_of(self, arn: str) -> str:
        prefix = f"arn:aws:lambda:{self._arns.region}:{self._arns.account_id}:code-signing-config:"
        return arn[len(prefix) :] if arn.startswith(prefix) else ""


def _attached(settings: Mapping[str, Any]) -> str | None:
    found = settings.get(CODE_SIGNING, {}).get("")
    return None if found is None else str(found["CodeSigningConfigArn"])


def _publishers(value: Any) -> dict[str, list[str]]:
    # The model check has already required the list (1 to 20 ARNs).
    arns = value.get("SigningProfileVersionArns") if isinstance(value, Mapping) else None
    return {"SigningProfileVersionArns": [str(a) for a in arns or ()]}


def _policies(value: Any, current: Mapping[str, str] | None) -> dict[str, str]:
    policy = value.get("UntrustedArtifactOnDeployment") if isinstance(value, Mapping) else None
    if policy is None:
        policy = current["UntrustedArtifactOnDeployment"] if current else "Warn"
    return {"UntrustedArtifactOnDeployment": str(policy)}
