"""A table query reads only its partition, and answers exactly as moto's own query does.

Each query runs twice through boto3 on the same moto tables: once with the replacement, once with
moto's ``Table.query`` put back, and the responses are compared whole (items, order, counts, 1 MB
pages, ``LastEvaluatedKey``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from pagefan.local.emulator import moto_fixes
from tests.jobs_table import create_jobs_table

REGION = "us-east-1"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    moto_fixes.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_jobs_table(client, "jobs")
        for job, pages in (("job-a", 40), ("job-b", 25), ("job-c", 3)):
            for page in range(pages):
                client.put_item(
                    TableName="jobs",
                    Item={
                        "job_id": {"S": job},
                        "item": {"S": f"PAGE#{page:04d}"},
                        "status": {"S": "FAILED" if page % 7 == 3 else "DONE"},
                        # about 40 KB each: a query page of job-a stops at 1 MB, as DynamoDB's does
                        "text": {"S": "x" * (40_000 + page)},
                        "n": {"N": str(page)},
                    },
                )
        client.put_item(TableName="jobs", Item={"job_id": {"S": "job-a"}, "item": {"S": "JOB"}})
        client.create_table(
            TableName="numbers",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "k", "AttributeType": "S"},
                {"AttributeName": "r", "AttributeType": "N"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        for value in ("10", "9", "-1.5", "100", "2"):
            client.put_item(TableName="numbers", Item={"k": {"S": "one"}, "r": {"N": value}})
        yield client


def _pages(client: Any, request: dict[str, Any]) -> list[dict[str, Any]]:
    pages = []
    while True:
        response = client.query(**request)
        response.pop("ResponseMetadata")
        pages.append(response)
        if "LastEvaluatedKey" not in response:
            return pages
        request = {**request, "ExclusiveStartKey": response["LastEvaluatedKey"]}


def _as_moto_answers(client: Any, request: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    with monkeypatch.context() as moto_alone:
        moto_alone.setattr(Table, "query", Table.query.__wrapped__)  # type: ignore[attr-defined]
        return _pages(client, request)


def _job(job: str, condition: str = "job_id = :job", **values: Any) -> dict[str, Any]:
    return {
        "TableName": "jobs",
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": {":job": {"S": job}, **{f":{k}": {"S": v} for k, v in values.items()}},
    }


FAILED_COUNT = {
    **_job("job-a", "job_id = :job AND begins_with(#item, :prefix)", prefix="PAGE#", failed="FAILED"),
    "FilterExpression": "#status = :failed",
    "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
    "Select": "COUNT",
    "ConsistentRead": True,
}

QUERIES = {
    "whole partition": _job("job-a"),
    "progress count (1 MB pages)": FAILED_COUNT,
    "by Limit": {**_job("job-b"), "Limit": 7},
    "backwards by Limit": {**_job("job-b"), "Limit": 6, "ScanIndexForward": False},
    "backwards in 1 MB pages": {**_job("job-a"), "ScanIndexForward": False},
    "begins_with": {**_job("job-a", "job_id = :job AND begins_with(#item, :prefix)", prefix="PAGE#001")}
    | {"ExpressionAttributeNames": {"#item": "item"}},
    "between": {
        **_job("job-b", "job_id = :job AND #item BETWEEN :low AND :high", low="PAGE#0003", high="PAGE#0011")
    }
    | {"ExpressionAttributeNames": {"#item": "item"}, "Limit": 4},
    "less than, backwards": {**_job("job-b", "job_id = :job AND #item < :high", high="PAGE#0009")}
    | {"ExpressionAttributeNames": {"#item": "item"}, "ScanIndexForward": False, "Limit": 3},
    "filtered items, projected": {
        **_job("job-c"),
        "FilterExpression": "#status = :done",
        "ProjectionExpression": "#item, n",
        "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
        "ExpressionAttributeValues": {":job": {"S": "job-c"}, ":done": {"S": "DONE"}},
    },
    "a partition with no items": _job("job-none"),
    "numbers in numeric order": {
        "TableName": "numbers",
        "KeyConditionExpression": "k = :k AND r > :low",
        "ExpressionAttributeValues": {":k": {"S": "one"}, ":low": {"N": "-2"}},
        "Limit": 2,
    },
}


@pytest.mark.parametrize("name", QUERIES)
def test_a_table_query_answers_as_motos_own(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    request = QUERIES[name]
    replaced = _pages(dynamodb, request)
    assert replaced == _as_moto_answers(dynamodb, request, monkeypatch)
    # the comparison is not vacuous: each query returns something, most in several pages
    assert replaced[0].get("Count", 0) or name == "a partition with no items"


def test_the_progress_count_spans_several_1_mb_pages(dynamodb: Any) -> None:
    pages = _pages(dynamodb, FAILED_COUNT)
    assert len(pages) == 2
    assert sum(page["ScannedCount"] for page in pages) == 40
    assert sum(page["Count"] for page in pages) == len([page for page in range(40) if page % 7 == 3])


def test_a_page_starting_after_a_deleted_item_starts_where_moto_would(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = dynamodb.query(**_job("job-b"), Limit=5)
    dynamodb.delete_item(TableName="jobs", Key=first["LastEvaluatedKey"])
    request = {**_job("job-b"), "Limit": 5, "ExclusiveStartKey": first["LastEvaluatedKey"]}
    replaced = _pages(dynamodb, request)
    assert replaced == _as_moto_answers(dynamodb, request, monkeypatch)
    assert replaced[0]["Items"][0]["item"] == {"S": "PAGE#0005"}


def test_a_table_query_reads_only_its_partition(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any) -> Any:
        raise AssertionError("the whole table was listed")

    monkeypatch.setattr(Table, "all_items", refuse)
    assert sum(page["ScannedCount"] for page in _pages(dynamodb, FAILED_COUNT)) == 40
    # an index query or a scan still lists the table, through moto's own code
    with pytest.raises(Exception, match="the whole table was listed"):
        dynamodb.scan(TableName="jobs")


def test_an_item_is_read_whole_while_a_write_to_it_waits(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a query of job-a, which walks its job item (sorted among the page items) too
    from moto.dynamodb.models.dynamo_type import Item

    size = Item.size
    updates: list[threading.Thread] = []

    def size_during_an_update(self: Any) -> int:
        if self.range_key.value == "JOB" and not updates:
            # WHEN an UpdateItem of the job item (which moto applies to the stored item in place)
            # arrives while the query reads that item
            update = threading.Thread(
                target=dynamodb.update_item,
                kwargs={
                    "TableName": "jobs",
                    "Key": {"job_id": {"S": "job-a"}, "item": {"S": "JOB"}},
                    "UpdateExpression": "SET pages_split = :n",
                    "ExpressionAttributeValues": {":n": {"N": "250"}},
                },
            )
            updates.append(update)
            update.start()
            update.join(timeout=0.5)
            # THEN the write waits until the item is read: the read sees it as one write left it
            assert update.is_alive(), "the item changed while the query read it"
        return size(self)

    monkeypatch.setattr(Item, "size", size_during_an_update)
    page = _pages(dynamodb, {**_job("job-a"), "Limit": 5})[0]
    updates[0].join(timeout=120)
    assert page["Items"][0]["item"] == {"S": "JOB"} and "pages_split" not in page["Items"][0]
    assert (
        "pages_split"
        in dynamodb.get_item(TableName="jobs", Key={"job_id": {"S": "job-a"}, "item": {"S": "JOB"}})["Item"]
    )
