"""The runtime's cheaper moto paths answer exactly as moto's own (moto in-process, fixes applied)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from pagefan.local.emulator import moto_fixes
from tests.jobs_table import create_jobs_table

TABLE = "jobs"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_fixes.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_jobs_table(client, TABLE)
        client.put_item(
            TableName=TABLE, Item={"job_id": {"S": "j"}, "item": {"S": "JOB"}, "done": {"N": "1"}}
        )
        client.put_item(
            TableName=TABLE, Item={"job_id": {"S": "j"}, "item": {"S": "PAGE#1"}, "s": {"S": "DONE"}}
        )
        yield client


def _items(client: Any, table: str = TABLE) -> list[dict[str, Any]]:
    return sorted(client.scan(TableName=table)["Items"], key=lambda item: item["item"]["S"])


def _record_page(table: str, page: str, condition: str = "attribute_not_exists(job_id)") -> list[Any]:
    """A page recording as JobStore.record_page writes it: the page item and the job's counter."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": {"job_id": {"S": "j"}, "item": {"S": page}, "s": {"S": "DONE"}},
                "ConditionExpression": condition,
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": {"job_id": {"S": "j"}, "item": {"S": "JOB"}},
                "UpdateExpression": "ADD done :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ConditionExpression": "attribute_exists(job_id)",
            }
        },
    ]


def test_a_committed_transaction_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(TransactItems=_record_page(TABLE, "PAGE#2"))
    items = _items(dynamodb)
    assert [item["item"]["S"] for item in items] == ["JOB", "PAGE#1", "PAGE#2"]
    assert items[0]["done"] == {"N": "2"}


@pytest.mark.parametrize(
    "transaction",
    [
        # the page exists: the Put's condition fails, the job's ADD (already applied) is undone
        _record_page(TABLE, "PAGE#1"),
        # the new page is written, then a later item fails: the new page is removed again
        [
            *_record_page(TABLE, "PAGE#3"),
            {
                "ConditionCheck": {
                    "TableName": TABLE,
                    "Key": {"job_id": {"S": "j"}, "item": {"S": "PAGE#1"}},
                    "ConditionExpression": "attribute_not_exists(job_id)",
                }
            },
        ],
        # a Delete then a failing Update: the deleted item comes back as it was
        [
            {"Delete": {"TableName": TABLE, "Key": {"job_id": {"S": "j"}, "item": {"S": "PAGE#1"}}}},
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"job_id": {"S": "j"}, "item": {"S": "JOB"}},
                    "UpdateExpression": "ADD done :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                    "ConditionExpression": "attribute_not_exists(job_id)",
                }
            },
        ],
    ],
    ids=["update-undone", "put-undone", "delete-undone"],
)
def test_a_cancelled_transaction_leaves_every_item_as_it_was(dynamodb: Any, transaction: list[Any]) -> None:
    before = _items(dynamodb)
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=transaction)
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _items(dynamodb) == before


def test_one_item_twice_is_refused_and_changes_nothing(dynamodb: Any) -> None:
    before = _items(dynamodb)
    twice = _record_page(TABLE, "PAGE#4")
    twice.insert(0, {"Put": {"TableName": TABLE, "Item": {"job_id": {"S": "j"}, "item": {"S": "JOB"}}}})
    with pytest.raises(ClientError) as refused:
        dynamodb.transact_write_items(TransactItems=twice)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert _items(dynamodb) == before


def test_a_transaction_does_not_copy_the_tables_it_names(dynamodb: Any, monkeypatch: Any) -> None:
    # GIVEN a table that cannot be copied: a transaction that copied it whole would fail
    from moto.dynamodb.models.table import Table

    def refuse(self: Any, memo: Any) -> Any:
        raise AssertionError("a transaction copied a whole table")

    monkeypatch.setattr(Table, "__deepcopy__", refuse, raising=False)
    # WHEN transactions commit and are cancelled THEN each touches only its own items
    dynamodb.transact_write_items(TransactItems=_record_page(TABLE, "PAGE#2"))
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=_record_page(TABLE, "PAGE#2"))
    assert _items(dynamodb)[0]["done"] == {"N": "2"}


def test_a_table_with_a_stream_is_rolled_back_with_its_records(dynamodb: Any) -> None:
    create_jobs_table(
        dynamodb, "streamed", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    dynamodb.put_item(TableName="streamed", Item={"job_id": {"S": "j"}, "item": {"S": "JOB"}})
    before = _items(dynamodb, "streamed")
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=_record_page("streamed", "JOB"))
    assert _items(dynamodb, "streamed") == before


def test_moto_modules_are_listed_once_and_the_same() -> None:
    import os

    import moto
    from moto import backends

    moto_fixes.apply()
    root = os.path.dirname(moto.__file__)
    on_disk = sorted(
        name
        for name in os.listdir(root)
        if os.path.isdir(os.path.join(root, name)) and not name.startswith("__")
    )
    assert list(backends.list_of_moto_modules()) == on_disk
    assert backends.list_of_moto_modules() is backends.list_of_moto_modules()


def test_a_jsonpath_is_parsed_once_and_evaluates_as_before() -> None:
    from moto.stepfunctions.parser.asl.utils import json_path

    moto_fixes.apply()
    data = {"job": {"pages_total": 3}, "exported": [{"svg_prefix": "svg/"}], "list": [1, 2]}
    parse = json_path.parse
    parse.cache_clear()  # type: ignore[attr-defined]
    for _ in range(3):
        assert json_path.extract_json("$.job.pages_total", data) == 3
        assert json_path.extract_json("$.exported[0].svg_prefix", data) == "svg/"
        assert json_path.extract_json("$.list[*]", data) == [1, 2]
    assert parse.cache_info().misses == 3  # type: ignore[attr-defined]


def test_an_execution_stopped_before_its_worker_runs_ends_aborted(monkeypatch: Any) -> None:
    # GIVEN an execution whose worker thread has not yet built its environment
    import json
    import threading
    import time

    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    moto_fixes.apply()
    release = threading.Event()
    original_logic = ExecutionWorker._execution_logic

    def held_back(self: Any) -> None:
        release.wait(120)  # a guard against a hang: the test releases it right after the stop
        original_logic(self)

    monkeypatch.setattr(ExecutionWorker, "_execution_logic", held_back)
    definition = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 5, "End": True}}}
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(
            name="m", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=machine, name="early")["executionArn"]
        # WHEN it is stopped at once THEN the stop succeeds, and the execution ends ABORTED
        sfn.stop_execution(executionArn=execution)
        release.set()
        # Ignored, the stop would let the 5 s Wait end SUCCEEDED: the verdict is the status it ends with.
        deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
        while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.05)
        assert status == "ABORTED"


# moto's own engine, in a process the runtime's corrections never touched.
_LOOP_WITHOUT_FIXES = """
import json, time
import boto3
from moto import mock_aws

loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}}
with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    machine = sfn.create_state_machine(
        name="loops", definition=json.dumps(loop), roleArn="arn:aws:iam::123456789012:role/r"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    # The history counted in place: reading it through the API costs more than the loop.
    backend = stepfunctions_parser_backends["123456789012"]["us-east-1"]
    worker = next(e for e in backend._get_executions() if e.exec_arn == execution).exec_worker
    deadline = time.monotonic() + 600
    events = 0
    while events <= LIMIT and time.monotonic() < deadline:
        time.sleep(0.2)
        events = len(worker.env.event_manager._history_event_list)
    status = sfn.describe_execution(executionArn=execution)["status"]
    sfn.stop_execution(executionArn=execution)
    print(json.dumps({"events": events, "status": status}))
"""


# A loop of Pass states past 25,000 history events in moto's engine: minutes of CPU, within the
# loop's own 600 s guard.
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_moto_alone_lets_an_execution_run_past_25000_history_events() -> None:
    # GIVEN moto's engine without the runtime's corrections, and a state machine that loops forever
    import json
    import subprocess
    import sys

    script = _LOOP_WITHOUT_FIXES.replace("LIMIT", str(moto_fixes.HISTORY_EVENT_LIMIT))
    # WHEN it has run a while THEN it is still RUNNING past AWS's quota (fix 7 is needed)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=900, check=True
    )
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["events"] > moto_fixes.HISTORY_EVENT_LIMIT
    assert outcome["status"] == "RUNNING"
