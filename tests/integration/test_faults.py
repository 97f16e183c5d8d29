"""Duplicated, reordered deliveries and crashing workers change nothing in the outputs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pypdf

from pagefan.formats import JobRecord, JobStatus
from pagefan.local.faults import FaultPlan
from pagefan.local.samples import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

DOCUMENT = make_sample_pdf(8)


def _outputs(stack: Pipeline, record: JobRecord) -> dict[str, Any]:
    """Every output of a job, with what legitimately differs between two runs taken out.

    The job id and the source's version id differ (each upload is a new object version, so a new
    job), and cairo stamps the rebuilt PDF with its creation time: the PDF is compared page by page.
    """
    document = json.loads(stack.read("ResultsBucketName", record.outputs["document_json"]))
    document.pop("job_id")
    document["source"].pop("version_id")
    svgs = [
        stack.read("ResultsBucketName", key)
        for key in stack.keys("ResultsBucketName", record.outputs["svg_prefix"])
    ]
    pdf = pypdf.PdfReader(io.BytesIO(stack.read("ResultsBucketName", record.outputs["document_pdf"])))
    return {
        "document": document,
        "text": stack.read("ResultsBucketName", record.outputs["document_text"]),
        "svgs": svgs,
        "pdf_pages": [(page.mediabox.width, page.mediabox.height, page.extract_text()) for page in pdf.pages],
        "pdf_metadata": {k: v for k, v in (pdf.metadata or {}).items() if "Date" not in k},
    }


def test_outputs_under_duplicates_and_crashes_equal_a_clean_run(tmp_path: Path) -> None:
    with pipeline(tmp_path / "clean") as stack:
        clean = stack.run(DOCUMENT, "report.pdf")
        assert clean.status == JobStatus.COMPLETED
        expected = _outputs(stack, clean)

    plan = FaultPlan(duplicate=0.5, crash=0.4, seed=7)
    with pipeline(tmp_path / "faulty", faults=plan) as stack:
        record = stack.run(DOCUMENT, "report.pdf")
        stack.account.wait_until_idle()
        schedule = stack.account.schedule
        # The schedule really did duplicate deliveries and crash invocations...
        assert schedule.duplicated > 0 and schedule.crashes > 0
        # A crash happens only if the invocation reaches its crash point: a duplicate Splitter delivery
        # returns before writing anything.
        died = sum(environments.stats.errors for environments in stack.account.functions.values())
        assert 0 < died <= schedule.crashes
        assert stack.account.functions["PageWorker"].stats.invocations > 8
        # ...and every page still counts exactly once.
        assert record.status == JobStatus.COMPLETED, record.error
        assert (record.pages_done, record.pages_failed) == (8, 0)
        pages = stack.pages(record.job_id)
        assert sorted(page.page_number for page in pages) == list(range(1, 9))
        assert stack.failed_invocations() == []
        assert len(stack.job_events(record.job_id)) == 1
        assert _outputs(stack, record) == expected
