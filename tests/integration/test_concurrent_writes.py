"""Concurrent conditional writes against the emulated account are as isolated as DynamoDB's."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pagefan.aws.jobs import JobStore
from pagefan.formats import PageStatus, SourceRef
from tests.integration.pipeline import pipeline


def test_one_page_recorded_from_many_threads_at_once_counts_once(tmp_path: Path) -> None:
    with pipeline(tmp_path) as stack:
        jobs = JobStore(stack.account.client("dynamodb"), stack.outputs["JobsTableName"])
        source = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
        for attempt in range(5):
            job_id = f"race-{attempt}"
            assert jobs.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")
            # Each thread has its own client, as concurrent Lambda environments do.
            stores = [
                JobStore(stack.account.client("dynamodb"), stack.outputs["JobsTableName"]) for _ in range(16)
            ]
            with ThreadPoolExecutor(max_workers=16) as pool:
                counted = list(
                    pool.map(
                        lambda store, job=job_id: store.record_page(
                            job, 1, status=PageStatus.DONE, duration_ms=1
                        ),
                        stores,
                    )
                )
            record = jobs.get_job(job_id)
            assert record is not None
            assert (counted.count(True), record.pages_done) == (1, 1), f"attempt {attempt}"


def test_many_pages_recorded_at_once_lose_no_count(tmp_path: Path) -> None:
    # DynamoDB applies concurrent ADDs to one item one after another: none is lost, none doubled.
    with pipeline(tmp_path) as stack:
        table = stack.outputs["JobsTableName"]
        jobs = JobStore(stack.account.client("dynamodb"), table)
        source = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
        assert jobs.create_job("many", source, deadline="2099-01-01T00:00:00.000Z")
        stores = [JobStore(stack.account.client("dynamodb"), table) for _ in range(16)]
        pages = range(1, 161)
        with ThreadPoolExecutor(max_workers=16) as pool:
            counted = list(
                pool.map(
                    lambda page: stores[page % 16].record_page(
                        "many", page, status=PageStatus.DONE, duration_ms=1
                    ),
                    pages,
                )
            )
        record = jobs.get_job("many")
        assert record is not None
        assert all(counted)
        assert record.pages_done == len(pages)
