"""Intrinsic functions, Conditions and template loading (hearth/templates/), pure."""

from __future__ import annotations

from typing import Any

import pytest

from hearth.templates.errors import TemplateError
from hearth.templates.intrinsics import Resolver
from hearth.templates.loader import parse_template


def resolver(conditions: dict[str, Any] | None = None) -> Resolver:
    return Resolver(
        parameters={"Stage": "dev", "AWS::Region": "eu-west-1", "List": ["a", "b"]},
        mappings={"M": {"dev": {"Size": 5}}},
        conditions=conditions or {},
        ref=lambda name: f"physical-{name}",
        get_att=lambda logical_id, attribute: f"{logical_id}/{attribute}",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Res"}, "physical-Res"),
        ({"Fn::GetAtt": ["Res", "Arn"]}, "Res/Arn"),
        ({"Fn::GetAtt": "Res.Arn"}, "Res/Arn"),
        (
            {"Fn::Sub": "${Stage}-${Res}-${Res.Arn}-${!Literal}"},
            "dev-physical-Res-Res/Arn-${Literal}",
        ),
        ({"Fn::Sub": ["${A}.${AWS::Region}", {"A": {"Ref": "Stage"}}]}, "dev.eu-west-1"),
        ({"Fn::Join": [",", ["a", {"Ref": "Stage"}, 3]]}, "a,dev,3"),
        ({"Fn::Select": [1, {"Ref": "List"}]}, "b"),
        ({"Fn::Split": ["|", "x|y"]}, ["x", "y"]),
        ({"Fn::FindInMap": ["M", {"Ref": "Stage"}, "Size"]}, 5),
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::Equals": [{"Ref": "Stage"}, "dev"]}, True),
        ({"Fn::And": [{"Fn::Equals": [1, 1]}, {"Fn::Not": [{"Fn::Equals": [1, 2]}]}]}, True),
        ({"Fn::Or": [{"Fn::Equals": [1, 2]}, {"Fn::Equals": [2, 3]}]}, False),
        ({"A": {"Ref": "AWS::NoValue"}, "B": 1}, {"B": 1}),
        ([1, {"Ref": "AWS::NoValue"}, 2], [1, 2]),
    ],
)
def test_intrinsics(value: Any, expected: Any) -> None:
    assert resolver().resolve(value, "Here") == expected


def test_if_and_conditions_referring_to_conditions() -> None:
    conditions = {
        "IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]},
        "NotDev": {"Fn::Not": [{"Condition": "IsDev"}]},
    }
    r = resolver(conditions)
    assert r.resolve({"Fn::If": ["NotDev", "a", "b"]}, "X") == "b"
    assert r.resolve({"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}, "X") is not None
    assert r.resolve({"K": {"Fn::If": ["IsDev", {"Ref": "AWS::NoValue"}, "b"]}}, "X") == {}


@pytest.mark.parametrize(
    ("value", "place", "words"),
    [
        ({"Fn::Nope": 1}, "R.Fn::Nope", "unknown intrinsic function Fn::Nope"),
        ({"Fn::Select": [5, ["a"]]}, "R.Fn::Select", "outside the list"),
        ({"Fn::FindInMap": ["M", "prod", "Size"]}, "R.Fn::FindInMap", "no M.prod.Size"),
        ({"Fn::If": ["Missing", 1, 2]}, "R.Fn::If", "'Missing' is not defined"),
        ({"Fn::Join": ["-", "notalist"]}, "R.Fn::Join", "takes [delimiter, [values]]"),
        ({"Ref": "AWS::Bogus"}, "R.Ref", "unknown pseudo parameter"),
        ({"Fn::Sub": ["${X}", "notamap"]}, "R.Fn::Sub", "Fn::Sub takes"),
    ],
)
def test_errors_name_the_place(value: Any, place: str, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        resolver().resolve(value, "R")
    assert caught.value.place == place
    assert words in caught.value.message


def test_circular_conditions() -> None:
    r = resolver({"A": {"Condition": "B"}, "B": {"Condition": "A"}})
    with pytest.raises(TemplateError, match="circular condition: A -> B -> A"):
        r.condition("A", "Conditions.A")


def test_short_form_tags() -> None:
    template = parse_template(
        "Resources:\n  F:\n    Type: X\n    Properties:\n"
        "      A: !Ref P\n      B: !GetAtt R.Arn\n      C: !Sub '${P}'\n"
        "      D: !Join [',', [a, b]]\n      E: !If [C, 1, 2]\n      V: '2012-10-17'\n"
        "      W: 2012-10-17\n"
    )
    props = template["Resources"]["F"]["Properties"]
    assert props["A"] == {"Ref": "P"}
    assert props["B"] == {"Fn::GetAtt": ["R", "Arn"]}
    assert props["C"] == {"Fn::Sub": "${P}"}
    assert props["D"] == {"Fn::Join": [",", ["a", "b"]]}
    assert props["E"] == {"Fn::If": ["C", 1, 2]}
    assert props["W"] == "2012-10-17"  # not a date: policy versions stay strings


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Resources:\n  F:\n    Type: X\n\tbad: 1\n", "template line 4, column 1: invalid YAML"),
        ('{"Resources": ', "template line 1"),
        ("- a list\n", "a mapping with a Resources section"),
        ("Resources: {}\n", "at least one resource"),
        ("Resources:\n  F:\n    Properties: {}\n", "Resources.F: a resource needs a Type"),
    ],
)
def test_malformed_documents(text: str, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(text)
    assert words in str(caught.value)


def test_yaml_tags_do_not_leak_into_pyyaml() -> None:
    import yaml

    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load("a: !Ref b")
