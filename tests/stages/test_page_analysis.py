"""The PageWorker's stage on one page object: a page analysed, a page that fails (moto in-process)."""

from __future__ import annotations

import hashlib
from typing import Any

from pagefan import layout
from pagefan.config import PageWorkerSettings
from pagefan.formats.jobs_table import PageStatus
from tests.lambda_environment import Account, LoadEvent, function_settings
from tests.pdf_bytes import build_pdf, stream

# One page whose MediaBox encloses nothing: the failure events/job_metrics.json tells of.
EMPTY_PAGE = build_pdf(
    [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 0 0] /Contents 4 0 R >>",
        stream(b""),
    ]
)


def _upload_event(load_event: LoadEvent, body: bytes) -> dict[str, Any]:
    """events/splitter.json, describing ``body`` as the object it names (as S3 would)."""
    event = load_event("splitter")
    obj = event["Records"][0]["s3"]["object"]
    obj.update(size=len(body), eTag=hashlib.md5(body, usedforsecurity=False).hexdigest())
    return event


def test_a_page_that_cannot_be_analysed_is_recorded_failed_with_its_reason_and_no_result(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN an upload whose one page has an empty page size, split
    split = account.split(_upload_event(load_event, EMPTY_PAGE), body=EMPTY_PAGE)
    assert (split.rejection, split.pages_total) == (None, 1)
    # WHEN the PageWorker's stage processes the page, twice (S3 delivers at least once)
    first, again = account.analyse(split.job_id, [1, 1])
    # THEN the page is FAILED with a reason a person can act on, counted once, and has no result
    assert (first.status, first.counted, again.counted) == (PageStatus.FAILED, True, False)
    assert first.reason == "Page 1 has an empty or invalid page size. (damaged_page)"
    settings = function_settings("PageWorker", PageWorkerSettings)
    jobs = account.jobs(settings)
    [recorded] = jobs.iter_pages(split.job_id)
    assert (recorded.status, recorded.reason) == (PageStatus.FAILED, first.reason)
    assert jobs.first_failure(split.job_id) == f"page 1: {first.reason}"
    assert account.keys(settings.work_bucket, layout.PAGE_RESULTS_PREFIX) == []


def test_a_page_analysed_twice_is_written_the_same_and_counted_once(
    account: Account, load_event: LoadEvent
) -> None:
    split = account.split(load_event("splitter"))
    first, again = account.analyse(split.job_id, [2, 2])
    assert (first.status, first.counted) == (PageStatus.DONE, True)
    assert (again.status, again.counted) == (PageStatus.DONE, False)
    settings = function_settings("PageWorker", PageWorkerSettings)
    assert account.keys(settings.work_bucket, layout.PAGE_RESULTS_PREFIX) == [
        layout.page_result_key(split.job_id, 2)
    ]
    counts = account.jobs(settings).count_pages(split.job_id)
    assert (counts.done, counts.failed) == (1, 0)
