"""Exporting a job's pages as SVG files and as one rebuilt PDF.

Both exporters draw each page with the same SVG renderer; the PDF exporter then converts the
SVG with cairo. This module must not import cairo at module level: the SVG exporter's memory
size has no room for it (pdf_render imports it lazily), and the merge (pdf_merge) needs none.
"""

from __future__ import annotations

import hashlib
import posixpath
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, BinaryIO

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.objects import ObjectToWrite, is_missing, read_object, upload_file, write_objects
from pagefan.aws.page_results import iter_page_results, read_document_info
from pagefan.config import ExporterSettings
from pagefan.domain.svg import ImageSource, render_page_svg
from pagefan.errors import MissingPdfPart
from pagefan.formats.document import DocumentInfo
from pagefan.formats.page_result import ImageRef, PageResult
from pagefan.formats.payloads import JobInput, PdfExportInput, PdfExportMode
from pagefan.formats.versions import check_metadata_version, object_metadata

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# A child of the function's Powertools Logger: JSON lines with the job id and request id it carries.
logger = Logger(child=True)


# The SvgExporter's uploads hold at most this much besides the page being rendered (256 MB function).
_SVG_BYTES_IN_FLIGHT = 8 * 1024 * 1024


def page_title(info: DocumentInfo, page_number: int) -> str:
    """The title an exported page carries: the document's file name and the page number."""
    return f"{posixpath.basename(info.source.key)} — page {page_number} of {info.pages_total}"


def _svg_pages(
    s3: S3Client,
    settings: ExporterSettings,
    job: JobInput,
    info: DocumentInfo,
    *,
    first_page: int = 1,
    last_page: int | None = None,
) -> Iterator[tuple[PageResult, str]]:
    pages = iter_page_results(
        s3, settings.work_bucket, job.job_id, job.pages_total, first_page=first_page, last_page=last_page
    )
    for page in pages:
        svg = render_page_svg(
            page,
            title=page_title(info, page.page_number),
            max_elements=settings.max_svg_elements,
            images=stored_images(s3, settings.work_bucket, job.job_id),
        )
        yield page, svg


def stored_images(s3: S3Client, work_bucket: str, job_id: str) -> ImageSource:
    """Reads the images a job's page results reference, keeping only those whose bytes match.

    An image is drawn only when its SHA-256 is the one the page result names and its bytes are a
    PNG or a JPEG by their signature: a PageWorker that parsed hostile bytes cannot smuggle anything
    else into an SVG. A missing or mismatched image is drawn as a box, like an omitted one.
    """

    def read(ref: ImageRef) -> bytes | None:
        key = layout.image_key(job_id, ref.sha256, ref.media_type)
        try:
            data = read_object(s3, work_bucket, key).body
        except ClientError as error:
            if is_missing(error):
                logger.warning("image %s is missing; drawn as a box", key)
                return None
            raise
        signature = _IMAGE_SIGNATURES[ref.media_type]
        if hashlib.sha256(data).hexdigest() != ref.sha256 or not data.startswith(signature):
            logger.warning("image %s does not match its page result; drawn as a box", key)
            return None
        return data

    return read


_IMAGE_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


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


def export_pdf(*, s3: S3Client, settings: ExporterSettings, job: PdfExportInput) -> dict[str, str]:
    """Do one PdfExporter task: render a range of pages, merge the ranges, or the whole document.

    The DocumentJob's Map renders each range of ``pages_per_part`` pages in its own invocation
    (:func:`render_pdf_range`), then one invocation merges them (:func:`merge_pdf_ranges`).
    """
    if job.mode == PdfExportMode.PART:
        return render_pdf_range(s3=s3, settings=settings, task=job)
    if job.mode == PdfExportMode.MERGE:
        return merge_pdf_ranges(s3=s3, settings=settings, task=job)
    return _render_whole_document(s3=s3, settings=settings, task=job)


def render_pdf_range(*, s3: S3Client, settings: ExporterSettings, task: PdfExportInput) -> dict[str, str]:
    """Render the task's pages with cairo into one part PDF in the work bucket.

    The key names the range, so a repeated invocation (a retry, a duplicate delivery) writes the
    same object again with the same pages: harmless.
    """
    from pagefan.domain.pdf_render import render_pdf_part  # cairo stays out of other imports

    info = read_document_info(s3, settings.work_bucket, task.job_id)
    first, last = task.page_range
    key = layout.pdf_part_key(task.job_id, first, last)
    pages = _svg_pages(s3, settings, task.job, info, first_page=first, last_page=last)
    with tempfile.TemporaryDirectory() as scratch:
        path = f"{scratch}/part.pdf"
        with open(path, "wb") as out:
            render_pdf_part(((page.page_number, svg) for page, svg in pages), out)
        upload_file(
            s3,
            settings.work_bucket,
            key,
            path,
            content_type="application/pdf",
            metadata=object_metadata(task.job_id, first_page=first, last_page=last),
        )
    return {"pdf_part": key}


def _read_parts(s3: S3Client, work_bucket: str, task: PdfExportInput) -> Iterator[bytes]:
    """Each part's bytes in page order, one part in memory at a time."""
    for first, last in task.part_ranges:
        key = layout.pdf_part_key(task.job_id, first, last)
        try:
            part = read_object(s3, work_bucket, key)
        except ClientError as error:
            if not is_missing(error):
                raise
            raise MissingPdfPart(
                f"The PDF of pages {first}-{last} ({key}) is missing from the work bucket: its "
                "rendering did not finish or the part expired. Upload the document again."
            ) from error
        check_metadata_version(part.metadata, f"PDF part {key}")
        yield part.body


def merge_pdf_ranges(*, s3: S3Client, settings: ExporterSettings, task: PdfExportInput) -> dict[str, str]:
    """Concatenate the job's parts into document.pdf with the source's metadata and outline.

    Copying rendered pages costs no cairo: the merge is pypdf only, one part read at a time.
    """
    from pagefan.domain.pdf_merge import merge_pdf

    info = read_document_info(s3, settings.work_bucket, task.job_id)
    return _write_document(
        s3,
        settings,
        task,
        lambda out: merge_pdf(
            _read_parts(s3, settings.work_bucket, task), metadata=info.metadata, outline=info.outline, out=out
        ),
    )


def _render_whole_document(
    *, s3: S3Client, settings: ExporterSettings, task: PdfExportInput
) -> dict[str, str]:
    """Render every page and merge them in this invocation (a bare JobInput's task)."""
    from pagefan.domain.pdf_merge import merge_pdf
    from pagefan.domain.pdf_render import render_pdf_pages

    info = read_document_info(s3, settings.work_bucket, task.job_id)
    pages = ((page.page_number, svg) for page, svg in _svg_pages(s3, settings, task.job, info))
    return _write_document(
        s3,
        settings,
        task,
        lambda out: merge_pdf(render_pdf_pages(pages), metadata=info.metadata, outline=info.outline, out=out),
    )


def _write_document(
    s3: S3Client, settings: ExporterSettings, task: PdfExportInput, write: Callable[[BinaryIO], int]
) -> dict[str, str]:
    key = layout.pdf_key(task.job_id)
    with tempfile.TemporaryDirectory() as scratch:
        path = f"{scratch}/document.pdf"
        with open(path, "wb") as out:
            count = write(out)
        if count != task.pages_total:
            raise MissingPdfPart(
                f"The rebuilt PDF has {count} pages where the document has {task.pages_total}: "
                "a part holds other pages than its name says. Upload the document again."
            )
        upload_file(
            s3,
            settings.results_bucket,
            key,
            path,
            content_type="application/pdf",
            metadata=object_metadata(task.job_id, pages_total=task.pages_total),
        )
    return {"document_pdf": key}
