"""The emulated DynamoDB refuses what DynamoDB refuses: transaction conflicts and partition throughput.

moto in-process with the emulation attached; clients make one attempt, so each refusal shows. The
token buckets run on a clock the tests hold still, so no verdict depends on the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from pagefan.local.emulator import dynamodb_limits, moto_fixes
from pagefan.local.emulator.contention import Pressure
from pagefan.local.emulator.dynamodb_limits import DynamoDbEmulation, DynamoDbLimits
from tests.jobs_table import create_jobs_table

TABLE = "jobs"
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def emulation() -> Iterator[DynamoDbEmulation]:
    moto_fixes.apply()
    emulated = DynamoDbEmulation(DynamoDbLimits(partition_write_units_per_s=10), clock=lambda: 0.0)
    with mock_aws():
        create_jobs_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        dynamodb_limits.attach(emulated)
        try:
            yield emulated
        finally:
            dynamodb_limits.detach()


def _client() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1", config=ONE_ATTEMPT)


def _item(job: str, item: str, **extra: Any) -> dict[str, Any]:
    return {"job_id": {"S": job}, "item": {"S": item}, **extra}


def _code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def _reasons(error: ClientError) -> list[str]:
    return [reason.get("Code", "None") for reason in error.response.get("CancellationReasons", [])]


def _put(item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": item}}


@pytest.mark.slow  # waits out a second of partition throughput
def test_a_partition_takes_its_write_units_a_second_then_refuses(emulation: DynamoDbEmulation) -> None:
    client = _client()
    for page in range(10):
        client.put_item(TableName=TABLE, Item=_item("hot", f"PAGE#{page}"))
    with pytest.raises(ClientError) as refused:
        client.put_item(TableName=TABLE, Item=_item("hot", "PAGE#10"))
    assert _code(refused.value) == "ProvisionedThroughputExceededException"
    # Another partition key has its own throughput.
    client.put_item(TableName=TABLE, Item=_item("cool", "PAGE#1"))
    # The refused write wrote nothing.
    assert "Item" not in client.get_item(TableName=TABLE, Key=_item("hot", "PAGE#10"))
    assert emulation.contention.of("hot")[Pressure.THROTTLED_WRITES] == 1
    assert emulation.contention.of("cool")[Pressure.THROTTLED_WRITES] == 0


def test_write_units_round_item_sizes_up_to_a_kilobyte(emulation: DynamoDbEmulation) -> None:
    client = _client()
    big = _item("sized", "PAGE#1", body={"S": "x" * 3000})  # 3 KB: 3 units
    for page in range(3):
        client.put_item(TableName=TABLE, Item={**big, "item": {"S": f"PAGE#{page}"}})
    with pytest.raises(ClientError) as refused:
        client.put_item(TableName=TABLE, Item={**big, "item": {"S": "PAGE#3"}})
    assert _code(refused.value) == "ProvisionedThroughputExceededException"
    client.put_item(TableName=TABLE, Item=_item("sized", "PAGE#4"))  # the tenth unit


def test_a_transaction_writes_each_item_twice_and_is_cancelled_for_throughput(
    emulation: DynamoDbEmulation,
) -> None:
    client = _client()
    # Five items of 2 units each: all 10 of the partition's units.
    client.transact_write_items(TransactItems=[_put(_item("tx", f"PAGE#{n}")) for n in range(5)])
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[_put(_item("other", "PAGE#1")), _put(_item("tx", "PAGE#9"))]
        )
    assert _code(cancelled.value) == "TransactionCanceledException"
    assert _reasons(cancelled.value) == ["None", "ThrottlingError"]
    assert "Item" not in client.get_item(TableName=TABLE, Key=_item("other", "PAGE#1"))


def _hold(emulation: DynamoDbEmulation, items: list[dict[str, Any]]) -> threading.Thread:
    """Start a transaction of ``items`` in a thread and return once it holds them (commits paused)."""
    holder = threading.Thread(target=_client().transact_write_items, kwargs={"TransactItems": items})
    holder.start()
    deadline = time.monotonic() + 60  # a guard against a hang only: the wait is for a state
    while emulation.held_items() < len(items):
        assert time.monotonic() < deadline, "the transaction never prepared"
        time.sleep(0.01)
    return holder


def test_a_transaction_on_a_held_item_is_cancelled_with_a_conflict(emulation: DynamoDbEmulation) -> None:
    client = _client()
    client.put_item(TableName=TABLE, Item=_item("job", "JOB", done={"N": "0"}))
    bump = {
        "Update": {
            "TableName": TABLE,
            "Key": _item("job", "JOB"),
            "UpdateExpression": "ADD done :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    with emulation.commits_paused():
        holder = _hold(emulation, [_put(_item("job", "PAGE#1")), bump])
        with pytest.raises(ClientError) as cancelled:
            client.transact_write_items(TransactItems=[_put(_item("job", "PAGE#2")), bump])
        assert _reasons(cancelled.value) == ["None", "TransactionConflict"]
        with pytest.raises(ClientError) as refused:
            client.update_item(
                TableName=TABLE,
                Key=_item("job", "JOB"),
                UpdateExpression="SET #s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": {"S": "RUNNING"}},
            )
        assert _code(refused.value) == "TransactionConflictException"
        # An item no transaction holds is written at once.
        client.put_item(TableName=TABLE, Item=_item("job", "PAGE#3"))
    holder.join()
    job = client.get_item(TableName=TABLE, Key=_item("job", "JOB"))["Item"]
    assert job["done"] == {"N": "1"}  # the held transaction committed; the cancelled one did nothing
    assert "Item" not in client.get_item(TableName=TABLE, Key=_item("job", "PAGE#2"))
    assert emulation.contention.of("job")[Pressure.TRANSACTION_CONFLICTS] == 2
    assert emulation.held_items() == 0


@pytest.mark.parametrize("read", ["get_item", "batch_get_item"])
def test_a_read_sees_an_update_whole_or_not_at_all(
    emulation: DynamoDbEmulation, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    from moto.dynamodb.parsing.executors import SetExecutor

    client = _client()
    client.put_item(TableName=TABLE, Item=_item("job", "JOB", status={"S": "RUNNING"}))
    # GIVEN an update of two attributes that stops after its first action is applied
    halfway, release = threading.Event(), threading.Event()
    original = SetExecutor.execute

    def set_then_pause(self: Any, item: Any) -> None:
        original(self, item)
        if not halfway.is_set():
            halfway.set()
            release.wait(timeout=120)  # a guard against a hang: the test releases it

    monkeypatch.setattr(SetExecutor, "execute", set_then_pause)
    writer = threading.Thread(
        target=client.update_item,
        kwargs={
            "TableName": TABLE,
            "Key": _item("job", "JOB"),
            "UpdateExpression": "SET #status = :failed, #error = :error",
            "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
            "ExpressionAttributeValues": {":failed": {"S": "FAILED"}, ":error": {"S": "why"}},
        },
    )
    writer.start()
    assert halfway.wait(timeout=120)
    # WHEN another client reads the item meanwhile
    seen: list[dict[str, Any]] = []

    def reader() -> None:
        if read == "get_item":
            seen.append(
                client.get_item(TableName=TABLE, Key=_item("job", "JOB"), ConsistentRead=True)["Item"]
            )
        else:
            seen.extend(
                client.batch_get_item(
                    RequestItems={TABLE: {"Keys": [_item("job", "JOB")], "ConsistentRead": True}}
                )["Responses"][TABLE]
            )

    reading = threading.Thread(target=reader)
    reading.start()
    # A read that is let through returns at once; one held waits for the update. Either way the
    # update then ends, and the read's verdict is the same however long this second takes.
    reading.join(timeout=1.0)
    release.set()
    writer.join()
    reading.join()
    # THEN it saw the update whole (it waited for it), never the status without the error
    assert [(item["status"]["S"], item.get("error", {}).get("S")) for item in seen] == [("FAILED", "why")]


def test_with_the_emulation_off_writes_are_only_isolated(emulation: DynamoDbEmulation) -> None:
    dynamodb_limits.detach()
    client = _client()
    for page in range(20):  # twice what the attached limits allowed
        client.put_item(TableName=TABLE, Item=_item("free", f"PAGE#{page}"))
    assert emulation.contention.of()[Pressure.THROTTLED_WRITES] == 0


def test_the_limits_can_be_turned_off_one_at_a_time(emulation: DynamoDbEmulation) -> None:
    dynamodb_limits.attach(
        DynamoDbEmulation(DynamoDbLimits(partition_write_units_per_s=1, throttling=False), clock=lambda: 0.0)
    )
    client = _client()
    for page in range(5):
        client.put_item(TableName=TABLE, Item=_item("unthrottled", f"PAGE#{page}"))


def test_the_default_limits_are_dynamodbs() -> None:
    limits = DynamoDbLimits()
    assert (limits.partition_write_units_per_s, limits.conflicts, limits.throttling) == (1000.0, True, True)
    assert 0 < limits.transaction_window_s <= 0.05
