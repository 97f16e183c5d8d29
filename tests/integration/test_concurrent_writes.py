"""Many recorders at once against the emulated account, with DynamoDB's conflicts and throughput on.

The page recording writes only the page's own item, so it holds under any concurrency; the
recording it replaced (a transaction that also bumped a counter on the JOB item) is refused by
the emulator exactly as DynamoDB refuses it, which is what the emulator exists to show.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pagefan.aws.jobs import JobStore
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import PageStatus, page_sort_key
from pagefan.local.emulator.contention import Pressure
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.slow

RECORDERS = 64
SOURCE = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
# One attempt: botocore retries none of the conflicts anyway, and a throttle retried would hide one.
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, released together; each result, or the error it raised."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        try:
            return call()
        except ClientError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_64_concurrent_recorders_count_every_page_exactly_once(tmp_path: Path) -> None:
    with pipeline(tmp_path) as stack:
        table = stack.outputs["JobsTableName"]
        jobs = JobStore(stack.account.client("dynamodb"), table)
        assert jobs.create_job("many", SOURCE, deadline="2099-01-01T00:00:00.000Z")
        # Each recorder has its own client, as concurrent Lambda environments do; every page is
        # delivered twice, and every eighth page fails.
        stores = [
            JobStore(stack.account.session.client("dynamodb", endpoint_url=stack.account.endpoint), table)
            for _ in range(RECORDERS)
        ]
        pages = [1 + n // 2 for n in range(RECORDERS)]

        def record(recorder: int) -> Callable[[], bool]:
            page = pages[recorder]
            status = PageStatus.FAILED if page % 8 == 0 else PageStatus.DONE
            return lambda: stores[recorder].record_page(
                "many", page, status=status, duration_ms=1, reason="bad page"
            )

        counted = _all_at_once([record(n) for n in range(RECORDERS)])
        assert not [c for c in counted if isinstance(c, Exception)]
        assert counted.count(True) == RECORDERS // 2  # each page once, whichever delivery won
        record_ = jobs.get_job("many")
        assert record_ is not None
        assert (record_.pages_done, record_.pages_failed) == (28, 4)
        assert [p.page_number for p in jobs.iter_pages("many")] == list(range(1, 33))
        assert jobs.first_failure("many") is not None


def _old_recording(table: str, page: int) -> list[dict[str, Any]]:
    """The recording as it was: the page item and an ADD to the JOB item's counter, in one transaction."""
    return [
        {
            "Put": {
                "TableName": table,
                "Item": {"job_id": {"S": "old"}, "item": {"S": page_sort_key(page)}, "status": {"S": "DONE"}},
                "ConditionExpression": "attribute_not_exists(job_id)",
            }
        },
        {
            "Update": {
                "TableName": table,
                "Key": {"job_id": {"S": "old"}, "item": {"S": "JOB"}},
                "UpdateExpression": "ADD pages_done :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ConditionExpression": "attribute_exists(job_id)",
            }
        },
    ]


def test_the_old_recording_through_the_job_item_is_refused_under_the_same_load(tmp_path: Path) -> None:
    with pipeline(tmp_path) as stack:
        account = stack.account
        table = stack.outputs["JobsTableName"]
        jobs = JobStore(account.client("dynamodb"), table)
        assert jobs.create_job("old", SOURCE, deadline="2099-01-01T00:00:00.000Z")
        clients = [
            account.session.client("dynamodb", endpoint_url=account.endpoint, config=ONE_ATTEMPT)
            for _ in range(RECORDERS)
        ]
        # GIVEN one recording that has prepared and holds the JOB item (its commit held back, so
        # the overlap does not depend on how fast this machine is)
        with account.dynamodb.commits_paused():
            first = threading.Thread(
                target=clients[0].transact_write_items, kwargs={"TransactItems": _old_recording(table, 1)}
            )
            first.start()
            deadline = time.monotonic() + 60  # a guard against a hang, not a measurement
            while account.dynamodb.held_items() < 2:
                assert time.monotonic() < deadline, "the first recording never prepared"
                time.sleep(0.01)
            # WHEN the other 63 pages record themselves at once
            outcomes = _all_at_once(
                [
                    lambda n=n: clients[n].transact_write_items(TransactItems=_old_recording(table, n + 1))
                    for n in range(1, RECORDERS)
                ]
            )
        first.join()
        # THEN DynamoDB cancels every one of them on the JOB item: each page would fail
        refused = [o for o in outcomes if isinstance(o, ClientError)]
        assert len(refused) == RECORDERS - 1
        assert {o.response["Error"]["Code"] for o in refused} == {"TransactionCanceledException"}
        assert {tuple(r["Code"] for r in o.response["CancellationReasons"]) for o in refused} == {
            ("None", "TransactionConflict")
        }
        job = account.client("dynamodb").get_item(
            TableName=table, Key={"job_id": {"S": "old"}, "item": {"S": "JOB"}}
        )["Item"]
        assert job["pages_done"] == {"N": "1"}
        assert account.contention.of("old")[Pressure.TRANSACTION_CONFLICTS] == RECORDERS - 1
