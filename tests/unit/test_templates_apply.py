"""Planning and applying templates over the in-memory FakeDeployer (hearth/templates/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hearth.templates.apply import Applier, ApplyError
from hearth.templates.deployer import FakeApis, FakeDeployer, FakeServices
from hearth.templates.errors import TemplateError
from hearth.templates.parameters import parse_overrides, read_samconfig
from hearth.templates.plan import Plan, plan_template
from hearth.templates.state import StackState

TEMPLATES = Path(__file__).parent.parent / "templates"


def plan(path: Path, **overrides: str) -> Plan:
    return plan_template(
        path, overrides=overrides, region="us-east-1", account_id="123456789012", stack_name="s"
    )


@pytest.fixture
def features(tmp_path: Path) -> Path:
    shutil.copytree(TEMPLATES / "features", tmp_path / "app")
    return tmp_path / "app" / "template.yaml"


def applier(tmp_path: Path, deployer: FakeDeployer) -> Applier:
    return Applier(
        deployer,
        StackState(tmp_path / "data", "s"),
        account="123456789012",
        region="us-east-1",
        services=FakeServices(),
        apis=FakeApis(),
    )


def test_plan_orders_by_dependency_and_applies_conditions(features: Path) -> None:
    dev = plan(features)
    assert "ProdOnly" not in dev.resources and "Inline" in dev.resources
    order = dev.order
    assert order.index("GreeterRole") < order.index("Greeter") < order.index("GreeterAliaslive")
    layer = next(name for name in order if name.startswith("SharedLayer"))
    assert order.index(layer) < order.index("Greeter")
    prod = plan(features, Stage="prod")
    assert "ProdOnly" in prod.resources and "Inline" not in prod.resources


def test_apply_is_idempotent_and_deletes_what_was_removed(features: Path, tmp_path: Path) -> None:
    fake = FakeDeployer()
    first = applier(tmp_path, fake).apply(plan(features))
    assert "Greeter" in first.created
    assert ("UnknownThing", "AWS::StepFunctions::StateMachine") in first.unsupported
    assert fake.functions["s-greeter"]["Environment"]["Variables"]["MODE"] == "development"
    assert fake.functions["s-greeter"]["Timeout"] == 5
    assert fake.aliases[("s-greeter", "live")]["FunctionVersion"] == "1"
    assert first.outputs["Mode"][1] == "dev-mode"
    assert first.outputs["GreeterAlias"][1].endswith(":function:s-greeter:live")

    fake.calls.clear()
    second = applier(tmp_path, fake).apply(plan(features))
    assert not second.changed and fake.calls == []

    prod = applier(tmp_path, fake).apply(plan(features, Stage="prod"))
    assert "Inline" in prod.deleted and "ProdOnly" in prod.created
    assert "delete_function Inline" in fake.calls
    assert fake.functions["s-greeter"]["Timeout"] == 10


def test_a_code_change_publishes_a_version_and_moves_the_alias(
    features: Path, tmp_path: Path
) -> None:
    fake = FakeDeployer()
    applier(tmp_path, fake).apply(plan(features))
    (features.parent / "src" / "app.py").write_text("def handler(e, c):\n    return 2\n")
    fake.calls.clear()
    outcome = applier(tmp_path, fake).apply(plan(features))
    assert set(outcome.updated) >= {"Greeter", "GreeterAliaslive"}
    assert not any(name.startswith("SharedLayer") for name in outcome.updated)
    assert fake.aliases[("s-greeter", "live")]["FunctionVersion"] == "2"
    assert not any(call.startswith("put_function Inline") for call in fake.calls)
    assert "put_function s-greeter code" in fake.calls  # the code only, not the configuration


def test_a_refused_resource_keeps_what_was_done(features: Path, tmp_path: Path) -> None:
    fake = FakeDeployer(fail_on="put_alias")
    with pytest.raises(ApplyError, match=r"Resources.GreeterAliaslive: InvalidParameterValue"):
        applier(tmp_path, fake).apply(plan(features))
    saved = StackState(tmp_path / "data", "s").load()
    assert "Greeter" in saved and "GreeterAliaslive" not in saved
    fake.fail_on = None
    outcome = applier(tmp_path, fake).apply(plan(features))
    assert "GreeterAliaslive" in outcome.created and "Greeter" in outcome.unchanged


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(text)
    (tmp_path / "src").mkdir(exist_ok=True)
    return path


FUNCTION = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
"""


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "Parameters:\n  Needed:\n    Type: String\nResources:" + FUNCTION,
            "Parameters.Needed: has no Default",
        ),
        (
            "Parameters:\n  P:\n    Type: String\n    Default: x\n    AllowedValues: [a, b]\n"
            "Resources:" + FUNCTION,
            "Parameters.P: 'x' is not one of the AllowedValues",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !Ref B\n"
            "  B:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !GetAtt A.Arn\n",
            "circular reference: A -> B -> A",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: !Ref Nowhere\n",
            "Resources.A.Properties: Ref to 'Nowhere', which is neither",
        ),
        (
            "Resources:\n  A:\n    Type: AWS::SQS::Queue\n    Properties:\n      X: {'Fn::Bogus': 1}\n",
            "Resources.A.Properties.X.Fn::Bogus: unknown intrinsic function",
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n"
            "    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: missing/\n",
            "Resources.Fn.Properties: code location 'missing/' does not exist",
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:"
            + FUNCTION.replace("Runtime", "Nope"),
            "Resource with id [Fn] is invalid",
        ),
        (
            "Resources:" + FUNCTION + "Outputs:\n  O:\n    Value: !GetAtt Ghost.Arn\n",
            "Outputs.O.Value",
        ),
    ],
)
def test_malformed_templates_change_nothing(tmp_path: Path, body: str, words: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(TemplateError) as caught:
        plan(path)
    assert words in str(caught.value)


def test_overrides_and_samconfig(tmp_path: Path) -> None:
    assert parse_overrides(['A=1 B="two words"', "ParameterKey=C,ParameterValue=3"]) == {
        "A": "1",
        "B": "two words",
        "C": "3",
    }
    with pytest.raises(TemplateError, match="not KEY=VALUE"):
        parse_overrides(["novalue"])
    (tmp_path / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\nstack_name = "my-app"\n'
        'parameter_overrides = "Stage=prod"\n'
    )
    assert read_samconfig(tmp_path) == {"stack_name": "my-app", "parameter_overrides": "Stage=prod"}
    (tmp_path / "samconfig.toml").write_text("[default\n")
    with pytest.raises(TemplateError, match="invalid TOML"):
        read_samconfig(tmp_path)


def test_hello_world_quick_start_plans(tmp_path: Path) -> None:
    hello = plan(TEMPLATES / "hello-world" / "template.yaml")
    assert hello.resources["HelloWorldFunction"]["Type"] == "AWS::Lambda::Function"
    fake = FakeDeployer()
    outcome = applier(tmp_path, fake).apply(hello)
    assert outcome.outputs["HelloWorldFunction"][1].endswith(":function:HelloWorldFunction")
    assert not outcome.unsupported
    # The API's AWS address in the output is the one Hearth serves it at.
    assert outcome.outputs["HelloWorldApi"][1] == "http://api1.execute-api.localhost/Prod/hello/"
    assert fake.permissions[("HelloWorldFunction", "HelloWorldFunctionHelloWorldPermissionProd")]


@pytest.mark.parametrize(
    ("name", "function", "listed"),
    [
        ("quick-sqs", "SQSPayloadLogger", set()),
        ("quick-dynamodb", "PutItemFunction", set()),
        ("quick-schedule", "ScheduledFunction", set()),
        ("hello-world-nodejs", "HelloWorldFunction", set()),
    ],
)
def test_quick_starts_deploy_their_functions_and_list_the_rest(
    tmp_path: Path, name: str, function: str, listed: set[str]
) -> None:
    fake = FakeDeployer()
    outcome = applier(tmp_path, fake).apply(plan(TEMPLATES / name / "template.yaml"))
    assert function in fake.functions
    assert {kind for _, kind in outcome.unsupported} == listed


def test_a_function_of_another_stack_is_not_taken_over(tmp_path: Path) -> None:
    fake = FakeDeployer()
    hello = plan(TEMPLATES / "hello-world" / "template.yaml")
    applier(tmp_path, fake).apply(hello)
    other = Applier(
        fake,
        StackState(tmp_path / "data", "other"),
        account="123456789012",
        region="us-east-1",
        services=FakeServices(),
        apis=FakeApis(),
    )
    taken = plan_template(
        TEMPLATES / "hello-world-nodejs" / "template.yaml",
        overrides={},
        region="us-east-1",
        account_id="123456789012",
        stack_name="other",
    )
    with pytest.raises(ApplyError, match="ResourceConflictException"):
        other.apply(taken)
    assert fake.functions["HelloWorldFunction"]["Runtime"] == "python3.12"


MAPPED = """Transform: AWS::Serverless-2016-10-31
Resources:
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: arn:aws:sqs:us-east-1:123456789012:existing
            BatchSize: {size}
"""


def test_sqs_events_become_event_source_mappings(tmp_path: Path) -> None:
    fake = FakeDeployer()
    path = write(tmp_path, MAPPED.format(size=5))
    first = applier(tmp_path, fake).apply(plan(path))
    assert "ConsumerQueue" in first.created
    ((uuid, mapping),) = fake.mappings.items()
    assert mapping["EventSourceArn"] == "arn:aws:sqs:us-east-1:123456789012:existing"
    assert mapping["FunctionName"] == "Consumer" and mapping["BatchSize"] == 5
    path.write_text(MAPPED.format(size=7))
    applier(tmp_path, fake).apply(plan(path))
    assert list(fake.mappings) == [uuid] and fake.mappings[uuid]["BatchSize"] == 7
    path.write_text(MAPPED.split("      Events:", maxsplit=1)[0])
    applier(tmp_path, fake).apply(plan(path))
    assert fake.mappings == {}


def test_queues_and_tables_are_made_in_the_services(tmp_path: Path) -> None:
    fake, services = FakeDeployer(), FakeServices()
    made = Applier(
        fake,
        StackState(tmp_path / "d", "s"),
        account="1",
        region="us-east-1",
        services=services,
        apis=FakeApis(),
    )
    sqs = made.apply(plan(TEMPLATES / "quick-sqs" / "template.yaml"))
    assert "s-SQSQueue" in services.queues and not sqs.unsupported
    (mapping,) = fake.mappings.values()
    assert mapping["EventSourceArn"] == "arn:aws:sqs:us-east-1:123456789012:s-SQSQueue"
    assert sqs.outputs["QueueUrl"][1].endswith("/s-SQSQueue")
    table = Applier(
        fake,
        StackState(tmp_path / "d", "t"),
        account="1",
        region="us-east-1",
        services=services,
        apis=FakeApis(),
    ).apply(plan(TEMPLATES / "quick-dynamodb" / "template.yaml"))
    assert services.tables["s-SampleTable"]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"}
    ]
    variables = fake.functions["PutItemFunction"]["Environment"]["Variables"]
    assert (
        variables["SAMPLE_TABLE"] == "s-SampleTable"
        and table.outputs["TableName"][1] == "s-SampleTable"
    )
