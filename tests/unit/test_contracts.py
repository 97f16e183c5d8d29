"""The typed contracts: settings, formats, job identity."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pagefan.config import PageWorkerSettings, SplitterSettings, load_settings
from pagefan.errors import (
    ConfigurationError,
    DocumentRejected,
    ErrorCode,
    FormatVersionError,
    MissingPageResult,
    PageFailed,
    PageFailureCode,
    RejectionCode,
)
from pagefan.formats.jobs_table import JobStatus, PageStatus, readable_cause
from pagefan.formats.page_result import Omission, OmissionCode, PageResult, TextRun
from pagefan.formats.payloads import JobInput, PdfExportMode
from pagefan.formats.timestamps import iso_timestamp, utc_now
from pagefan.formats.versions import PAGE_RESULT_FORMAT_VERSION, check_metadata_version, object_metadata
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


def test_closed_sets_keep_their_wire_values() -> None:
    # Table items, events, page results and logs carry these values: renaming one breaks readers.
    assert [code.value for code in RejectionCode] == [
        "empty",
        "too_large",
        "not_a_pdf",
        "damaged",
        "encrypted",
        "page_tree_loop",
        "no_pages",
        "too_many_pages",
    ]
    assert [code.value for code in PageFailureCode] == [
        "damaged_page",
        "content_too_large",
        "unreadable_text",
        "time_budget",
        "memory_budget",
    ]
    assert [code.value for code in OmissionCode] == [
        "image_undecodable",
        "image_too_many_pixels",
        "image_bytes_per_page",
        "path_limit",
        "form_depth",
        "form_expansion",
        "graphics_unreadable",
        "shading_approximated",
        "shading",
    ]
    assert [status.value for status in JobStatus] == ["SPLITTING", "RUNNING", "COMPLETED", "FAILED"]
    assert [status.value for status in PageStatus] == ["DONE", "FAILED"]
    assert [mode.value for mode in PdfExportMode] == ["part", "merge", "document"]
    assert [status for status in JobStatus if status.terminal] == [JobStatus.COMPLETED, JobStatus.FAILED]


def test_every_error_carries_its_code() -> None:
    assert DocumentRejected(RejectionCode.EMPTY, "The file is empty.").code == "empty"
    assert PageFailed(PageFailureCode.TIME_BUDGET, "Page 1 took too long.").code == "time_budget"
    assert FormatVersionError("old").code == ErrorCode.FORMAT_VERSION
    assert MissingPageResult("gone").code == ErrorCode.MISSING_PAGE_RESULT


def test_a_page_result_with_an_omission_code_no_writer_writes_is_refused() -> None:
    page = PageResult("j", 1, 612, 792, 0, "", [], [], 0, omitted=[Omission(OmissionCode.PATH_LIMIT, "d")])
    data = json.loads(json.dumps(page.to_dict()))
    assert data["omitted"] == [{"code": "path_limit", "detail": "d"}]
    assert PageResult.from_dict(data) == page
    data["omitted"][0]["code"] = "path_limits"
    with pytest.raises(FormatVersionError, match="path_limits"):
        PageResult.from_dict(data)


def test_stored_times_have_one_form() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678_900, tzinfo=UTC)
    assert iso_timestamp(moment) == "2026-01-02T03:04:05.678Z"
    assert iso_timestamp(moment.astimezone(timezone(timedelta(hours=2)))) == "2026-01-02T03:04:05.678Z"
    assert len(utc_now()) == len("2026-01-02T03:04:05.678Z") and utc_now().endswith("Z")


@pytest.mark.parametrize("stored", [None, "0", "2", "one", "True"])
def test_object_metadata_of_another_version_is_refused(stored: str | None) -> None:
    metadata = object_metadata("job")
    assert metadata["pagefan-format"] == "1"
    check_metadata_version(metadata, "page object")
    if stored is None:
        del metadata["pagefan-format"]
    else:
        metadata["pagefan-format"] = stored
    with pytest.raises(FormatVersionError, match=r"^page object has format version"):
        check_metadata_version(metadata, "page object")
