"""The Splitter's stage on the upload events/splitter.json names, each way it can go (moto in-process)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pypdf import PdfReader

from pagefan import layout
from pagefan.config import SplitterSettings
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import JobStatus
from pagefan.formats.payloads import JobInput
from pagefan.job_ids import derive_job_id
from pagefan.stages.splitting import SplitProgress
from tests.documents import make_sample_pdf
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


class Killed(BaseException):
    """The Splitter's environment dies here (a Timeout, an out-of-memory kill): nothing runs on."""


def test_a_retry_after_a_split_died_partway_splits_only_the_pages_not_recorded_as_written(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN a 12-page upload whose first split died right after it recorded its first progress
    event = load_event("splitter")
    document = make_sample_pdf(12)
    settings = _settings()

    def die(**_: Any) -> None:
        account.dynamodb.meta.events.unregister("after-call.dynamodb.UpdateItem", die)
        raise Killed

    account.dynamodb.meta.events.register("after-call.dynamodb.UpdateItem", die)
    with pytest.raises(Killed):
        account.split(event, document, progress_every=3)
    job_id = derive_job_id(
        event["Records"][0]["s3"]["bucket"]["name"],
        event["Records"][0]["s3"]["object"]["key"],
        None,
        event["Records"][0]["s3"]["object"]["eTag"],
    )
    died = account.jobs(settings).get_job(job_id, count_pages=False)
    assert died is not None and died.status == JobStatus.SPLITTING
    assert 3 <= died.pages_split < 12
    assert account.executions(settings.state_machine_arn) == {}
    # WHEN Lambda retries the invocation
    written: list[str] = []
    account.s3.meta.events.register(
        "before-parameter-build.s3.PutObject", lambda params, **_: written.append(params["Key"])
    )
    outcome = account.split(event, document, progress_every=3)
    # THEN it splits and writes only the pages after those recorded, and the job starts with all 12
    pages_after = [layout.page_key(job_id, page) for page in range(died.pages_split + 1, 13)]
    assert sorted(key for key in written if key.startswith(layout.PAGES_PREFIX)) == pages_after
    assert (outcome.pages_total, outcome.pages_resumed, outcome.duplicate) == (12, died.pages_split, False)
    assert len(account.keys(settings.work_bucket, layout.page_key(job_id, 1).rpartition("/")[0])) == 12
    record = account.jobs(settings).get_job(job_id, count_pages=False)
    assert record is not None and record.status == JobStatus.RUNNING
    assert [task["pages_total"] for task in account.executions(settings.state_machine_arn).values()] == [12]


def test_a_split_whose_progress_cannot_be_recorded_goes_on_and_starts_its_job(
    account: Account, load_event: LoadEvent
) -> None:
    # GIVEN a jobs table that refuses every record of a split's progress (throttled past the retries)
    def refuse(params: dict[str, Any], **_: Any) -> None:
        if "pages_split" in params.get("UpdateExpression", ""):
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}},
                "UpdateItem",
            )

    account.dynamodb.meta.events.register("before-parameter-build.dynamodb.UpdateItem", refuse)
    # WHEN a 7-page upload is split, recording progress every 2 pages
    outcome = account.split(load_event("splitter"), make_sample_pdf(7), progress_every=2)
    # THEN every page is written and the job starts: the record only serves a retry
    settings = _settings()
    assert (outcome.pages_total, outcome.rejection) == (7, None)
    record = account.jobs(settings).get_job(outcome.job_id, count_pages=False)
    assert record is not None and (record.status, record.pages_split) == (JobStatus.RUNNING, 0)
    assert len(account.keys(settings.work_bucket, layout.page_key(outcome.job_id, 1).rpartition("/")[0])) == 7


def test_split_progress_is_the_end_of_the_unbroken_run_of_written_pages(account: Account) -> None:
    # GIVEN a job being split, whose pages are written in any order
    settings = _settings()
    account.provide(settings)
    jobs = account.jobs(settings)
    source = SourceRef("raw", "inbox/report.pdf", None, '"etag"', 100)
    assert jobs.create_job("job-1", source, deadline="2030-01-01T00:00:00.000Z")
    progress = SplitProgress(jobs, "job-1", written_before=0, every=2)

    def recorded() -> int:
        record = jobs.get_job("job-1", count_pages=False)
        assert record is not None
        return record.pages_split

    # WHEN pages 2, 3 and 4 are written before page 1: nothing is recorded beyond the gap
    for page in (2, 3, 4):
        progress.written(layout.page_key("job-1", page))
    assert recorded() == 0
    # THEN page 1 closes the gap: pages 1 to 4 are recorded as written
    progress.written(layout.page_key("job-1", 1))
    assert recorded() == 4
    # AND an older, smaller figure (a duplicate invocation's) never lowers it, nor is kept once RUNNING
    assert not jobs.record_split_progress("job-1", pages_split=2)
    jobs.mark_running("job-1", pages_total=4, sha256="0" * 64)
    assert not jobs.record_split_progress("job-1", pages_split=9)
    assert recorded() == 4


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
