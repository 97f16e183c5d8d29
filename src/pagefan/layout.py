"""Where every object lives: the one definition shared by writers, readers and IAM prefixes.

Work bucket: ``pages/`` (Splitter writes, PageWorker reads), ``results/`` (PageWorker writes the
page results, and under ``results/<job>/images/`` the images they reference),
``info/`` (Splitter writes), ``pdf-parts/`` (PdfExporter writes page ranges, then merges them).
Results bucket: ``jobs/<job>/document.json|document.txt`` (Combiner),
``jobs/<job>/svg/`` (SvgExporter), ``jobs/<job>/pdf/`` (PdfExporter). The template scopes each
role to these prefixes; change them together.
"""

from __future__ import annotations

PAGES_PREFIX = "pages/"
PAGE_RESULTS_PREFIX = "results/"
# Separate from results/ so the PageWorker's write grant (results/*) cannot reach it.
DOCUMENT_INFO_PREFIX = "info/"
JOBS_PREFIX = "jobs/"
# Rendered page ranges, merged into document.pdf: only the PdfExporter reads or writes them.
PDF_PARTS_PREFIX = "pdf-parts/"


def page_key(job_id: str, page_number: int) -> str:
    """Work bucket key of the single-page PDF for ``page_number`` (1-based)."""
    return f"{PAGES_PREFIX}{job_id}/{page_number:05d}.pdf"


def parse_page_key(key: str) -> tuple[str, int] | None:
    """The (job id, page number) a page object's key names, or None for any other key."""
    if not key.startswith(PAGES_PREFIX):
        return None
    job_id, _, name = key[len(PAGES_PREFIX) :].partition("/")
    number, _, suffix = name.partition(".")
    if not job_id or suffix != "pdf" or not number.isdigit():
        return None
    return job_id, int(number)


def page_result_key(job_id: str, page_number: int) -> str:
    """Work bucket key of one page's analysis (a PageResult JSON)."""
    return f"{PAGE_RESULTS_PREFIX}{job_id}/{page_number:05d}.json"


def image_key(job_id: str, sha256: str, media_type: str) -> str:
    """Work bucket key of an image a page result references, named by its content's SHA-256.

    Under ``results/`` so that the PageWorker's write grant and the exporters' read grant cover
    it; one object per distinct image of a job, however many pages draw it.
    """
    extension = "jpg" if media_type == "image/jpeg" else "png"
    return f"{PAGE_RESULTS_PREFIX}{job_id}/images/{sha256}.{extension}"


def document_info_key(job_id: str) -> str:
    """Work bucket key of the source's metadata and outline, written by the Splitter."""
    return f"{DOCUMENT_INFO_PREFIX}{job_id}/document-info.json"


def pdf_part_key(job_id: str, first_page: int, last_page: int) -> str:
    """Work bucket key of the PDF of pages ``first_page`` to ``last_page`` (1-based, inclusive)."""
    return f"{PDF_PARTS_PREFIX}{job_id}/{first_page:05d}-{last_page:05d}.pdf"


def document_json_key(job_id: str) -> str:
    """Results bucket key of the combined document model."""
    return f"{JOBS_PREFIX}{job_id}/document.json"


def document_text_key(job_id: str) -> str:
    """Results bucket key of the document's plain text (form feed between pages)."""
    return f"{JOBS_PREFIX}{job_id}/document.txt"


def svg_key(job_id: str, page_number: int) -> str:
    """Results bucket key of one page's SVG rendering."""
    return f"{JOBS_PREFIX}{job_id}/svg/page-{page_number:05d}.svg"


def pdf_key(job_id: str) -> str:
    """Results bucket key of the rebuilt PDF."""
    return f"{JOBS_PREFIX}{job_id}/pdf/document.pdf"
