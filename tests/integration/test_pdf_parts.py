"""The rebuilt PDF fanned out over page ranges: DocumentJob's Map of PdfExporter parts, then the merge.

Through the local runtime, with a small PdfPagesPerPart so that a few pages make several parts.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from pagefan import layout
from pagefan.domain.split import document_metadata, document_outline
from pagefan.formats.jobs_table import JobRecord, JobStatus
from pagefan.formats.payloads import JobInput, PdfExportInput, PdfExportMode
from tests.documents import make_sample_pdf
from tests.integration.pipeline import Pipeline, pipeline

PAGES_PER_PART = 4
SOURCE = make_sample_pdf(6)  # outline, metadata, an A4 page and a /Rotate 90 page: parts 1-4 and 5-6


def _comparable(pdf: bytes) -> dict[str, Any]:
    """What a person sees of a rebuilt PDF: pages (size, rotation, text), metadata and outline."""
    reader = PdfReader(io.BytesIO(pdf))
    return {
        "pages": [
            (
                round(float(p.mediabox.width), 2),
                round(float(p.mediabox.height), 2),
                p.rotation,
                p.extract_text(),
            )
            for p in reader.pages
        ],
        "metadata": document_metadata(reader),
        "outline": document_outline(reader),
    }


def _task(record: JobRecord, mode: str, pages_per_part: int, first_page: int | None = None) -> dict[str, Any]:
    job = JobInput(job_id=record.job_id, pages_total=record.pages_total, deadline="2099-01-01T00:00:00.000Z")
    return PdfExportInput(mode, job, pages_per_part, first_page).to_dict()


@pytest.fixture(scope="module")
def fanned_out(
    tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None
) -> Iterator[tuple[Pipeline, JobRecord]]:
    """The sample run with PdfPagesPerPart 4, on two environments per fanned-out function."""
    with pipeline(
        tmp_path_factory.mktemp("parts"), parameters={"PdfPagesPerPart": str(PAGES_PER_PART)}, workers=2
    ) as stack:
        yield stack, stack.run(SOURCE, "parts.pdf")


def test_each_range_is_rendered_as_its_own_part_then_merged(fanned_out: tuple[Pipeline, JobRecord]) -> None:
    stack, record = fanned_out
    assert record.status == JobStatus.COMPLETED, record.error
    assert stack.keys("WorkBucketName", f"{layout.PDF_PARTS_PREFIX}{record.job_id}/") == [
        layout.pdf_part_key(record.job_id, 1, 4),
        layout.pdf_part_key(record.job_id, 5, 6),
    ]
    # Two parts and a merge. (That the Map's iterations run at once is shown without depending on
    # how fast each part renders: tests/unit/statemachine/test_pdf_export_branch.py.)
    timeline = [e for e in stack.account.timeline.events if e.get("function") == "PdfExporter"]
    assert [e["kind"] for e in timeline].count("invoke") == 3


def test_a_multi_part_pdf_equals_the_single_part_one(fanned_out: tuple[Pipeline, JobRecord]) -> None:
    # GIVEN the document.pdf the Map's two parts made
    stack, record = fanned_out
    key = layout.pdf_key(record.job_id)
    multi = stack.read("ResultsBucketName", key)

    # WHEN the same job is rendered as one part covering every page, and merged
    for task in (
        _task(record, PdfExportMode.PART, record.pages_total, first_page=1),
        _task(record, PdfExportMode.MERGE, record.pages_total),
    ):
        result = stack.account.invoke("PdfExporter", task)
        assert result.ok, result.error_message
    single = stack.read("ResultsBucketName", key)

    # THEN both have the same pages, text, metadata and outline, which are the source's
    assert _comparable(multi) == _comparable(single)
    source = PdfReader(io.BytesIO(SOURCE))
    rebuilt = PdfReader(io.BytesIO(multi))
    assert len(rebuilt.pages) == 6
    assert document_outline(rebuilt) == document_outline(source) != []
    for name in ("title", "author", "subject"):
        assert document_metadata(rebuilt)[name] == document_metadata(source)[name]


def test_a_repeated_part_invocation_is_harmless(fanned_out: tuple[Pipeline, JobRecord]) -> None:
    # GIVEN a completed job's PDF
    stack, record = fanned_out
    before = _comparable(stack.read("ResultsBucketName", layout.pdf_key(record.job_id)))
    parts_before = stack.keys("WorkBucketName", f"{layout.PDF_PARTS_PREFIX}{record.job_id}/")

    # WHEN a part invocation is delivered again (a retry after a lost response), twice, then the merge
    for _ in range(2):
        result = stack.account.invoke("PdfExporter", _task(record, PdfExportMode.PART, PAGES_PER_PART, 5))
        assert result.ok and result.payload == {"pdf_part": layout.pdf_part_key(record.job_id, 5, 6)}
    assert stack.account.invoke("PdfExporter", _task(record, PdfExportMode.MERGE, PAGES_PER_PART)).ok

    # THEN the same part was overwritten and the document is unchanged
    assert stack.keys("WorkBucketName", f"{layout.PDF_PARTS_PREFIX}{record.job_id}/") == parts_before
    assert _comparable(stack.read("ResultsBucketName", layout.pdf_key(record.job_id))) == before


def test_a_part_the_merge_cannot_find_is_named(fanned_out: tuple[Pipeline, JobRecord]) -> None:
    # GIVEN a job whose second part is gone (expired, say)
    stack, record = fanned_out
    s3 = stack.account.client("s3")
    s3.delete_object(Bucket=stack.outputs["WorkBucketName"], Key=layout.pdf_part_key(record.job_id, 5, 6))

    # WHEN the parts are merged
    result = stack.account.invoke("PdfExporter", _task(record, PdfExportMode.MERGE, PAGES_PER_PART))

    # THEN the merge fails naming the missing pages
    assert not result.ok
    assert result.error_type == "MissingPdfPart"
    assert "pages 5-6" in (result.error_message or "")


def _with_huge_font_page(pdf: bytes) -> bytes:
    """The document plus a last page whose first line is set in a 10^12-point font."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
    )
    content = DecodedStreamObject()
    content.set_data(
        b"BT /F1 1000000000000 Tf 1 0 0 1 72 700 Tm (Huge) Tj /F1 12 Tf 1 0 0 1 300 700 Tm (x) Tj ET"
    )
    page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.mark.slow
def test_a_hostile_font_size_neither_fails_its_job_nor_the_next_ones(tmp_path: Any) -> None:
    # GIVEN 7 pages whose last one sets a line in a 10^12-point font (FreeType fails on it inside
    # cairo, and a failed glyph could leave a warm PdfExporter unable to draw text afterwards)
    document = _with_huge_font_page(SOURCE)
    with pipeline(tmp_path, parameters={"PdfPagesPerPart": str(PAGES_PER_PART)}, workers=1) as stack:
        # WHEN it runs, and then an ordinary document in the same (warm) environments
        hostile = stack.run(document, "hostile.pdf")
        after = stack.run(SOURCE, "after.pdf")

        # THEN both complete (the huge line drawn at the largest size a page can show), and the
        # environments that drew it rebuild the next document exactly as they rebuilt the first
        for record in (hostile, after):
            assert record.status == JobStatus.COMPLETED, record.error
        rebuilt = PdfReader(io.BytesIO(stack.read("ResultsBucketName", layout.pdf_key(hostile.job_id))))
        assert len(rebuilt.pages) == 7
        pages = {
            record.job_id: _comparable(stack.read("ResultsBucketName", layout.pdf_key(record.job_id)))[
                "pages"
            ]
            for record in (hostile, after)
        }
        assert pages[after.job_id] == pages[hostile.job_id][:6]


@pytest.mark.slow
def test_a_failing_part_fails_the_job_at_export_with_its_error(tmp_path: Any) -> None:
    # GIVEN a PdfExporter that cannot read page results (a work bucket that does not exist)
    overrides = {"PdfExporter": {"environment": {"WORK_BUCKET": "no-such-work-bucket"}}}
    with pipeline(
        tmp_path, parameters={"PdfPagesPerPart": str(PAGES_PER_PART)}, function_overrides=overrides
    ) as stack:
        record = stack.run(SOURCE)

        # THEN every page was analysed, but the job FAILED at export with the part's error
        assert (record.pages_done, record.pages_failed) == (6, 0)
        assert record.status == JobStatus.FAILED
        assert record.error is not None and record.error.stage == "export"
        assert "NoSuchBucket" in record.error.reason, record.error
        assert record.outputs == {}
        assert stack.keys("ResultsBucketName", layout.pdf_key(record.job_id)) == []
        assert [e["detail"]["stage"] for e in stack.job_events(record.job_id)] == ["export"]
