"""The typed contracts: settings, formats, job identity."""

from __future__ import annotations

import json

import pytest

from pagefan.config import PageWorkerSettings, SplitterSettings, load_settings
from pagefan.errors import ConfigurationError, FormatVersionError
from pagefan.formats.jobs_table import readable_cause
from pagefan.formats.page_result import PageResult, TextRun
from pagefan.formats.payloads import JobInput
from pagefan.formats.versions import PAGE_RESULT_FORMAT_VERSION
from pagefan.job_ids import derive_job_id
from pagefan.stages.page_analysis import graphics_limits

SPLITTER_ENV = {
    "WORK_BUCKET": "work",
    "JOBS_TABLE": "jobs",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
    "MAX_UPLOAD_BYTES": "1000",
    "MAX_PAGES": "10",
    "JOB_DEADLINE_SECONDS": "60",
    "JOB_TTL_DAYS": "1",
}


def test_settings_are_read_typed_from_the_environment() -> None:
    settings = load_settings(SplitterSettings, SPLITTER_ENV)
    assert settings.max_pages == 10 and settings.work_bucket == "work"


def test_settings_name_every_missing_or_malformed_variable() -> None:
    env = {**SPLITTER_ENV, "MAX_PAGES": "many", "JOB_TTL_DAYS": "0"}
    del env["WORK_BUCKET"]
    with pytest.raises(ConfigurationError) as error:
        load_settings(SplitterSettings, env)
    message = str(error.value)
    assert "WORK_BUCKET is not set" in message
    assert "MAX_PAGES='many' is not a valid int" in message
    assert "JOB_TTL_DAYS='0' must be positive" in message


def test_float_settings_accept_fractions() -> None:
    env = {
        "WORK_BUCKET": "w",
        "JOBS_TABLE": "t",
        "MAX_PAGE_CONTENT_BYTES": "1024",
        "PAGE_TIME_BUDGET_SECONDS": "2.5",
        "JOB_TTL_DAYS": "3",
        "MAX_IMAGE_PIXELS": "1000",
        "MAX_PAGE_IMAGE_BYTES": "4000",
        "MAX_PAGE_PATH_SEGMENTS": "100",
        "MAX_FORM_DEPTH": "4",
    }
    settings = load_settings(PageWorkerSettings, env)
    assert settings.page_time_budget_seconds == 2.5
    assert graphics_limits(settings).max_form_depth == 4


def test_a_page_result_round_trips_and_other_versions_are_rejected() -> None:
    page = PageResult(
        job_id="j",
        page_number=2,
        width=612,
        height=792,
        rotation=90,
        text="a b",
        words=["a", "b"],
        runs=[TextRun("a b", 72, 700, 12, "Helvetica")],
        image_count=1,
    )
    data = json.loads(json.dumps(page.to_dict()))
    assert PageResult.from_dict(data) == page
    assert page.display_size == (792, 612)
    with pytest.raises(FormatVersionError, match="format version 3"):
        PageResult.from_dict({**data, "format_version": PAGE_RESULT_FORMAT_VERSION + 1})
    with pytest.raises(FormatVersionError, match="format version True"):
        PageResult.from_dict({**data, "format_version": True})


def test_job_input_omits_an_unset_rejection_for_the_state_machine() -> None:
    job = JobInput(job_id="j", pages_total=3, deadline="2099-01-01T00:00:00.000Z")
    assert "rejection" not in job.to_dict()
    assert JobInput.from_dict(job.to_dict()) == job


def test_lambda_error_causes_become_their_message() -> None:
    cause = json.dumps({"errorMessage": "bucket missing", "errorType": "ClientError", "stackTrace": []})
    assert readable_cause(cause) == "bucket missing"
    assert readable_cause("plain words") == "plain words"


def test_a_job_id_names_one_object_version() -> None:
    first = derive_job_id("raw", "a.pdf", "v1", '"etag"')
    assert first == derive_job_id("raw", "a.pdf", "v1", "etag")  # S3 quotes ETags; events do not
    assert first != derive_job_id("raw", "a.pdf", "v2", "etag")
    assert first != derive_job_id("raw", "b.pdf", "v1", "etag")
    assert len(first) == 32 and first.isalnum()
