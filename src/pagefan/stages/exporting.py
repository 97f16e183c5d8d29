"""Exporting a job's pages as SVG files and as one rebuilt PDF.

Both exporters draw each page with the same SVG renderer; the PDF exporter then converts the
SVG with cairo. This module must not import cairo at module level: the SVG exporter's memory
size has no room for it (pdf_render imports it lazily).
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pagefan import layout
from pagefan.aws.objects import ObjectToWrite, upload_file, write_objects
from pagefan.config import ExporterSettings
from pagefan.domain.svg import render_page_svg
from pagefan.formats import DocumentInfo, JobInput, PageResult, object_metadata
from pagefan.stages.page_results import iter_page_results, read_document_info

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


# The SvgExporter's uploads hold at most this much besides the page being rendered (256 MB function).
_SVG_BYTES_IN_FLIGHT = 8 * 1024 * 1024


def page_title(info: DocumentInfo, page_number: int) -> str:
    """The title an exported page carries: the document's file name and the page number."""
    return f"{posixpath.basename(info.source.key)} — page {page_number} of {info.pages_total}"


def _svg_pages(
    s3: S3Client, settings: ExporterSettings, job: JobInput, info: DocumentInfo
) -> Iterator[tuple[PageResult, str]]:
    for page in iter_page_results(s3, settings.work_bucket, job.job_id, job.pages_total):
        svg = render_page_svg(
            page, title=page_title(info, page.page_number), max_elements=settings.max_svg_elements
        )
        yield page, svg


def export_svg(*, s3: S3Client, settings: ExporterSettings, job: JobInput) -> dict[str, str]:
    """Write one SVG per page to the results bucket, uploading while the next page renders.

    Memory holds one page being rendered and at most 8 MB of SVG being uploaded, whatever the
    page count.
    """
    info = read_document_info(s3, settings.work_bucket, job.job_id)
    write_objects(
        s3,
        settings.results_bucket,
        (
            ObjectToWrite(
                key=layout.svg_key(job.job_id, page.page_number),
                body=svg.encode("utf-8"),
                content_type="image/svg+xml",
                metadata=object_metadata(job.job_id, page=page.page_number),
            )
            for page, svg in _svg_pages(s3, settings, job, info)
        ),
        max_bytes_in_flight=_SVG_BYTES_IN_FLIGHT,
    )
    return {"svg_prefix": posixpath.dirname(layout.svg_key(job.job_id, 1)) + "/"}


def export_pdf(*, s3: S3Client, settings: ExporterSettings, job: JobInput) -> dict[str, str]:
    """Render every page with cairo, merge them into document.pdf and upload it."""
    from pagefan.domain.pdf_render import merge_pdf, svg_to_pdf  # cairo stays out of other imports

    info = read_document_info(s3, settings.work_bucket, job.job_id)
    key = layout.pdf_key(job.job_id)
    with tempfile.TemporaryDirectory() as scratch:
        path = f"{scratch}/document.pdf"
        with open(path, "wb") as out:
            merge_pdf(
                (svg_to_pdf(svg) for _page, svg in _svg_pages(s3, settings, job, info)),
                metadata=info.metadata,
                outline=info.outline,
                out=out,
            )
        upload_file(
            s3,
            settings.results_bucket,
            key,
            path,
            content_type="application/pdf",
            metadata=object_metadata(job.job_id, pages_total=job.pages_total),
        )
    return {"document_pdf": key}
