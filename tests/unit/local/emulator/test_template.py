"""template.yaml as the SAM transform sees it: roles, wiring, substitutions."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pagefan.local.emulator.template import translate

ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS = ("Splitter", "PageWorker", "Combiner", "SvgExporter", "PdfExporter")


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    return translate(ROOT / "template.yaml", {}, region="us-east-1").cloudformation["Resources"]


def test_each_function_and_the_state_machine_has_a_role_of_its_own(resources: dict[str, Any]) -> None:
    roles = {name: resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in FUNCTIONS}
    state_machine_role = resources["DocumentJob"]["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    assert len(set(roles.values()) | {state_machine_role}) == len(FUNCTIONS) + 1
    for role in [*roles.values(), state_machine_role]:
        assert resources[role]["Type"] == "AWS::IAM::Role"


def test_each_function_runs_on_python_3_13_arm64_with_its_own_memory_size(resources: dict[str, Any]) -> None:
    props = {name: resources[name]["Properties"] for name in FUNCTIONS}
    assert {p["Runtime"] for p in props.values()} == {"python3.13"}
    assert {tuple(p["Architectures"]) for p in props.values()} == {("arm64",)}
    assert props["SvgExporter"]["MemorySize"] < props["PdfExporter"]["MemorySize"]
    assert props["SvgExporter"]["MemorySize"] <= 256
    for name in FUNCTIONS:
        assert props[name]["TracingConfig"] == {"Mode": "Active"}


def test_every_asl_placeholder_has_a_definition_substitution(resources: dict[str, Any]) -> None:
    definition = (ROOT / "statemachine" / "document_job.asl.json").read_text()
    placeholders = set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition))
    substitutions = set(resources["DocumentJob"]["Properties"]["DefinitionSubstitutions"])
    assert placeholders == substitutions
    # No ARN or resource name is written into the definition itself.
    assert "arn:aws:lambda" not in definition and "arn:aws:dynamodb" not in definition


def test_every_task_has_retry_and_every_lambda_task_a_catch() -> None:
    definition = json.loads((ROOT / "statemachine" / "document_job.asl.json").read_text())

    def states(
        machine: dict[str, Any], parallel: str | None = None
    ) -> list[tuple[str, dict[str, Any], str | None]]:
        """Every state, with the Parallel state it runs inside (None at the top level)."""
        found = []
        for name, state in machine["States"].items():
            found.append((name, state, parallel))
            for branch in state.get("Branches", []):
                found.extend(states(branch, name))
            if "ItemProcessor" in state:
                found.extend(states(state["ItemProcessor"], parallel))
        return found

    tasks = [
        (name, state, parallel) for name, state, parallel in states(definition) if state["Type"] == "Task"
    ]
    assert {name for name, _, parallel in tasks if parallel} == {"ExportSvg", "RenderPdfPart", "MergePdf"}
    for name, state, _ in tasks:
        assert state.get("Retry"), f"{name} has no Retry"
        if "lambda" in state["Resource"]:
            assert "Lambda.TooManyRequestsException" in state["Retry"][0]["ErrorEquals"], name
    # Tasks inside the Parallel (the Map's included) are caught by the Parallel state itself: a
    # failing part fails its Map, its branch, then the Parallel, whose Catch goes to ExportFailed.
    assert definition["States"]["Export"]["Catch"][0]["Next"] == "ExportFailed"
    for name, state, parallel in tasks:
        if parallel is None:
            assert state.get("Catch"), f"{name} has no Catch"


def test_s3_events_route_uploads_to_the_splitter_and_pages_to_the_worker(resources: dict[str, Any]) -> None:
    raw = resources["RawBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    work = resources["WorkBucket"]["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert [c["Function"] for c in raw] == [{"Fn::GetAtt": ["Splitter", "Arn"]}]
    assert [c["Function"] for c in work] == [{"Fn::GetAtt": ["PageWorker", "Arn"]}]
    rules = {r["Name"]: r["Value"] for r in work[0]["Filter"]["S3Key"]["Rules"]}
    assert rules == {"prefix": "pages/", "suffix": ".pdf"}


def test_asynchronous_functions_have_an_on_failure_destination(resources: dict[str, Any]) -> None:
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    }
    assert set(configs) == {"Splitter", "PageWorker"}
    for config in configs.values():
        assert config["DestinationConfig"]["OnFailure"]["Destination"]


def test_buckets_block_public_access_encrypt_and_refuse_plain_http(resources: dict[str, Any]) -> None:
    buckets = [name for name, r in resources.items() if r["Type"] == "AWS::S3::Bucket"]
    assert sorted(buckets) == ["RawBucket", "ResultsBucket", "WorkBucket"]
    policies = {
        r["Properties"]["Bucket"]["Ref"]: r["Properties"]["PolicyDocument"]
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy"
    }
    for name in buckets:
        props = resources[name]["Properties"]
        assert all(props["PublicAccessBlockConfiguration"].values())
        assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        statements = policies[name]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            for s in statements
        )
    assert resources["RawBucket"]["Properties"]["VersioningConfiguration"]["Status"] == "Enabled"
    table = resources["JobsTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["TimeToLiveSpecification"]["Enabled"] is True
