"""moto's own behaviour where the local runtime corrects it: each test shows moto without its correction.

The probes run together in one fresh process that imports nothing of pagefan: moto's patches are
process-wide, and other tests apply them. Each test asserts that moto still differs from AWS as it
did when the correction was written (moto_targets.MOTO_VERSION). One that fails after an upgrade
shows where moto changed: the correction may be able to go. The history quota's probe, which runs
for minutes, is test_moto_fixes.py's test_moto_alone_lets_an_execution_run_past_25000_history_events.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.jobs_table import create_jobs_table

# Upgrade guards, in a fresh interpreter without the corrections (about 10 s): they watch moto, not pagefan.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[4]
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/probe"

Probe = Callable[[], Any]
PROBES: dict[str, Probe] = {}


def probe(function: Probe) -> Probe:
    """Register ``function`` to run in the process without corrections; its result must be JSON."""
    PROBES[function.__name__] = function
    return function


@pytest.fixture(scope="module")
def moto_alone() -> Callable[[Probe], Any]:
    """A probe's result in the process without corrections (every probe runs once, together)."""
    done = subprocess.run(
        [sys.executable, "-m", __name__], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-5000:]
    results = json.loads(done.stdout.splitlines()[-1])

    def result(function: Probe) -> Any:
        outcome = results[function.__name__]
        if "error" in outcome:
            pytest.fail(f"the probe {function.__name__} failed: {outcome['error']}")
        return outcome["value"]

    return result


# --- Step Functions ---------------------------------------------------------------------------------


@contextmanager
def _engine() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


def _run(sfn: Any, states: dict[str, Any], start: str, run_input: Any = None, name: str = "run") -> Any:
    """The execution of a state machine of ``states`` from ``start``, once it has ended."""
    definition = json.dumps({"StartAt": start, "States": states})
    machine = sfn.create_state_machine(name=f"m-{name}", definition=definition, roleArn=ROLE)
    arn = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(run_input or {})
    )["executionArn"]
    for _ in range(600):
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise TimeoutError(f"{name} still running")


@probe
def entered_time() -> str:
    with _engine() as sfn:
        states = {"P": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": True}}
        return str(json.loads(_run(sfn, states, "P")["output"])["entered"])


def test_moto_gives_entered_time_in_microseconds_with_an_offset(moto_alone: Any) -> None:
    # AWS: 2026-01-01T12:00:00.123Z (moto_fixes 1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", moto_alone(entered_time))


@probe
def timestamp_choices() -> dict[str, str]:
    states = {
        "C": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.t", "TimestampLessThan": "2027-01-01T00:00:00Z", "Next": "Earlier"}],
            "Default": "Otherwise",
        },
        "Earlier": {"Type": "Pass", "Result": {"branch": "earlier"}, "End": True},
        "Otherwise": {"Type": "Pass", "Result": {"branch": "otherwise"}, "End": True},
    }
    branches = {}
    with _engine() as sfn:
        for index, stamp in enumerate(
            ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00.5Z", "2026-01-01T12:00:00+00:00")
        ):
            execution = _run(sfn, states, "C", {"t": stamp}, name=f"t{index}")
            branches[stamp] = json.loads(execution["output"])["branch"]
    return branches


def test_moto_compares_only_timestamps_in_whole_seconds_in_utc(moto_alone: Any) -> None:
    # AWS takes RFC 3339: every one of these is earlier than 2027 (moto_fixes 2)
    assert moto_alone(timestamp_choices) == {
        "2026-01-01T12:00:00Z": "earlier",
        "2026-01-01T12:00:00.5Z": "otherwise",
        "2026-01-01T12:00:00+00:00": "otherwise",
    }


@probe
def indexed_path() -> Any:
    with _engine() as sfn:
        states = {"P": {"Type": "Pass", "Parameters": {"prefix.$": "$.exported[0].svg_prefix"}, "End": True}}
        execution = _run(sfn, states, "P", {"exported": [{"svg_prefix": "svg/"}]})
        return json.loads(execution["output"])["prefix"]


def test_moto_yields_a_list_for_a_path_through_an_index(moto_alone: Any) -> None:
    # AWS: "svg/" (moto_fixes 3)
    assert moto_alone(indexed_path) == ["svg/"]


@probe
def early_stop() -> dict[str, str]:
    # The worker is held back until the stop has been asked for: the moment a stop right after the
    # start can fall in.
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    release = threading.Event()
    original = ExecutionWorker._execution_logic

    def held_back(self: Any) -> None:
        release.wait(10)
        original(self)

    ExecutionWorker._execution_logic = held_back
    try:
        with _engine() as sfn:
            definition = json.dumps(
                {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": True}}}
            )
            machine = sfn.create_state_machine(name="early", definition=definition, roleArn=ROLE)
            arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
            try:
                sfn.stop_execution(executionArn=arn)
                stop = "stopped"
            except Exception as error:  # in-process the server's 500 is moto's own exception
                stop = type(error).__name__
            release.set()
            while (status := sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING":
                time.sleep(0.05)
            return {"stop": stop, "status": status}
    finally:
        release.set()
        ExecutionWorker._execution_logic = original


def test_moto_fails_a_stop_that_comes_before_the_worker_runs(moto_alone: Any) -> None:
    # AWS stops it: the execution ends ABORTED (moto_fixes 6)
    assert moto_alone(early_stop) == {"stop": "AttributeError", "status": "SUCCEEDED"}


@probe
def start_execution_task() -> dict[str, str]:
    with _engine() as sfn:
        target = _run(sfn, {"P": {"Type": "Pass", "End": True}}, "P", name="target")
        states = {
            "Start": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {"StateMachineArn": target["stateMachineArn"], "Input": {}},
                "End": True,
            }
        }
        execution = _run(sfn, states, "Start", name="starter")
        return {"status": execution["status"], "error": execution["error"], "cause": execution["cause"]}


def test_moto_passes_the_asl_parameter_names_of_start_execution_to_boto3(moto_alone: Any) -> None:
    # AWS starts the execution (moto_fixes 7)
    outcome = moto_alone(start_execution_task)
    assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime")
    assert outcome["cause"].endswith("'StateMachineArn'")  # boto3's KeyError


@probe
def execution_end_events() -> dict[str, Any]:
    with _engine() as sfn:
        queue, drain = _queue()
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="states", EventPattern=json.dumps({"source": ["aws.states"]}))
        events.put_targets(Rule="states", Targets=[{"Id": "queue", "Arn": queue}])
        execution = _run(sfn, {"P": {"Type": "Pass", "End": True}}, "P")
        return {"status": execution["status"], "events": len(drain())}


def test_moto_publishes_no_event_when_an_execution_ends(moto_alone: Any) -> None:
    # AWS: "Step Functions Execution Status Change" on the default bus (moto_hooks)
    assert moto_alone(execution_end_events) == {"status": "SUCCEEDED", "events": 0}


@probe
def jsonpath_parsers() -> int:
    from jsonpath_ng.ext.parser import ExtendedJsonPathParser
    from moto.stepfunctions.parser.asl.utils.json_path import extract_json

    built = []
    original = ExtendedJsonPathParser.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    ExtendedJsonPathParser.__init__ = counted  # type: ignore[method-assign]
    try:
        for _ in range(3):
            extract_json("$.job.pages_total", {"job": {"pages_total": 3}})
    finally:
        ExtendedJsonPathParser.__init__ = original  # type: ignore[method-assign]
    return len(built)


def test_moto_builds_a_jsonpath_parser_for_each_evaluation(moto_alone: Any) -> None:
    # (moto_fixes C: each path parsed once)
    assert moto_alone(jsonpath_parsers) == 3


# --- DynamoDB ----------------------------------------------------------------------------------------

JOB = {"job_id": {"S": "j"}, "item": {"S": "JOB"}}
ADD_ONE = {"UpdateExpression": "ADD done :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}


@probe
def whole_table_copy() -> str:
    from moto.dynamodb.models.table import Table

    class Copied(Exception):
        pass

    def refuse(self: Any, memo: Any) -> Any:
        raise Copied(self.name)

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_jobs_table(dynamodb, "jobs")
        dynamodb.put_item(TableName="jobs", Item={**JOB, "done": {"N": "0"}})
        Table.__deepcopy__ = refuse  # type: ignore[attr-defined]
        try:
            dynamodb.transact_write_items(
                TransactItems=[{"Update": {"TableName": "jobs", "Key": JOB, **ADD_ONE}}]
            )
        except Copied as copied:
            return f"copied {copied}"
        finally:
            del Table.__deepcopy__  # type: ignore[attr-defined]
    return "not copied"


def test_moto_copies_every_table_a_transaction_names(moto_alone: Any) -> None:
    # (moto_fixes A: only the items a transaction names are kept)
    assert moto_alone(whole_table_copy) == "copied jobs"


@probe
def query_listing() -> list[int]:
    from moto.dynamodb.models.table import Table

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_jobs_table(dynamodb, "jobs")
        for job in ("job-1", "job-2"):
            for page in range(3):
                dynamodb.put_item(
                    TableName="jobs", Item={"job_id": {"S": job}, "item": {"S": f"PAGE#{page}"}}
                )
        listed: list[int] = []
        all_items = Table.all_items

        def counted(self: Any) -> Any:
            items = all_items(self)
            listed.append(len(items))
            return items

        Table.all_items = counted  # type: ignore[method-assign]
        try:
            dynamodb.query(
                TableName="jobs",
                KeyConditionExpression="job_id = :job",
                ExpressionAttributeValues={":job": {"S": "job-1"}},
                Limit=2,
            )
        finally:
            Table.all_items = all_items  # type: ignore[method-assign]
        return listed


def test_moto_lists_the_whole_table_for_a_query_of_one_partition(moto_alone: Any) -> None:
    # (dynamodb_query: a table query reads only its partition)
    assert moto_alone(query_listing) == [6]


@probe
def concurrent_counter() -> dict[str, int]:
    from moto.dynamodb.models import dynamodb_backends

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_jobs_table(dynamodb, "jobs")
        dynamodb.put_item(TableName="jobs", Item={**JOB, "done": {"N": "0"}})
        backend = dynamodb_backends[ACCOUNT][REGION]
        for index in range(3000):  # a table that takes a while to copy
            backend.put_item("jobs", {"job_id": {"S": "other"}, "item": {"S": f"I{index}"}, "n": {"N": "1"}})
        # GIVEN a transaction that will be cancelled, running beside single ADDs to one counter
        cancelled = [
            {
                "ConditionCheck": {
                    "TableName": "jobs",
                    "Key": JOB,
                    "ConditionExpression": "attribute_not_exists(done)",
                }
            }
        ]
        ended = threading.Event()

        def transaction() -> None:
            try:
                dynamodb.transact_write_items(TransactItems=cancelled)
            except ClientError:
                pass
            finally:
                ended.set()

        worker = threading.Thread(target=transaction)
        worker.start()
        adds = 0
        while not ended.is_set():
            dynamodb.update_item(TableName="jobs", Key=JOB, **ADD_ONE)
            adds += 1
        worker.join()
        counter = int(dynamodb.get_item(TableName="jobs", Key=JOB)["Item"]["done"]["N"])
        return {"adds": adds, "counter": counter}


def test_moto_loses_writes_made_while_a_cancelled_transaction_runs(moto_alone: Any) -> None:
    # AWS isolates the writes: the counter counts every ADD (dynamodb_limits, moto_fixes 4)
    outcome = moto_alone(concurrent_counter)
    assert outcome["adds"] > 0
    assert outcome["counter"] < outcome["adds"]


@probe
def partition_throughput() -> str:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        create_jobs_table(dynamodb, "jobs")
        # 3 items of 390 KB: 1,170 write units for one partition key, at once
        for index in range(3):
            item = {"job_id": {"S": "j"}, "item": {"S": f"P{index}"}, "blob": {"S": "x" * 390_000}}
            dynamodb.put_item(TableName="jobs", Item=item)
        return "accepted"


def test_moto_never_refuses_a_write_for_its_partitions_throughput(moto_alone: Any) -> None:
    # AWS serves 1,000 write units a second per partition (dynamodb_limits)
    assert moto_alone(partition_throughput) == "accepted"


# --- Lambda, S3, EventBridge, IAM --------------------------------------------------------------------


def _queue() -> tuple[str, Callable[[], list[Any]]]:
    """An SQS queue's ARN, and a function that empties it and returns the bodies."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def drain() -> list[Any]:
        bodies = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    return arn, drain


def _function() -> str:
    """A function's ARN (moto creates it; nothing here runs it)."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="probe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    function = boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="probe",
        Runtime="python3.13",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        LoggingConfig={"LogFormat": "Text", "LogGroup": "/pagefan/probe"},
    )
    return str(function["FunctionArn"])


@probe
def logging_config() -> Any:
    with mock_aws():
        arn = _function()
        return (
            boto3.client("lambda", region_name=REGION)
            .get_function_configuration(FunctionName=arn)
            .get("LoggingConfig")
        )


def test_moto_drops_a_functions_logging_config(moto_alone: Any) -> None:
    # AWS returns it, log group included (moto_fixes 5)
    assert moto_alone(logging_config) is None


def _notifying_bucket(queue: str) -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="probe-bucket")
    s3.put_bucket_versioning(Bucket="probe-bucket", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="probe-bucket",
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    return s3


@probe
def s3_event_object() -> Any:
    with mock_aws():
        queue, drain = _queue()
        s3 = _notifying_bucket(queue)
        drain()  # the test event
        s3.put_object(Bucket="probe-bucket", Key="in/a b+c.pdf", Body=b"%PDF")
        (body,) = drain()
        return body["Records"][0]["s3"]["object"]


def test_moto_writes_an_s3_event_without_version_or_sequencer_and_encodes_the_slashes(
    moto_alone: Any,
) -> None:
    # AWS: "in/a+b%2Bc.pdf", versionId, sequencer (moto_hooks)
    s3_object = moto_alone(s3_event_object)
    assert s3_object["key"] == "in%2Fa+b%2Bc.pdf"
    assert "versionId" not in s3_object
    assert "sequencer" not in s3_object


@probe
def multipart_events() -> list[str]:
    with mock_aws():
        queue, drain = _queue()
        s3 = _notifying_bucket(queue)
        drain()
        upload = s3.create_multipart_upload(Bucket="probe-bucket", Key="big.pdf")["UploadId"]
        part = s3.upload_part(
            Bucket="probe-bucket", Key="big.pdf", UploadId=upload, PartNumber=1, Body=b"%PDF"
        )
        s3.complete_multipart_upload(
            Bucket="probe-bucket",
            Key="big.pdf",
            UploadId=upload,
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
        )
        return [str(record["eventName"]) for body in drain() for record in body["Records"]]


def test_moto_sends_two_events_for_a_multipart_upload(moto_alone: Any) -> None:
    # AWS: ObjectCreated:CompleteMultipartUpload alone (moto_hooks)
    assert moto_alone(multipart_events) == ["ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload"]


@probe
def target_event_members() -> list[str]:
    with mock_aws():
        queue, drain = _queue()
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="probe", EventPattern=json.dumps({"source": ["pagefan.probe"]}))
        events.put_targets(Rule="probe", Targets=[{"Id": "queue", "Arn": queue}])
        events.put_events(Entries=[{"Source": "pagefan.probe", "DetailType": "probe", "Detail": "{}"}])
        (event,) = drain()
        return sorted(event)


def test_moto_leaves_the_account_out_of_the_event_a_target_receives(moto_alone: Any) -> None:
    # AWS always sends "account" (moto_hooks)
    assert "account" not in moto_alone(target_event_members)
    assert "detail-type" in moto_alone(target_event_members)


@probe
def lambda_target() -> str:
    with mock_aws():
        arn = _function()
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name="probe", EventPattern=json.dumps({"source": ["pagefan.probe"]}))
        events.put_targets(Rule="probe", Targets=[{"Id": "function", "Arn": arn}])
        try:
            events.put_events(Entries=[{"Source": "pagefan.probe", "DetailType": "probe", "Detail": "{}"}])
        except Exception as error:  # in-process the server's 500 is moto's own exception
            return type(error).__name__
        return "delivered"


def test_moto_cannot_deliver_an_event_to_a_lambda_target(moto_alone: Any) -> None:
    # AWS invokes the function asynchronously (moto_hooks)
    assert moto_alone(lambda_target) == "NotImplementedError"


@probe
def table_permissions() -> dict[str, str]:
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        for table in ("allowed", "other"):
            create_jobs_table(dynamodb, table)
        iam.create_user(UserName="probe")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "dynamodb:PutItem",
                    "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/allowed",
                }
            ],
        }
        iam.put_user_policy(UserName="probe", PolicyName="probe", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="probe")["AccessKey"]
        user = boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        outcomes = {}
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # type: ignore[assignment]
        ActionAuthenticatorMixin.request_count = 0
        try:
            for table in ("allowed", "other"):
                try:
                    user.put_item(TableName=table, Item=JOB)
                    outcomes[table] = "written"
                except ClientError as error:
                    outcomes[table] = str(error.response["ResponseMetadata"]["HTTPStatusCode"])
        finally:
            settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # type: ignore[assignment]
        return outcomes


def test_moto_authorises_a_dynamodb_request_as_if_on_every_table(moto_alone: Any) -> None:
    # AWS writes to the table the policy names and refuses the other (iam)
    assert moto_alone(table_permissions) == {"allowed": "403", "other": "403"}


# --- moto's own machinery ----------------------------------------------------------------------------


@probe
def module_listing() -> list[int]:
    import os

    from moto import backends

    checks = []
    original = os.path.isdir
    for _ in range(2):
        counted = []

        def isdir(path: Any, counted: list[Any] = counted) -> bool:
            counted.append(path)
            return original(path)

        os.path.isdir = isdir
        try:
            list(backends.list_of_moto_modules())
        finally:
            os.path.isdir = original
        checks.append(len(counted))
    return checks


def test_moto_lists_its_package_folder_at_each_routing(moto_alone: Any) -> None:
    # (moto_fixes B: listed once)
    first, second = moto_alone(module_listing)
    assert first == second > 100


def _run_every_probe() -> None:
    results: dict[str, Any] = {}
    for name, function in PROBES.items():
        try:
            results[name] = {"value": function()}
        except Exception as error:
            results[name] = {"error": f"{type(error).__name__}: {error}"}
    corrected = sorted(name for name in sys.modules if name.startswith("pagefan"))
    assert not corrected, f"a probe imported {corrected}: moto would not be alone"
    print(json.dumps(results))


if __name__ == "__main__":
    _run_every_probe()
