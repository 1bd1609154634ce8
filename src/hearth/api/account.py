"""GetAccountSettings, reserved concurrency (Put/Get/DeleteFunctionConcurrency), tags."""

from __future__ import annotations

from typing import Any

from hearth.api.functions import FUNCTIONS_ONLY, unqualified
from hearth.api.http import Request, Response, Router, empty_response, json_response
from hearth.control.account import ACCOUNT_LIMITS, Account
from hearth.control.tags import Tags, check_tags
from hearth.errors import ConstraintViolation, invalid_parameter, validation_error


class AccountApi:
    def __init__(self, account: Account) -> None:
        self._account = account

    def register(self, router: Router) -> None:
        router.add("GetAccountSettings", "GET", "/2016-08-19/account-settings", self.settings)
        router.add("GetAccountSettings", "GET", "/2016-08-19/account-settings/", self.settings)
        concurrency = "/functions/{FunctionName}/concurrency"
        router.add(
            "PutFunctionConcurrency", "PUT", f"/2017-10-31{concurrency}", self.put_concurrency
        )
        router.add(
            "GetFunctionConcurrency", "GET", f"/2019-09-30{concurrency}", self.get_concurrency
        )
        router.add(
            "DeleteFunctionConcurrency",
            "DELETE",
            f"/2017-10-31{concurrency}",
            self.delete_concurrency,
        )

    async def settings(self, request: Request) -> Response:
        settings = self._account.settings()
        return json_response(
            {
                "AccountLimit": {
                    **ACCOUNT_LIMITS,
                    "ConcurrentExecutions": settings.concurrent_executions,
                    "UnreservedConcurrentExecutions": settings.unreserved_concurrent_executions,
                },
                "AccountUsage": {
                    "TotalCodeSize": settings.total_code_size,
                    "FunctionCount": settings.function_count,
                },
            }
        )

    async def put_concurrency(self, request: Request) -> Response:
        name = unqualified(request, FUNCTIONS_ONLY)
        value = request.json().get("ReservedConcurrentExecutions")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise validation_error(
                [
                    ConstraintViolation(
                        "reservedConcurrentExecutions",
                        value,
                        "Member must have value greater than or equal to 0",
                    )
                ]
            )
        stored = self._account.put_reserved_concurrency(name, value)
        return json_response({"ReservedConcurrentExecutions": stored})

    async def get_concurrency(self, request: Request) -> Response:
        value = self._account.get_reserved_concurrency(unqualified(request, FUNCTIONS_ONLY))
        shape: dict[str, Any] = {} if value is None else {"ReservedConcurrentExecutions": value}
        return json_response(shape)

    async def delete_concurrency(self, request: Request) -> Response:
        self._account.delete_reserved_concurrency(unqualified(request, FUNCTIONS_ONLY))
        return empty_response(204)


class TagsApi:
    def __init__(self, tags: Tags) -> None:
        self._tags = tags

    def register(self, router: Router) -> None:
        path = "/2017-03-31/tags/{Resource}"
        router.add("TagResource", "POST", path, self.tag)
        router.add("UntagResource", "DELETE", path, self.untag)
        router.add("ListTags", "GET", path, self.list)

    async def tag(self, request: Request) -> Response:
        tags = check_tags(request.json().get("Tags"))
        if not tags:  # AWS's words for an empty map (recorded)
            raise invalid_parameter("An error occurred and the request cannot be processed.")
        self._tags.tag(request.params["Resource"], tags)
        return empty_response(204)

    async def untag(self, request: Request) -> Response:
        keys = request.query.get("tagKeys", [])
        if not keys:
            raise validation_error(
                [ConstraintViolation("tagKeys", None, "Member must not be null")]
            )
        self._tags.untag(request.params["Resource"], keys)
        return empty_response(204)

    async def list(self, request: Request) -> Response:
        return json_response({"Tags": self._tags.list(request.params["Resource"])})
