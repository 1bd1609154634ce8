"""The recorded cases of event source mapping errors and of the account's concurrency limits.

The mappings' sources are ARNs no call reads (the errors come first), and the limits are the
server's own, read from GetAccountSettings (the recordings hide AWS's behind placeholders).
"""

from __future__ import annotations

from tests.integration.parity.more_cases import tag_lifecycle
from tests.integration.parity.replay import Call, Case, Create, Ref, SqsQueue

_UNKNOWN = {"UUID": "00000000-0000-4000-8000-000000000000"}
_QUEUE = "arn:aws:sqs:{region}:{account}:parity-{tag}-q"
_STREAM = "arn:aws:dynamodb:{region}:{account}:table/parity-{tag}/stream/2024-01-01T00:00:00.000"
_KINESIS = "arn:aws:kinesis:{region}:{account}:stream/parity-{tag}"
_SETTINGS = Call("settings", "get_account_settings")  # not recorded: the limits to go past
_LIMIT = ("AccountLimit", "ConcurrentExecutions")
_UNRESERVED = ("AccountLimit", "UnreservedConcurrentExecutions")
# AWS keeps this many executions unreserved (its documented minimum, recorded in messages).
_MIN_UNRESERVED = 100


def _esm(key: str, source: str, fn: str = "{fn}", **params: object) -> Call:
    # Unvalidated: botocore would refuse the enum values AWS's own check answers.
    sent = {"FunctionName": fn, "EventSourceArn": source, **params}
    return Call(key, "create_event_source_mapping", sent, validate=False)


def _starting_positions(source: str) -> list[Call]:
    return [
        _esm("no_starting_position", source),
        _esm("invalid_starting_position", source, StartingPosition="invalid"),
    ]


_ESM = "TestLambdaEventSourceMappings"

MAPPING_CASES = [
    Case(
        f"{_ESM}::test_event_source_mapping_exceptions",
        [
            Create(None),
            Call("get_unknown_uuid", "get_event_source_mapping", _UNKNOWN),
            Call("delete_unknown_uuid", "delete_event_source_mapping", _UNKNOWN),
            Call("update_unknown_uuid", "update_event_source_mapping", _UNKNOWN),
            Call(
                "create_no_event_source_arn",
                "create_event_source_mapping",
                {"FunctionName": "{fn}"},
            ),
            _esm("create_unknown_params", _QUEUE, fn="{fn}-doesnotexist"),
            _esm(
                "destination_config_failure",
                _QUEUE,
                DestinationConfig={"OnFailure": {"Destination": _QUEUE + "-dlq"}},
            ),
        ],
    ),
    Case(
        f"{_ESM}::test_create_event_source_validation",
        [
            Create(None),
            *_starting_positions(_STREAM),
            _esm("incompatible_starting_position", _STREAM, StartingPosition="AT_TIMESTAMP"),
        ],
    ),
    Case(
        f"{_ESM}::test_create_event_source_validation_kinesis",
        [Create(None), *_starting_positions(_KINESIS)],
    ),
    Case(
        "TestLambdaReservedConcurrency::test_function_concurrency_limits",
        [
            Create(None),
            _SETTINGS,
            Call(
                "put_function_concurrency_account_limit_exceeded",
                "put_function_concurrency",
                {
                    "FunctionName": "{fn}",
                    "ReservedConcurrentExecutions": Ref("settings", *_LIMIT, plus=1),
                },
            ),
            Call(
                "put_function_concurrency_below_unreserved_min_value",
                "put_function_concurrency",
                {
                    "FunctionName": "{fn}",
                    "ReservedConcurrentExecutions": Ref(
                        "settings", *_UNRESERVED, plus=1 - _MIN_UNRESERVED
                    ),
                },
            ),
        ],
    ),
    Case(
        "TestLambdaProvisionedConcurrency::test_provisioned_concurrency_limits",
        [
            Create(None),
            Call(None, "publish_version", {"FunctionName": "{fn}"}),
            _SETTINGS,
            Call(
                "put_provisioned_concurrency_account_limit_exceeded",
                "put_provisioned_concurrency_config",
                {
                    "FunctionName": "{fn}",
                    "Qualifier": "1",
                    "ProvisionedConcurrentExecutions": Ref("settings", *_UNRESERVED, plus=1),
                },
            ),
            Call(
                "put_provisioned_concurrency_below_unreserved_min_value",
                "put_provisioned_concurrency_config",
                {
                    "FunctionName": "{fn}",
                    "Qualifier": "1",
                    "ProvisionedConcurrentExecutions": Ref(
                        "settings", *_UNRESERVED, plus=1 - _MIN_UNRESERVED
                    ),
                },
            ),
        ],
    ),
]

_KAFKA_AUTH = [
    {"Type": "BASIC_AUTH", "URI": "arn:aws:secretsmanager:{region}:{account}:secret:parity-{tag}"}
]


def _kafka(key: str, servers: list[str], topic: str, **params: object) -> Call:
    sent: dict[str, object] = {
        "FunctionName": "{fn}",
        "Topics": [topic],
        "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": servers}},
        "StartingPosition": "TRIM_HORIZON",
        **params,
    }
    return Call(key, "create_event_source_mapping", sent)


MAPPING_CASES += [
    Case(
        f"{_ESM}::test_function_name_variations",
        [
            SqsQueue("parity-{tag}-q"),
            Create(None),
            Call(None, "publish_version", {"FunctionName": "{fn}"}),
            Call(
                None,
                "create_alias",
                {"FunctionName": "{fn}", "Name": "myalias", "FunctionVersion": "1"},
            ),
            # Each mapping deleted before the next (one queue maps to one function at a time).
            *(
                step
                for key, fn in (
                    ("name_only", "{fn}"),
                    ("partial_arn_latest", "{fn}:$LATEST"),
                    ("partial_arn_version", "{fn}:1"),
                    ("partial_arn_alias", "{fn}:myalias"),
                    ("full_arn_latest", "{arn}"),
                    ("full_arn_version", "{arn}:1"),
                    ("full_arn_alias", "{arn}:myalias"),
                )
                for step in (
                    _esm(f"{key}_create_esm", _QUEUE, fn=fn),
                    Call(
                        None,
                        "delete_event_source_mapping",
                        {"UUID": Ref(f"{key}_create_esm", "UUID")},
                    ),
                )
            ),
        ],
    ),
    Case(
        f"{_ESM}::test_create_event_source_self_managed",
        [
            Create(None),
            _kafka("missing-source-access-configuration", ["kafka:1000"], "topic"),
            _kafka(
                "event-source-mapping-default",
                ["kafka:1000"],
                "topic",
                SourceAccessConfigurations=_KAFKA_AUTH,
            ),
            _kafka(
                "duplicate-source", ["kafka:1000"], "topic", SourceAccessConfigurations=_KAFKA_AUTH
            ),
            _kafka(
                "event-source-mapping-values",
                ["kafka:1000"],
                "topic_2",
                SourceAccessConfigurations=_KAFKA_AUTH,
                StartingPosition="LATEST",
                BatchSize=1,
                SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": "random_id"},
            ),
            _kafka(
                "multiple-duplicate-source",
                ["kafka:1000", "kafka:2000"],
                "topic",
                SourceAccessConfigurations=_KAFKA_AUTH,
            ),
        ],
        divergence="Hearth has no Kafka sources: a self-managed Kafka mapping is refused "
        "as an unrecognized event source (README, divergences)",
    ),
]

_PC = "put_provisioned_concurrency_config"


def _pc(key: str, op: str, qualifier: str, **params: object) -> Call:
    return Call(key, op, {"FunctionName": "{fn}", "Qualifier": qualifier, **params})


MAPPING_CASES += [
    Case(
        "TestLambdaProvisionedConcurrency::test_lambda_provisioned_lifecycle",
        [
            Create(
                None,
                overrides={"MemorySize": 128, "Timeout": 30, "Environment": {"Variables": {}}},
            ),
            Call("publish_version_result", "publish_version", {"FunctionName": "{fn}"}),
            Call(
                "create_alias_result",
                "create_alias",
                {"FunctionName": "{fn}", "Name": "provisioned", "FunctionVersion": "1"},
            ),
            _pc("put_provisioned_on_version", _PC, "1", ProvisionedConcurrentExecutions=1),
            _pc(
                "put_provisioned_on_alias_versionconflict",
                _PC,
                "provisioned",
                ProvisionedConcurrentExecutions=1,
            ),
            _pc("delete_provisioned_version", "delete_provisioned_concurrency_config", "1"),
            _pc("get_provisioned_version_postdelete", "get_provisioned_concurrency_config", "1"),
            _pc("put_provisioned_on_alias", _PC, "provisioned", ProvisionedConcurrentExecutions=1),
            _pc("put_provisioned_on_version_conflict", _PC, "1", ProvisionedConcurrentExecutions=1),
            Call(
                "delete_alias_result",
                "delete_alias",
                {"FunctionName": "{fn}", "Name": "provisioned"},
            ),
            _pc(
                "get_provisioned_alias_postaliasdelete",
                "get_provisioned_concurrency_config",
                "provisioned",
            ),
            Call(
                "list_response_postdeletes",
                "list_provisioned_concurrency_configs",
                {"FunctionName": "{fn}"},
            ),
        ],
    ),
]

MAPPING_CASES += [
    Case(
        "TestLambdaAccountSettings::test_account_settings",
        [Call("acc_settings_modded", "get_account_settings", keys_only=True)],
    ),
]

MAPPING_CASES += [
    Case(
        "TestLambdaTag::test_tag_lifecycle[event_source_mapping]",
        [
            SqsQueue("parity-{tag}-q"),
            Create(None),
            _esm("esm", _QUEUE),  # not recorded: the resource tagged
            *tag_lifecycle(Ref("esm", "EventSourceMappingArn")),
        ],
    ),
]
