"""Every sample event of events/ through `pagefan invoke`, on the local runtime.

Each test invokes one function once with its committed event, through the code `pagefan invoke`
runs (pagefan.local.emulator.invocation's Invoker, which first makes what the event points at with the real
upstream functions), and checks what that function wrote. Nothing is mocked. One emulated
account at a time: moto's backends are process-wide and each account starts by resetting them.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PageObject, PdfReader

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats.jobs_table import PageStatus
from pagefan.formats.page_result import PageResult
from pagefan.job_ids import derive_job_id
from pagefan.local.cli import main
from pagefan.local.emulator.invocation import Invoker, open_account, without_tracebacks
from pagefan.local.emulator.sample_events import PDF_MERGE_EVENT, event_file_name, render_events
from pagefan.local.emulator.template import load_template, template_functions
from tests.documents import sample_words

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
SAMPLE_PAGES = len(PdfReader(ROOT / "samples" / "sample.pdf").pages)

LoadEvent = Callable[[str], Any]


def _keys(invoker: Invoker, bucket_output: str, prefix: str) -> list[str]:
    s3 = invoker.account.client("s3")
    bucket = invoker.account.deployment.outputs[bucket_output]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _read(invoker: Invoker, bucket_output: str, key: str) -> bytes:
    bucket = invoker.account.deployment.outputs[bucket_output]
    body: bytes = invoker.account.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _execution_statuses(invoker: Invoker) -> list[str]:
    """The executions' statuses once none is RUNNING any more (a stop takes effect asynchronously)."""
    sfn = invoker.account.client("stepfunctions")
    arn = invoker.account.deployment.outputs["DocumentJobArn"]
    deadline = time.monotonic() + 120  # a guard against a hang: the wait is for a state
    while True:
        statuses = [
            execution["status"] for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
        ]
        if "RUNNING" not in statuses or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)


def _shown_size(page: PageObject) -> tuple[int, int]:
    """A page's size as shown (after /Rotate), in whole points."""
    width, height = round(float(page.mediabox.width)), round(float(page.mediabox.height))
    return (height, width) if page.rotation % 180 else (width, height)


@pytest.fixture
def fresh(tmp_path: Path, boots_emulated_account: None) -> Iterator[Invoker]:
    """An Invoker on a new, empty account: what a test finds there, its invocation made."""
    with open_account(TEMPLATE, tmp_path) as account:
        yield Invoker(account, project_dir=ROOT)


# --- the files themselves ----------------------------------------------------------------------


def test_committed_events_are_what_the_template_and_sample_give() -> None:
    rendered = render_events(TEMPLATE)

    # One file per function of the template, plus the PdfExporter's merge, nothing else
    functions = template_functions(load_template(TEMPLATE))
    assert sorted(rendered) == sorted(
        [*(event_file_name(function) for function in functions), PDF_MERGE_EVENT]
    )
    assert sorted(path.name for path in EVENTS.glob("*.json")) == sorted(rendered)
    for name, text in rendered.items():
        assert (EVENTS / name).read_text(encoding="utf-8") == text, (
            f"events/{name} is out of date: run .venv/bin/pagefan events --write"
        )


def test_the_sample_events_name_one_deterministic_job(load_event: LoadEvent) -> None:
    record = load_event("splitter")["Records"][0]
    obj = record["s3"]["object"]

    assert "versionId" not in obj
    job_id = derive_job_id(record["s3"]["bucket"]["name"], obj["key"], None, obj["eTag"])
    page_key = load_event("page_worker")["Records"][0]["s3"]["object"]["key"]
    assert page_key == layout.page_key(job_id, 1)
    job_input = {
        "job_id": job_id,
        "pages_total": SAMPLE_PAGES,
        "deadline": "2099-01-01T00:00:00.000Z",
        "format_version": 1,
    }
    for name in ("combiner", "svg_exporter"):
        assert load_event(name) == job_input
    # The PdfExporter's first part (the sample fits in one), and the merge of the parts.
    assert load_event("pdf_exporter")["job"] == load_event("pdf_exporter_merge")["job"] == job_input
    assert load_event("pdf_exporter")["mode"] == "part" and load_event("pdf_exporter")["first_page"] == 1
    assert load_event("pdf_exporter_merge")["mode"] == "merge"


# --- S3-triggered functions, each on a fresh account -------------------------------------------


def test_splitter_event_splits_the_sample_into_pages(fresh: Invoker, load_event: LoadEvent) -> None:
    # GIVEN the Splitter's sample event, which names the raw bucket of the deployed stack
    event = load_event("splitter")
    assert event["Records"][0]["s3"]["bucket"]["name"] == fresh.raw_bucket
    job_id = load_event("combiner")["job_id"]

    # WHEN it is invoked (pagefan invoke uploads samples/sample.pdf first)
    invocation = fresh.invoke("Splitter", event)

    # THEN the response names the job and its pages, and every page is in the work bucket
    assert invocation.result.ok, invocation.result.error_payload()
    assert invocation.response == {
        "jobs": [{"job_id": job_id, "pages_total": SAMPLE_PAGES, "rejection": None}]
    }
    assert _keys(fresh, "WorkBucketName", layout.PAGES_PREFIX) == [
        layout.page_key(job_id, page) for page in range(1, SAMPLE_PAGES + 1)
    ]
    assert any('"message":"document split"' in line for line in invocation.log_lines)
    # and nothing ran behind it: the page notifications were held, the execution stopped
    assert f"not delivered: {SAMPLE_PAGES} S3 notification(s) that would invoke PageWorker" in (
        invocation.aftermath
    )
    assert _execution_statuses(fresh) == ["ABORTED"]
    assert _keys(fresh, "WorkBucketName", layout.PAGE_RESULTS_PREFIX) == []


def test_page_worker_event_records_page_one(fresh: Invoker, load_event: LoadEvent) -> None:
    # GIVEN an empty account: pagefan invoke runs the Splitter first, as the page does not exist
    event = load_event("page_worker")
    job_id = load_event("combiner")["job_id"]

    # WHEN the PageWorker is invoked with page 1's event
    invocation = fresh.invoke("PageWorker", event)

    # THEN page 1, and only page 1, is counted done in the jobs table
    assert invocation.result.ok, invocation.result.error_payload()
    assert invocation.response == {"pages": [{"job_id": job_id, "page": 1, "status": PageStatus.DONE}]}
    jobs = JobStore(fresh.account.client("dynamodb"), fresh.account.deployment.outputs["JobsTableName"])
    record = jobs.get_job(job_id)
    assert record is not None
    assert (record.pages_done, record.pages_failed) == (1, 0)
    assert [(page.page_number, page.status) for page in jobs.iter_pages(job_id)] == [(1, PageStatus.DONE)]
    # and its result holds the words the sample draws on page 1
    result = PageResult.from_json(_read(fresh, "WorkBucketName", layout.page_result_key(job_id, 1)))
    assert result.words == sample_words(SAMPLE_PAGES)[0]
    # beside it, exactly the images it references
    images = sorted(
        layout.image_key(job_id, graphic.image.sha256, graphic.image.media_type)
        for graphic in result.graphics
        if graphic.image is not None
    )
    assert _keys(fresh, "WorkBucketName", layout.PAGE_RESULTS_PREFIX) == sorted(
        [layout.page_result_key(job_id, 1), *images]
    )


def test_failure_recorder_event_records_page_one_failed(fresh: Invoker, load_event: LoadEvent) -> None:
    # GIVEN Lambda's on-failure record for page 1 (pagefan invoke splits the sample first)
    event = load_event("failure_recorder")
    job_id = load_event("combiner")["job_id"]

    invocation = fresh.invoke("FailureRecorder", event)

    # THEN the batch is processed whole and page 1 is failed with the error Lambda reported
    assert invocation.result.ok, invocation.result.error_payload()
    assert invocation.response == {"batchItemFailures": []}
    jobs = JobStore(fresh.account.client("dynamodb"), fresh.account.deployment.outputs["JobsTableName"])
    record = jobs.get_job(job_id)
    assert record is not None and (record.pages_done, record.pages_failed) == (0, 1)
    [page] = jobs.iter_pages(job_id)
    assert (page.page_number, page.status) == (1, PageStatus.FAILED)
    assert (
        page.reason
        == "The PageWorker failed 3 times: ResourceNotFoundException: Requested resource not found"
    )


def test_job_metrics_event_counts_the_failed_job_by_its_stage(fresh: Invoker, load_event: LoadEvent) -> None:
    # GIVEN the JobFailed event DocumentJob publishes for the sample job (page 1 failed)
    event = load_event("job_metrics")
    job_id = load_event("combiner")["job_id"]

    invocation = fresh.invoke("JobMetrics", event)

    # THEN it answers with the job's ending and logs JobsFailed, and JobsFailedByStage for "pages"
    assert invocation.response == {"job_id": job_id, "status": "FAILED"}
    metrics = [json.loads(line) for line in invocation.log_lines if line.startswith('{"_aws"')]
    assert [(m["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], m.get("stage")) for m in metrics] == [
        ("JobsFailedByStage", "pages"),
        ("JobsFailed", None),
    ]
    [failed] = [json.loads(line) for line in invocation.log_lines if '"job failed"' in line]
    assert (failed["job_id"], failed["stage"]) == (job_id, "pages")


# --- the state machine's functions, sharing one account --------------------------------------


class TestJobInputEvents:
    """Combiner and exporters: the first test makes the job's page results, the others reuse them.

    Each test checks that its output is absent before its invocation and present after, so the
    order does not matter.
    """

    @pytest.fixture(scope="class")
    def shared(
        self, tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None
    ) -> Iterator[Invoker]:
        with open_account(TEMPLATE, tmp_path_factory.mktemp("job-input")) as account:
            yield Invoker(account, project_dir=ROOT)

    def test_combiner_writes_document_json_and_text(self, shared: Invoker, load_event: LoadEvent) -> None:
        event = load_event("combiner")
        job_id = event["job_id"]
        assert _keys(shared, "ResultsBucketName", layout.document_json_key(job_id)) == []

        invocation = shared.invoke("Combiner", event)

        assert invocation.result.ok, invocation.result.error_payload()
        assert invocation.response == {
            "document_json": layout.document_json_key(job_id),
            "document_text": layout.document_text_key(job_id),
        }
        document = json.loads(_read(shared, "ResultsBucketName", layout.document_json_key(job_id)))
        assert (document["job_id"], document["pages_total"]) == (job_id, SAMPLE_PAGES)
        assert [page["page_number"] for page in document["pages"]] == list(range(1, SAMPLE_PAGES + 1))
        assert [page["words"] for page in document["pages"]] == sample_words(SAMPLE_PAGES)
        text = _read(shared, "ResultsBucketName", layout.document_text_key(job_id)).decode()
        assert text.count("\f") == SAMPLE_PAGES - 1
        assert all(f"(p{page:04d})" in text for page in range(1, SAMPLE_PAGES + 1))

    def test_svg_exporter_writes_one_svg_per_page(self, shared: Invoker, load_event: LoadEvent) -> None:
        event = load_event("svg_exporter")
        job_id = event["job_id"]
        svg_prefix = layout.svg_key(job_id, 1).rsplit("/", 1)[0] + "/"
        assert _keys(shared, "ResultsBucketName", svg_prefix) == []

        invocation = shared.invoke("SvgExporter", event)

        assert invocation.result.ok, invocation.result.error_payload()
        assert invocation.response == {"svg_prefix": svg_prefix}
        expected = [layout.svg_key(job_id, page) for page in range(1, SAMPLE_PAGES + 1)]
        assert _keys(shared, "ResultsBucketName", svg_prefix) == expected
        for page, key in enumerate(expected, start=1):
            svg = _read(shared, "ResultsBucketName", key).decode()
            assert "<svg" in svg
            assert f"(p{page:04d})" in svg

    def test_pdf_exporter_renders_a_part(self, shared: Invoker, load_event: LoadEvent) -> None:
        event = load_event("pdf_exporter")
        job_id = event["job"]["job_id"]
        part = layout.pdf_part_key(job_id, 1, SAMPLE_PAGES)
        shared.s3.delete_object(Bucket=shared.work_bucket, Key=part)  # the merge test may have made it

        invocation = shared.invoke("PdfExporter", event)

        assert invocation.result.ok, invocation.result.error_payload()
        assert invocation.response == {"pdf_part": part}
        assert len(PdfReader(io.BytesIO(_read(shared, "WorkBucketName", part))).pages) == SAMPLE_PAGES

    def test_pdf_exporter_merges_the_parts_into_the_pdf(self, shared: Invoker, load_event: LoadEvent) -> None:
        event = load_event("pdf_exporter_merge")
        job_id = event["job"]["job_id"]
        assert _keys(shared, "ResultsBucketName", layout.pdf_key(job_id)) == []

        # pagefan invoke renders the parts the merge needs first, as DocumentJob's Map would
        invocation = shared.invoke("PdfExporter", event)

        assert invocation.result.ok, invocation.result.error_payload()
        assert invocation.response == {"document_pdf": layout.pdf_key(job_id)}
        rebuilt = PdfReader(io.BytesIO(_read(shared, "ResultsBucketName", layout.pdf_key(job_id))))
        source = PdfReader(ROOT / "samples" / "sample.pdf")
        assert len(rebuilt.pages) == SAMPLE_PAGES
        # Page sizes as shown (after /Rotate): the sample mixes Letter, A4 and a rotated page.
        assert [_shown_size(page) for page in rebuilt.pages] == [_shown_size(page) for page in source.pages]


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_pagefan_invoke_prints_the_response_and_the_logs() -> None:
    # The installed entry point, as a person runs it from the repository root
    pagefan = Path(sys.executable).with_name("pagefan")
    completed = subprocess.run(
        [str(pagefan), "invoke", "Splitter", "-e", "events/splitter.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    response = json.loads(completed.stdout)
    job_id = json.loads((EVENTS / "combiner.json").read_text())["job_id"]
    assert response == {"jobs": [{"job_id": job_id, "pages_total": SAMPLE_PAGES, "rejection": None}]}
    assert "preparing: uploaded samples/sample.pdf to s3://pagefan-raw-123456789012-us-east-1/sample.pdf" in (
        completed.stderr
    )
    assert '"message":"document split"' in completed.stderr
    assert "REPORT RequestId:" in completed.stderr


@pytest.mark.slow
def test_a_function_error_exits_1_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    # An event the Combiner cannot read: nothing to prepare, the function itself refuses it
    event_file = tmp_path / "not_a_job.json"
    event_file.write_text("{}")

    result = CliRunner().invoke(
        main, ["invoke", "Combiner", "-e", str(event_file), "--template", str(TEMPLATE)]
    )

    assert result.exit_code == 1, result.stderr
    message = "job input has format version None; this pagefan reads version 1"
    assert json.loads(result.stdout) == {"errorType": "FormatVersionError", "errorMessage": message}
    assert result.stderr.splitlines()[-1] == f"FormatVersionError: {message}"
    assert "Traceback" not in result.stderr


def test_an_unknown_function_exits_2_naming_the_valid_ones() -> None:
    result = CliRunner().invoke(
        main, ["invoke", "Splitterr", "-e", str(EVENTS / "splitter.json"), "--template", str(TEMPLATE)]
    )

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: unknown function 'Splitterr'; template.yaml defines: "
        "Combiner, FailureRecorder, JobMetrics, PageWorker, PdfExporter, Splitter, SvgExporter"
    ]


def test_a_missing_event_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.json"

    result = CliRunner().invoke(main, ["invoke", "Splitter", "-e", str(missing), "--template", str(TEMPLATE)])

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: event file {missing}: no such file"]


def test_tracebacks_are_dropped_from_the_logs_shown() -> None:
    logs = [
        '{"level":"INFO","message":"start"}',
        "Traceback (most recent call last):",
        '  File "handler.py", line 3, in handler',
        "    raise KeyError(1)",
        "KeyError: 1",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        '  File "handler.py", line 5, in handler',
        "pagefan.errors.FormatVersionError: no",
        "REPORT RequestId: 1 Duration: 1.00 ms",
    ]

    assert without_tracebacks(logs) == [
        '{"level":"INFO","message":"start"}',
        "REPORT RequestId: 1 Duration: 1.00 ms",
    ]
