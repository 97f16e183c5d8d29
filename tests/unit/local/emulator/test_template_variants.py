"""The variants of template.yaml that `make lint` scans: every condition decided, nothing else changed."""

from __future__ import annotations

import json
from pathlib import Path

from pagefan.local.emulator.template import load_template
from pagefan.local.emulator.template_variants import decide_conditions

TEMPLATE = load_template(Path(__file__).resolve().parents[4] / "template.yaml")
OPTIONS = {
    "KmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/0f0e0d0c-1111-4222-8333-444455556666",
    "SubnetIds": "subnet-0a1b2c3d4e5f60718",
    "SecurityGroupIds": "sg-0123456789abcdef0",
}


def _sids(variant: dict, role: str) -> list[str]:
    (policy,) = variant["Resources"][role]["Properties"]["Policies"]
    return [statement["Sid"] for statement in policy["PolicyDocument"]["Statement"]]


def test_no_variant_holds_a_condition_a_scanner_would_have_to_decide() -> None:
    for parameters in ({}, OPTIONS):
        text = json.dumps(decide_conditions(TEMPLATE, parameters)["Resources"])
        assert "Fn::If" not in text and "AWS::NoValue" not in text


def test_the_options_add_their_statements_and_settings_and_the_defaults_do_not() -> None:
    defaults, options = decide_conditions(TEMPLATE, {}), decide_conditions(TEMPLATE, OPTIONS)
    assert "UseStackKey" not in _sids(defaults, "PageWorkerRole")
    assert _sids(options, "PageWorkerRole") == [
        *_sids(defaults, "PageWorkerRole"),
        "UseStackKey",
        "ManageNetworkInterfaces",
        "DescribeNetworkInterfaces",
    ]
    assert "VpcConfig" not in defaults["Globals"]["Function"]
    assert options["Globals"]["Function"]["VpcConfig"]["SubnetIds"] == {"Ref": "SubnetIds"}
    encryption = options["Resources"]["RawBucket"]["Properties"]["BucketEncryption"]
    assert encryption["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": {"Ref": "KmsKeyArn"},
    }
    # A resource whose condition is false is left out, as CloudFormation leaves it out.
    assert "CairoLayer" in defaults["Resources"]
    with_layer = decide_conditions(
        TEMPLATE, {"CairoLayerArn": "arn:aws:lambda:us-east-1:123456789012:layer:cairo:1"}
    )
    assert "CairoLayer" not in with_layer["Resources"]
