"""CloudFormation intrinsic functions as the local deployer resolves them."""

from __future__ import annotations

import pytest

from pagefan.local.emulator.intrinsics import NO_VALUE, Resolver, TemplateError, references


def _resolver() -> Resolver:
    resolver = Resolver(
        parameters={"Size": "256", "Arn": ""},
        pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "s"},
        conditions={"HasArn": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Arn"}, ""]}]}},
    )
    resolver.refs["Bucket"] = "s-raw"
    resolver.attributes["Bucket"] = {"Arn": "arn:aws:s3:::s-raw"}
    return resolver


def test_sub_resolves_parameters_pseudo_parameters_attributes_and_variables() -> None:
    resolver = _resolver()
    text = "${AWS::StackName}-${Bucket}-${Bucket.Arn}-${Size}-${Extra}-${!Literal}"
    assert resolver.resolve({"Fn::Sub": [text, {"Extra": {"Ref": "Size"}}]}) == (
        "s-s-raw-arn:aws:s3:::s-raw-256-256-${Literal}"
    )


def test_if_with_no_value_removes_the_property() -> None:
    resolver = _resolver()
    value = {"A": {"Fn::If": ["HasArn", {"Ref": "Arn"}, {"Ref": "AWS::NoValue"}]}, "B": 1}
    assert resolver.resolve(value) == {"B": 1}
    assert resolver.resolve([{"Ref": "AWS::NoValue"}, "x"]) == ["x"]
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_join_select_split_and_getatt() -> None:
    resolver = _resolver()
    assert (
        resolver.resolve({"Fn::Join": ["/", ["a", {"Fn::GetAtt": ["Bucket", "Arn"]}]]})
        == "a/arn:aws:s3:::s-raw"
    )
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"


def test_unknown_references_and_functions_are_errors_not_guesses() -> None:
    resolver = _resolver()
    with pytest.raises(TemplateError, match="Ref to Missing"):
        resolver.resolve({"Ref": "Missing"})
    with pytest.raises(TemplateError, match="Fn::ImportValue is not supported"):
        resolver.resolve({"Fn::ImportValue": "x"})


def test_references_finds_what_a_resource_depends_on() -> None:
    value = {"A": {"Fn::Sub": "${Bucket.Arn}/x-${Table}"}, "B": [{"Ref": "Queue"}, {"Fn::GetAtt": "Fn.Arn"}]}
    assert set(references(value)) == {"Bucket", "Table", "Queue", "Fn"}
