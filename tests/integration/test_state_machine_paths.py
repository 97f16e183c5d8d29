"""Every path of the DocumentJob state machine, through the local runtime.

Each failure is produced the way it happens on AWS: bad content, or one function's configuration
changed after deployment (a wrong bucket name, too little memory). Nothing is mocked.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pypdf
import pytest
from pypdf import PdfReader, PdfWriter

from pagefan import layout
from pagefan.formats.jobs_table import JobStatus, PageStatus
from tests.documents import make_sample_pdf
from tests.integration.pipeline import pipeline

pytestmark = pytest.mark.slow


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _concatenate(*documents: bytes) -> bytes:
    writer = PdfWriter()
    for document in documents:
        writer.append(PdfReader(io.BytesIO(document)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_document_completes_with_every_output_and_an_event(tmp_path: Path) -> None:
    # GIVEN the template deployed locally and a 6-page document
    with pipeline(tmp_path) as stack:
        # WHEN it is uploaded to the raw bucket
        record = stack.run(make_sample_pdf(6), "report.pdf")

        # THEN the job completes with every page counted once
        assert record.status == JobStatus.COMPLETED, record.error
        assert (record.pages_total, record.pages_done, record.pages_failed) == (6, 6, 0)
        assert [page.status for page in stack.pages(record.job_id)] == [PageStatus.DONE] * 6
        # and every output is in the results bucket, listed in the job record
        assert record.outputs == {
            "document_json": layout.document_json_key(record.job_id),
            "document_text": layout.document_text_key(record.job_id),
            "svg_prefix": layout.svg_key(record.job_id, 1).rsplit("/", 1)[0] + "/",
            "document_pdf": layout.pdf_key(record.job_id),
        }
        svgs = stack.keys("ResultsBucketName", record.outputs["svg_prefix"])
        assert len(svgs) == 6
        rebuilt = pypdf.PdfReader(io.BytesIO(stack.read("ResultsBucketName", record.outputs["document_pdf"])))
        assert len(rebuilt.pages) == 6
        text = stack.read("ResultsBucketName", record.outputs["document_text"]).decode()
        assert text.count("\f") == 5
        # and every structured log line of the Splitter and the workers names the job (and the page)
        for function in ("Splitter", "PageWorker"):
            lines = [
                json.loads(line)
                for log in (stack.account.work_dir / "logs").glob(f"{function}-*.log")
                for line in log.read_text().splitlines()
                if line.startswith("{") and '"level"' in line
            ]
            assert lines, f"{function} logged nothing"
            assert all(line.get("job_id") == record.job_id for line in lines), function
            if function == "PageWorker":
                assert all("page" in line for line in lines)
        # and one JobCompleted event says so
        events = stack.job_events(record.job_id)
        assert [(e["detail-type"], e["detail"]["status"]) for e in events] == [("JobCompleted", "COMPLETED")]
        assert events[0]["detail"]["outputs"] == record.outputs


def test_one_bad_page_fails_the_job_with_that_page_named(tmp_path: Path) -> None:
    # GIVEN pages within MaxPageContentBytes and one text-heavy page over it
    document = _concatenate(make_sample_pdf(3, words_per_page=10), make_sample_pdf(1, text_heavy=True))
    with pipeline(tmp_path, parameters={"MaxPageContentBytes": "2048"}) as stack:
        record = stack.run(document)

        # THEN the three good pages are done, page 4 failed with its reason, and the job FAILED
        assert record.status == JobStatus.FAILED
        assert (record.pages_done, record.pages_failed) == (3, 1)
        failed = [page for page in stack.pages(record.job_id) if page.status == PageStatus.FAILED]
        assert [page.page_number for page in failed] == [4]
        assert failed[0].reason and "content_too_large" in failed[0].reason
        assert record.error is not None and record.error.stage == "pages"
        assert record.error.reason.startswith("1 of 4 pages could not be processed. First failure: page 4:")
        # and nothing was written to the results bucket
        assert stack.keys("ResultsBucketName") == []
        events = stack.job_events(record.job_id)
        assert [(e["detail-type"], e["detail"]["stage"]) for e in events] == [("JobFailed", "pages")]


def test_a_page_that_fails_every_attempt_is_recorded_failed_from_the_failure_queue(tmp_path: Path) -> None:
    # GIVEN a PageWorker pointed at a table that does not exist: every attempt of every page fails
    overrides = {"PageWorker": {"environment": {"JOBS_TABLE": "no-such-table"}}}
    with pipeline(tmp_path, function_overrides=overrides) as stack:
        record = stack.run(make_sample_pdf(2))

        # THEN Lambda's on-failure records reach the FailureRecorder, which fails each page with
        # the error, and the job fails without waiting for its deadline
        assert record.status == JobStatus.FAILED
        assert (record.pages_done, record.pages_failed) == (0, 2)
        pages = stack.pages(record.job_id)
        assert [page.status for page in pages] == [PageStatus.FAILED] * 2
        assert all(
            page.reason and page.reason.startswith("The PageWorker failed 3 times: ResourceNotFoundException")
            for page in pages
        )
        assert record.error is not None and record.error.stage == "pages"
        assert stack.account.functions["PageWorker"].stats.invocations == 6


def test_an_upload_the_splitter_cannot_split_fails_its_job_from_the_failure_queue(tmp_path: Path) -> None:
    overrides = {"Splitter": {"environment": {"WORK_BUCKET": "no-such-work-bucket"}}}
    with pipeline(tmp_path, function_overrides=overrides) as stack:
        record = stack.run(make_sample_pdf(2), "stuck.pdf")

        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "split"
        assert record.error.reason.startswith("Splitting stuck.pdf failed 3 times: NoSuchBucket")
        assert [e["detail"]["stage"] for e in stack.job_events(record.job_id)] == ["split"]


def test_pages_that_never_finish_end_the_job_at_its_deadline(tmp_path: Path) -> None:
    # GIVEN pages that fail every attempt, and a FailureRecorder that cannot record them either
    broken = {"environment": {"JOBS_TABLE": "no-such-table"}}
    with pipeline(
        tmp_path,
        parameters={"JobDeadlineSeconds": "60"},  # the least Lambda's event age allows
        function_overrides={"PageWorker": broken, "FailureRecorder": broken},
    ) as stack:
        record = stack.run(make_sample_pdf(2), timeout=180)

        # THEN the deadline still ends the job, saying how far it got and what to change
        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "deadline"
        assert "with 0 of 2 pages finished" in record.error.reason
        assert "JobDeadlineSeconds" in record.error.reason
        # and the failed invocations did reach the queue (the recorder tried and failed), whether
        # before the deadline or after it
        recorder = stack.account.functions["FailureRecorder"]
        deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
        while not recorder.stats.errors:
            assert time.monotonic() < deadline, "the FailureRecorder never ran"
            time.sleep(0.2)


def test_a_failing_combiner_fails_the_job_with_its_error(tmp_path: Path) -> None:
    # GIVEN a Combiner whose results bucket name is wrong
    overrides = {"Combiner": {"environment": {"RESULTS_BUCKET": "no-such-results-bucket"}}}
    with pipeline(tmp_path, function_overrides=overrides) as stack:
        record = stack.run(make_sample_pdf(2))

        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "combine"
        assert "NoSuchBucket" in record.error.reason
        assert stack.keys("ResultsBucketName") == []
        assert [e["detail"]["stage"] for e in stack.job_events(record.job_id)] == ["combine"]


@pytest.mark.parametrize(
    ("function", "override", "expected"),
    [
        ("SvgExporter", {"memory_mb": 40}, "MemorySize 40 MB"),
        ("PdfExporter", {"environment": {"RESULTS_BUCKET": "no-such-results-bucket"}}, "NoSuchBucket"),
    ],
)
def test_a_failing_exporter_fails_the_job_with_its_error(
    tmp_path: Path, function: str, override: dict[str, object], expected: str
) -> None:
    with pipeline(tmp_path, function_overrides={function: override}) as stack:
        record = stack.run(make_sample_pdf(2))

        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "export"
        assert expected in record.error.reason
        assert record.outputs == {}
        assert [e["detail"]["stage"] for e in stack.job_events(record.job_id)] == ["export"]


def test_a_file_that_is_not_a_pdf_fails_at_the_split_and_the_upload_is_untouched(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    with pipeline(tmp_path) as stack:
        record = stack.run(png, "scan.pdf")

        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "split"
        assert "PNG" in record.error.reason
        assert stack.keys("ResultsBucketName") == []
        assert stack.keys("WorkBucketName") == []
        assert stack.read("RawBucketName", "scan.pdf") == png
        versions = stack.account.client("s3").list_object_versions(Bucket=stack.outputs["RawBucketName"])
        assert len(versions["Versions"]) == 1 and not versions.get("DeleteMarkers")


def test_an_aborted_execution_ends_its_job_failed(tmp_path: Path) -> None:
    # GIVEN a job whose execution runs for minutes: every page fails, and Lambda retries each after
    # one minute and again after two (its own clock, lambda_time_scale 1), so no page can be
    # recorded, and the job cannot end by itself, before the test stops its execution
    broken = {"PageWorker": {"environment": {"JOBS_TABLE": "no-such-table"}}}
    with pipeline(tmp_path, function_overrides=broken, lambda_time_scale=1.0) as stack:
        upload = stack.client.upload(_write(tmp_path / "long.pdf", make_sample_pdf(2)))
        sfn = stack.account.client("stepfunctions")
        arn = stack.outputs["DocumentJobArn"].replace(":stateMachine:", ":execution:") + f":{upload.job_id}"
        deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
        while not any(
            e["name"] == upload.job_id
            for e in sfn.list_executions(stateMachineArn=stack.outputs["DocumentJobArn"])["executions"]
        ):
            assert time.monotonic() < deadline, "the Splitter never started the job's execution"
            time.sleep(0.05)
        # WHEN someone stops it
        sfn.stop_execution(executionArn=arn)
        record = stack.client.wait(upload.job_id, timeout=120)

        # THEN the job ends FAILED at the "execution" stage, with what to do, and its event
        assert record is not None and record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "execution"
        assert record.error.reason.startswith(f"The job's execution {upload.job_id} ended ABORTED")
        assert [e["detail"]["stage"] for e in stack.job_events(record.job_id)] == ["execution"]
