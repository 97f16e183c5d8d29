"""The Splitter's stage on the upload events/splitter.json names, each way it can go (moto in-process)."""

from __future__ import annotations

from dataclasses import replace

from pypdf import PdfReader

from pagefan import layout
from pagefan.config import SplitterSettings
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import JobStatus
from pagefan.formats.payloads import JobInput
from pagefan.job_ids import derive_job_id
from tests.lambda_environment import SAMPLES, Account, LoadEvent, function_settings

SAMPLE_PAGES = len(PdfReader(SAMPLES / "sample.pdf").pages)


def _settings() -> SplitterSettings:
    return function_settings("Splitter", SplitterSettings)


def test_a_duplicated_upload_event_finds_its_job_split_and_changes_nothing(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN the sample upload split once
    event = load_event("splitter")
    first = account.split(event)
    settings = _settings()
    pages = account.keys(settings.work_bucket, layout.PAGES_PREFIX)
    # WHEN its event arrives again (S3 delivers at least once)
    again = account.split(event)
    # THEN it is the same job, already split: the same pages, one execution, the job RUNNING
    assert (first.duplicate, first.rejection, first.pages_total) == (False, None, SAMPLE_PAGES)
    assert (again.job_id, again.pages_total, again.duplicate) == (first.job_id, SAMPLE_PAGES, True)
    assert account.keys(settings.work_bucket, layout.PAGES_PREFIX) == pages
    assert list(account.executions(settings.state_machine_arn)) == [first.job_id]
    record = account.jobs(settings).get_job(first.job_id)
    assert record is not None and record.status == JobStatus.RUNNING


def test_a_retry_after_a_split_that_stopped_partway_splits_again_and_starts_the_job_once(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN an upload whose job was created by a split that then crashed (the job still SPLITTING)
    event = load_event("splitter")
    obj = event["Records"][0]["s3"]["object"]
    settings = _settings()
    account.provide(settings)
    source = SourceRef(
        event["Records"][0]["s3"]["bucket"]["name"], obj["key"], None, obj["eTag"], obj["size"]
    )
    job_id = derive_job_id(source.bucket, source.key, source.version_id, source.etag)
    deadline = JobInput.from_dict(load_event("combiner")).deadline
    assert account.jobs(settings).create_job(job_id, source, deadline=deadline)
    # WHEN Lambda retries the invocation
    outcome = account.split(event)
    # THEN the upload is split in full, and its execution starts with the deadline the first attempt set
    assert (outcome.job_id, outcome.pages_total, outcome.duplicate) == (job_id, SAMPLE_PAGES, False)
    assert (
        len(account.keys(settings.work_bucket, layout.page_key(job_id, 1).rpartition("/")[0])) == SAMPLE_PAGES
    )
    assert account.executions(settings.state_machine_arn) == {
        job_id: JobInput(job_id, SAMPLE_PAGES, deadline).to_dict()
    }


def _assert_rejected(account: Account, settings: SplitterSettings, job_id: str, reason: str) -> None:
    """No page written, and the job's execution started with the rejection, to end the job FAILED."""
    assert account.keys(settings.work_bucket) == []
    [(name, task)] = account.executions(settings.state_machine_arn).items()
    assert name == job_id
    assert (task["pages_total"], task["rejection"]) == (0, reason)


def test_an_upload_that_is_not_a_pdf_is_rejected_by_its_bytes(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN the event's key ends in .pdf but the object holds text
    outcome = account.split(load_event("splitter"), body=b"Quarterly figures, plain text.\n")
    assert outcome.rejection is not None and "not a PDF" in outcome.rejection
    assert outcome.pages_total == 0
    _assert_rejected(account, _settings(), outcome.job_id, outcome.rejection)


def test_a_document_over_the_page_limit_is_rejected_before_any_page_is_written(
    account: Account, load_event: LoadEvent
) -> None:
    settings = replace(_settings(), max_pages=SAMPLE_PAGES - 1)
    outcome = account.split(load_event("splitter"), settings=settings)
    assert outcome.rejection is not None and f"{SAMPLE_PAGES - 1}" in outcome.rejection
    _assert_rejected(account, settings, outcome.job_id, outcome.rejection)


def test_an_upload_over_the_size_limit_is_rejected_without_being_read(
    account: Account, load_event: LoadEvent
) -> None:
    event = load_event("splitter")
    settings = replace(_settings(), max_upload_bytes=event["Records"][0]["s3"]["object"]["size"] - 1)
    outcome = account.split(event, settings=settings)
    assert outcome.rejection is not None and "MaxUploadBytes" in outcome.rejection
    _assert_rejected(account, settings, outcome.job_id, outcome.rejection)
