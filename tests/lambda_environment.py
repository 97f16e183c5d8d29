"""The functions of template.yaml as Lambda runs them, for tests that call a handler or a stage in-process.

The fast tier (tests/handlers, tests/stages) calls handlers directly under moto's ``mock_aws()``, as
Powertools' ``getting_started_with_test.py`` does. Each function gets the environment variables
template.yaml gives it, resolved for the stack the sample events of events/ name (the local
runtime's stack, account and region: see pagefan.local.emulator.invocation.render_events), so the
handlers' settings name the buckets, table and state machine the events point at. An
:class:`Account` creates only what a test needs, by the names the events and those settings carry.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import fields
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws import clients
from pagefan.aws.jobs import JobStore
from pagefan.config import PageWorkerSettings, SplitterSettings, load_settings
from pagefan.formats.document import SourceRef
from pagefan.local.emulator.account import REGION
from pagefan.local.emulator.intrinsics import Resolver, references, typed_parameters
from pagefan.local.emulator.invocation import STACK_NAME
from pagefan.local.emulator.stack import ACCOUNT_ID
from pagefan.local.emulator.template import load_template
from pagefan.stages.page_analysis import PageOutcome, process_page
from pagefan.stages.splitting import SplitOutcome, split_upload
from tests.jobs_table import create_jobs_table

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
SAMPLES = ROOT / "samples"
OBSERVABILITY = "pagefan.handlers.observability"

LoadEvent = Callable[[str], Any]
"""The ``load_event`` fixture of tests/conftest.py: ``events/<name>.json``."""
ColdStart = Callable[[str], ModuleType]
"""The ``start`` fixture of tests/handlers: :func:`cold_start` of a function, by logical id."""

# Powertools warns when an invocation emits no metric (the Combiner and the exporters never do, a
# repeated delivery does not); Lambda prints it, the tests' warnings-as-errors would fail on it.
without_metrics = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

_STATE_MACHINES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")


@cache
def _template() -> dict[str, Any]:
    return load_template(TEMPLATE)


def _resolver(template: dict[str, Any]) -> Resolver:
    parameters = template.get("Parameters", {})
    defaults = {name: str(spec["Default"]) for name, spec in parameters.items() if "Default" in spec}
    return Resolver(
        parameters=typed_parameters(parameters, defaults),
        pseudo={
            "AWS::StackName": STACK_NAME,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": REGION,
            "AWS::Partition": "aws",
        },
        conditions=template.get("Conditions", {}),
        mappings=template.get("Mappings", {}),
    )


def _physical_id(resolver: Resolver, logical_id: str, resource: dict[str, Any]) -> str:
    """What Ref gives for a resource: its name in the template, else ``<stack>-<logical id>``."""
    kind, properties = resource["Type"], resource.get("Properties", {})
    default = f"{STACK_NAME}-{logical_id}"
    if kind == "AWS::DynamoDB::Table":
        return str(resolver.resolve(properties.get("TableName", default)))
    if kind in _STATE_MACHINES:
        name = resolver.resolve(properties.get("Name") or properties.get("StateMachineName") or default)
        return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:{name}"
    raise ValueError(f"a function's environment refers to {logical_id} ({kind}): teach _physical_id its Ref")


def function_environment(function: str) -> dict[str, str]:
    """The environment variables template.yaml gives ``function``: the Globals', then its own."""
    template = _template()
    variables = {
        **template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    resolver = _resolver(template)
    for name in set(references(variables)):
        resource = template["Resources"].get(name)
        if resource is not None:
            resolver.refs[name] = _physical_id(resolver, name, resource)
    return {name: str(value) for name, value in resolver.resolve(variables).items()}


SettingsT = TypeVar("SettingsT")


def function_settings(function: str, kind: type[SettingsT]) -> SettingsT:
    """``function``'s settings, as its handler loads them from its environment."""
    return load_settings(kind, function_environment(function))


def cold_start(function: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Import ``function``'s handler module as a Lambda cold start does: anew, in its environment.

    Settings, Logger and Metrics are made at import from the environment variables, so the module
    (and observability, which another test may have imported without them) is imported again, and
    the AWS clients are made again on first use; sys.modules is restored after the test.
    """
    for name, value in function_environment(function).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    module_name = _template()["Resources"][function]["Properties"]["Handler"].rpartition(".")[0]
    for name in (OBSERVABILITY, module_name):
        monkeypatch.delitem(sys.modules, name, raising=False)
    for made_once in (clients.s3_client, clients.dynamodb_client, clients.sfn_client, clients.job_store):
        made_once.cache_clear()
    module = importlib.import_module(module_name)
    # Powertools' log handler keeps the stream it was made with: this test's standard output while
    # the test runs, then the process's own (the test's capture is closed).
    handler = sys.modules[OBSERVABILITY].logger.registered_handler
    handler.stream = sys.__stdout__
    monkeypatch.setattr(handler, "stream", sys.stdout)
    return module


def output_records(stdout: str) -> list[dict[str, Any]]:
    """The JSON records a function wrote (log lines and EMF metrics), as CloudWatch Logs gets them."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def metric_values(records: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """The values of each metric the EMF records declare, by metric name, in the order emitted."""
    values: dict[str, list[float]] = {}
    for record in records:
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for metric in directive["Metrics"]:
                value = record[metric["Name"]]
                values.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return values


class Account:
    """An emulated account (moto, in-process) in the region the sample events name."""

    def __init__(self) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)

    def create_bucket(self, name: str) -> None:
        """Create the bucket unless it exists."""
        try:
            self.s3.create_bucket(Bucket=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise

    def provide(self, settings: object) -> None:
        """Create what a function's settings name: its buckets, jobs table and state machine."""
        for spec in fields(settings):  # type: ignore[arg-type]
            value = getattr(settings, spec.name)
            if spec.name.endswith("_bucket"):
                self.create_bucket(value)
            elif spec.name == "jobs_table" and value not in self.dynamodb.list_tables()["TableNames"]:
                create_jobs_table(self.dynamodb, value)
            elif spec.name == "state_machine_arn":
                self._create_state_machine(value)

    def _create_state_machine(self, arn: str) -> None:
        if arn in {machine["stateMachineArn"] for machine in self.sfn.list_state_machines()["stateMachines"]}:
            return
        name, account = arn.rsplit(":", 1)[1], arn.split(":")[4]
        # Without execute_state_machine moto runs no execution: each only records its input.
        self.sfn.create_state_machine(
            name=name,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{account}:role/{name}",
        )

    def upload(self, s3_event: dict[str, Any], body: bytes | None = None) -> None:
        """Put the objects an S3 event names: ``body``, else the file of samples/ of the key's name."""
        for record in s3_event["Records"]:
            bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
            self.create_bucket(bucket)
            content = body if body is not None else (SAMPLES / Path(key).name).read_bytes()
            self.s3.put_object(Bucket=bucket, Key=key, Body=content)

    def jobs(self, settings: clients.JobsTableSettings) -> JobStore:
        """The jobs table the settings name."""
        return JobStore(self.dynamodb, settings.jobs_table, ttl_days=settings.job_ttl_days)

    def split(
        self,
        s3_event: dict[str, Any],
        body: bytes | None = None,
        settings: SplitterSettings | None = None,
        **options: Any,
    ) -> SplitOutcome:
        """Upload what an S3 event of the raw bucket names and split it, as the Splitter does.

        ``options`` go to :func:`split_upload` (``progress_every``).
        """
        settings = settings or function_settings("Splitter", SplitterSettings)
        self.provide(settings)
        self.upload(s3_event, body)
        [record] = s3_event["Records"]
        source = SourceRef(
            bucket=record["s3"]["bucket"]["name"],
            key=unquote_plus(record["s3"]["object"]["key"]),
            version_id=record["s3"]["object"].get("versionId"),
            etag=record["s3"]["object"]["eTag"],
            size=record["s3"]["object"]["size"],
        )
        return split_upload(
            s3=self.s3, sfn=self.sfn, jobs=self.jobs(settings), settings=settings, source=source, **options
        )

    def analyse(self, job_id: str, pages: Iterable[int]) -> list[PageOutcome]:
        """Analyse and record pages of a split job, as the PageWorker does."""
        settings = function_settings("PageWorker", PageWorkerSettings)
        self.provide(settings)
        jobs = self.jobs(settings)
        return [
            process_page(
                s3=self.s3,
                jobs=jobs,
                settings=settings,
                bucket=settings.work_bucket,
                key=layout.page_key(job_id, page),
            )
            for page in pages
        ]

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys in ``bucket`` under ``prefix``, sorted."""
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        """An object's bytes."""
        body: bytes = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body

    def executions(self, state_machine_arn: str) -> dict[str, dict[str, Any]]:
        """The state machine's executions' inputs, by execution name."""
        listed = self.sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
        return {
            execution["name"]: json.loads(
                self.sfn.describe_execution(executionArn=execution["executionArn"])["input"]
            )
            for execution in listed
        }
