"""Queues and tables in the companion services (SQS, DynamoDB on Hearth's port, or wherever the
clients point), for `hearth up`. Same contract as deployer.Deployer: one operation each,
DeployError on refusal, deleting what is gone is not an error."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from hearth.templates.boto_deployer import _translated

_GONE = {
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "ResourceNotFoundException",
}


class ServiceDeployer:
    """SQS queues and DynamoDB tables through boto3 clients made by ``clients(service)``."""

    def __init__(self, clients: Callable[[str], Any]) -> None:
        self._clients = clients
        self._made: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self._clients(service)
        return self._made[service]

    def put_queue(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        """Create the queue, or set the attributes of the one by that name; URL and ARN."""
        sqs = self._client("sqs")
        with _translated():
            try:
                url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
                changeable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
                if changeable:
                    sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
                url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            return {"QueueUrl": url, "Arn": found["Attributes"]["QueueArn"], "QueueName": name}

    def delete_queue(self, url: str) -> None:
        sqs = self._client("sqs")
        with _translated():
            try:
                sqs.delete_queue(QueueUrl=url)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise

    def put_table(self, params: dict[str, Any]) -> dict[str, str]:
        """Create the table (a table by that name is kept as it is); Arn and StreamArn."""
        dynamodb = self._client("dynamodb")
        with _translated():
            try:
                table = dynamodb.describe_table(TableName=params["TableName"])["Table"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
                table = dynamodb.create_table(**params)["TableDescription"]
            found = {"Arn": str(table["TableArn"])}
            if table.get("LatestStreamArn"):
                found["StreamArn"] = str(table["LatestStreamArn"])
            return found

    def delete_table(self, name: str) -> None:
        dynamodb = self._client("dynamodb")
        with _translated():
            try:
                dynamodb.delete_table(TableName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
