"""The jobs table's bookkeeping under any order and repetition of page recordings (moto in-process)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from pagefan.aws.jobs import JobStore
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import PageStatus
from tests.jobs_table import create_jobs_table

TABLE = "jobs"
_JOBS = itertools.count()  # hypothesis replays examples: every run needs a job of its own


@pytest.fixture(scope="module")
def store() -> Iterator[JobStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_jobs_table(client, TABLE)
        yield JobStore(client, TABLE)


# One delivery: (page number, whether this attempt failed the page).
deliveries = st.integers(min_value=1, max_value=6).flatmap(
    lambda pages: st.tuples(
        st.just(pages),
        st.lists(st.tuples(st.integers(1, pages), st.booleans()), min_size=pages, max_size=pages * 3),
    )
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=deliveries)
@pytest.mark.slow  # 64 concurrent recorders against the emulated limits
def test_each_page_counts_once_whatever_the_deliveries(
    store: JobStore, schedule: tuple[int, list[tuple[int, bool]]]
) -> None:
    pages, attempts = schedule
    # every page is delivered at least once, after the random (duplicated, reordered) deliveries
    attempts = attempts + [(page, False) for page in range(1, pages + 1)]
    job_id = f"job-{next(_JOBS)}"
    source = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
    assert store.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")
    assert not store.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")

    first: dict[int, str] = {}
    for page, fails in attempts:
        status = PageStatus.FAILED if fails else PageStatus.DONE
        counted = store.record_page(
            job_id, page, status=status, duration_ms=1, reason="bad" if fails else None
        )
        assert counted == (page not in first)
        first.setdefault(page, status)

    record = store.get_job(job_id)
    assert record is not None
    items = list(store.iter_pages(job_id))
    assert [item.page_number for item in items] == list(range(1, pages + 1))  # no page item twice
    assert {item.page_number: item.status for item in items} == first  # the first recording wins
    assert record.pages_done + record.pages_failed == pages
    assert record.pages_failed == sum(1 for status in first.values() if status == PageStatus.FAILED)


def test_forgetting_a_failed_page_happens_once_and_never_to_a_done_page(store: JobStore) -> None:
    # GIVEN a job with page 1 FAILED and page 2 DONE
    job_id = f"job-{next(_JOBS)}"
    source = SourceRef(bucket="raw", key="a.pdf", version_id="v", etag="e", size=1)
    assert store.create_job(job_id, source, deadline="2099-01-01T00:00:00.000Z")
    assert store.record_page(job_id, 1, status=PageStatus.FAILED, duration_ms=1, reason="bad")
    assert store.record_page(job_id, 2, status=PageStatus.DONE, duration_ms=1)

    # WHEN the failed page is forgotten twice, and the done page and a page never recorded once each
    # THEN only the first forgetting of the failed page changes anything
    assert store.forget_failed_page(job_id, 1)
    assert not store.forget_failed_page(job_id, 1)
    assert not store.forget_failed_page(job_id, 2)
    assert not store.forget_failed_page(job_id, 3)
    record = store.get_job(job_id)
    assert record is not None
    assert (record.pages_done, record.pages_failed) == (1, 0)
    assert [item.page_number for item in store.iter_pages(job_id)] == [2]
    # and the page can be recorded again, counted once
    assert store.record_page(job_id, 1, status=PageStatus.DONE, duration_ms=1)
