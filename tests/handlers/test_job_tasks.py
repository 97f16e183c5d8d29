"""The handlers DocumentJob invokes with a job's task, called with their events/ files (moto in-process).

Each starts from the sample job split and analysed page by page, as the state machine finds it.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from pypdf import PdfReader

from pagefan import layout
from pagefan.formats.payloads import JobInput, PdfExportInput
from tests.lambda_environment import Account, ColdStart, LoadEvent, output_records, without_metrics

pytestmark = without_metrics


@pytest.fixture
def job(account: Account, load_event: LoadEvent) -> JobInput:
    """The sample job every task event names, split and with every page analysed."""
    job = JobInput.from_dict(load_event("combiner"))
    outcome = account.split(load_event("splitter"))
    assert (outcome.job_id, outcome.pages_total) == (job.job_id, job.pages_total)
    account.analyse(job.job_id, range(1, job.pages_total + 1))
    return job


def _finished_line(stdout: str, function: str) -> dict[str, Any]:
    [line] = [record for record in output_records(stdout) if record.get("message") == f"{function} finished"]
    return line


def test_the_combiner_writes_the_document_json_and_text_and_returns_their_keys(
    account: Account,
    start: ColdStart,
    job: JobInput,
    load_event: LoadEvent,
    lambda_context: LambdaContext,
    capsys: Any,
) -> None:
    combiner = start("Combiner")
    account.provide(combiner.SETTINGS)
    outputs = combiner.handler(load_event("combiner"), lambda_context)
    assert outputs == {
        "document_json": layout.document_json_key(job.job_id),
        "document_text": layout.document_text_key(job.job_id),
    }
    document = json.loads(account.read(combiner.SETTINGS.results_bucket, outputs["document_json"]))
    assert [page["page_number"] for page in document["pages"]] == list(range(1, job.pages_total + 1))
    text = account.read(combiner.SETTINGS.results_bucket, outputs["document_text"]).decode()
    assert text.count("\f") == job.pages_total - 1
    line = _finished_line(capsys.readouterr().out, "Combiner")
    assert (line["job_id"], line["outputs"], line["pages_total"]) == (job.job_id, outputs, job.pages_total)


def test_the_svg_exporter_writes_one_svg_per_page_under_the_prefix_it_returns(
    account: Account,
    start: ColdStart,
    job: JobInput,
    load_event: LoadEvent,
    lambda_context: LambdaContext,
    capsys: Any,
) -> None:
    exporter = start("SvgExporter")
    account.provide(exporter.SETTINGS)
    outputs = exporter.handler(load_event("svg_exporter"), lambda_context)
    assert outputs == {"svg_prefix": layout.svg_key(job.job_id, 1).rpartition("/")[0] + "/"}
    assert account.keys(exporter.SETTINGS.results_bucket, outputs["svg_prefix"]) == [
        layout.svg_key(job.job_id, page) for page in range(1, job.pages_total + 1)
    ]
    assert _finished_line(capsys.readouterr().out, "SvgExporter")["outputs"] == outputs


def test_the_pdf_exporter_renders_the_part_then_merges_the_parts_into_the_document_pdf(
    account: Account,
    start: ColdStart,
    job: JobInput,
    load_event: LoadEvent,
    lambda_context: LambdaContext,
    capsys: Any,
) -> None:
    exporter = start("PdfExporter")
    account.provide(exporter.SETTINGS)
    part = PdfExportInput.from_dict(load_event("pdf_exporter"))
    # WHEN DocumentJob's Map renders the event's part, then the merge runs
    rendered = exporter.handler(load_event("pdf_exporter"), lambda_context)
    merged = exporter.handler(load_event("pdf_exporter_merge"), lambda_context)
    # THEN the part is in the work bucket, and the document PDF has every page of the job
    first, last = part.page_range
    assert rendered == {"pdf_part": layout.pdf_part_key(job.job_id, first, last)}
    assert account.keys(exporter.SETTINGS.work_bucket, rendered["pdf_part"]) == [rendered["pdf_part"]]
    assert merged == {"document_pdf": layout.pdf_key(job.job_id)}
    document = PdfReader(io.BytesIO(account.read(exporter.SETTINGS.results_bucket, merged["document_pdf"])))
    assert len(document.pages) == job.pages_total
    stdout = capsys.readouterr().out
    assert [
        line["outputs"] for line in output_records(stdout) if line.get("message") == "PdfExporter finished"
    ] == [
        rendered,
        merged,
    ]
