"""Queues, tables, buckets, topics and subscriptions, rules, schedules (the companion services
on Hearth's port, or wherever the clients point) and log groups (Hearth's own Logs), for
`hearth up`. Same contract as deployer.Deployer: one operation each,
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
    """The companion services' resources through boto3 clients made by ``clients(service)``."""

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

    # S3 --------------------------------------------------------------------------------

    def put_bucket(self, name: str, notifications: dict[str, Any]) -> dict[str, str]:
        """Create the bucket (one by that name is kept) and set its notification
        configuration (PutBucketNotificationConfiguration's shape; {} clears it)."""
        s3 = self._client("s3")
        with _translated():
            try:
                s3.head_bucket(Bucket=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise
                s3.create_bucket(Bucket=name)
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration=notifications
            )
            return {"BucketName": name}

    def delete_bucket(self, name: str) -> None:
        """Empty the bucket, then delete it (a template's removal of a bucket is meant)."""
        s3 = self._client("s3")
        with _translated():
            try:
                for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
                    found = [
                        {"Key": item["Key"], "VersionId": item["VersionId"]}
                        for item in page.get("Versions", []) + page.get("DeleteMarkers", [])
                    ]
                    if found:
                        s3.delete_objects(Bucket=name, Delete={"Objects": found, "Quiet": True})
                s3.delete_bucket(Bucket=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                    raise

    # SNS -------------------------------------------------------------------------------

    def put_topic(self, name: str, attributes: dict[str, str]) -> dict[str, str]:
        """Create the topic (CreateTopic is idempotent by name), then set ``attributes`` one
        by one: CreateTopic refuses a name that exists with other attributes."""
        sns = self._client("sns")
        fixed = {k: v for k, v in attributes.items() if k == "FifoTopic"}
        with _translated():
            arn = str(sns.create_topic(Name=name, Attributes=fixed)["TopicArn"])
            for key, value in attributes.items():
                if key not in fixed:
                    sns.set_topic_attributes(TopicArn=arn, AttributeName=key, AttributeValue=value)
            return {"TopicArn": arn, "TopicName": name}

    def delete_topic(self, arn: str) -> None:
        sns = self._client("sns")
        with _translated():
            try:
                sns.delete_topic(TopicArn=arn)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NotFound", *_GONE):
                    raise

    def put_subscription(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: dict[str, str]
    ) -> str:
        """Subscribe (SNS gives back the same subscription for the same endpoint); its ARN."""
        sns = self._client("sns")
        with _translated():
            found = sns.subscribe(
                TopicArn=topic_arn,
                Protocol=protocol,
                Endpoint=endpoint,
                ReturnSubscriptionArn=True,
            )
            arn = str(found["SubscriptionArn"])
            # Set one by one, as SetSubscriptionAttributes takes them, so a removed filter
            # policy is removed too.
            for key in ("FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                        "RedrivePolicy"):  # fmt: skip
                if key in attributes:
                    sns.set_subscription_attributes(
                        SubscriptionArn=arn, AttributeName=key, AttributeValue=attributes[key]
                    )
            return arn

    def delete_subscription(self, arn: str) -> None:
        sns = self._client("sns")
        with _translated():
            try:
                sns.unsubscribe(SubscriptionArn=arn)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in ("NotFound", *_GONE):
                    raise

    # EventBridge, Scheduler ----------------------------------------------------------------

    def put_rule(self, params: dict[str, Any], targets: list[dict[str, Any]]) -> dict[str, str]:
        """PutRule (create or update), then the targets: the ones not given are removed."""
        events = self._client("events")
        bus = {"EventBusName": params["EventBusName"]} if params.get("EventBusName") else {}
        with _translated():
            arn = str(events.put_rule(**params)["RuleArn"])
            wanted = {str(target["Id"]) for target in targets}
            listed = events.list_targets_by_rule(Rule=params["Name"], **bus).get("Targets", [])
            stale = [str(t["Id"]) for t in listed if t["Id"] not in wanted]
            if stale:
                events.remove_targets(Rule=params["Name"], Ids=stale, **bus)
            if targets:
                events.put_targets(Rule=params["Name"], Targets=targets, **bus)
            return {"Arn": arn, "Name": str(params["Name"])}

    def delete_rule(self, name: str, bus: str | None) -> None:
        events = self._client("events")
        where = {"EventBusName": bus} if bus else {}
        with _translated():
            try:
                listed = events.list_targets_by_rule(Rule=name, **where).get("Targets", [])
                if listed:
                    events.remove_targets(Rule=name, Ids=[t["Id"] for t in listed], **where)
                events.delete_rule(Name=name, **where)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise

    def put_event_bus(self, name: str) -> dict[str, str]:
        """Create the bus (one by that name is kept); returns Arn, Name."""
        events = self._client("events")
        with _translated():
            try:
                arn = events.describe_event_bus(Name=name)["Arn"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
                arn = events.create_event_bus(Name=name)["EventBusArn"]
            return {"Arn": str(arn), "Name": name}

    def delete_event_bus(self, name: str) -> None:
        events = self._client("events")
        with _translated():
            try:
                events.delete_event_bus(Name=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise

    def put_schedule(self, params: dict[str, Any]) -> dict[str, str]:
        """CreateSchedule, or UpdateSchedule of the one by that name (and group)."""
        scheduler = self._client("scheduler")
        where = {"Name": params["Name"]}
        if params.get("GroupName"):
            where["GroupName"] = params["GroupName"]
        with _translated():
            try:
                scheduler.get_schedule(**where)
                arn = scheduler.update_schedule(**params)["ScheduleArn"]
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
                arn = scheduler.create_schedule(**params)["ScheduleArn"]
            return {"Arn": str(arn)}

    def delete_schedule(self, name: str, group: str | None) -> None:
        scheduler = self._client("scheduler")
        where = {"Name": name, **({"GroupName": group} if group else {})}
        with _translated():
            try:
                scheduler.delete_schedule(**where)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise

    # CloudWatch Logs (Hearth's own) ------------------------------------------------------

    def put_log_group(self, name: str, retention_days: int | None) -> dict[str, str]:
        logs = self._client("logs")
        with _translated():
            try:
                logs.create_log_group(logGroupName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ResourceAlreadyExistsException":
                    raise
            if retention_days is None:
                logs.delete_retention_policy(logGroupName=name)
            else:
                logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
            found = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
            arn = next((g["arn"] for g in found if g["logGroupName"] == name), "")
            return {"Arn": str(arn)}

    def put_subscription_filter(self, params: dict[str, Any]) -> None:
        with _translated():
            self._client("logs").put_subscription_filter(**params)

    def delete_subscription_filter(self, group: str, name: str) -> None:
        with _translated():
            try:
                self._client("logs").delete_subscription_filter(logGroupName=group, filterName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise

    def delete_log_group(self, name: str) -> None:
        logs = self._client("logs")
        with _translated():
            try:
                logs.delete_log_group(logGroupName=name)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _GONE:
                    raise
