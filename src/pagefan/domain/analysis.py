"""Analyse one single-page PDF: geometry, text, words, positioned text runs and images.

This runs in the PageWorker on untrusted bytes. Every content problem becomes a
:class:`~pagefan.errors.PageFailed` with a stable ``code``; the content size is checked
(with bounded decompression, :mod:`~pagefan.domain.content_limits`) before the text extraction
does any heavy work. The runs are placed by :mod:`~pagefan.domain.text_runs`, fonts a page lacks
stood in for by :mod:`~pagefan.domain.stand_in_fonts`, and the graphics read by
:mod:`~pagefan.domain.graphics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from io import BytesIO

from pypdf import PageObject, PdfReader
from pypdf.errors import LimitReachedError

from pagefan.domain.content_limits import (
    MAX_FORM_DRAWS,
    MAX_XOBJECT_DEPTH,
    check_content_size,
    check_extracted_text,
    content_too_large,
    form_draws,
    page_contents,
    page_xobjects,
)
from pagefan.domain.graphics import GraphicsLimits, PageGraphics, StoredImage, read_graphics
from pagefan.domain.parsing import PARSE_ERRORS, detail, resolve, streams_up_to
from pagefan.domain.stand_in_fonts import add_stand_in_fonts
from pagefan.domain.text_runs import RunCollector, clean_text
from pagefan.errors import PageFailed, PageFailureCode
from pagefan.formats.page_result import Omission, OmissionCode, PageResult


def _rotation(page: PageObject) -> int:
    """The page's /Rotate as 0, 90, 180 or 270; like pdf.js, anything else counts as 0."""
    try:
        value = resolve(page.get("/Rotate", 0))
        degrees = int(value)
        if degrees != float(value):
            return 0
    except PARSE_ERRORS:
        return 0
    degrees %= 360
    return degrees if degrees % 90 == 0 else 0


def _box(page: PageObject, page_number: int) -> tuple[float, float, float, float]:
    """(left, bottom, width, height) of the MediaBox, whichever corners the file lists."""
    try:
        box = page.mediabox
        left, right = sorted((float(box.left), float(box.right)))
        bottom, top = sorted((float(box.bottom), float(box.top)))
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} has no readable page size ({detail(exc)})."
        ) from exc
    width, height = right - left, top - bottom
    if not all(math.isfinite(value) for value in (left, bottom, width, height)) or width <= 0 or height <= 0:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} has an empty or invalid page size."
        )
    return left, bottom, width, height


def _open_page(pdf_bytes: bytes, page_number: int) -> PageObject:
    try:
        reader = PdfReader(BytesIO(pdf_bytes), strict=False)
        count = len(reader.pages)
        if count != 1:
            raise PageFailed(
                PageFailureCode.DAMAGED_PAGE,
                f"Page {page_number}'s file should hold exactly one page, not {count}.",
            )
        return reader.pages[0]
    except LimitReachedError as exc:
        raise content_too_large(page_number, None, exc) from exc
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} cannot be read ({detail(exc)})."
        ) from exc


@dataclass(frozen=True)
class PageAnalysis:
    """A page's result and the re-encoded images it references (stored beside it, not in it)."""

    result: PageResult
    images: list[StoredImage]


def analyse_page(
    pdf_bytes: bytes,
    *,
    job_id: str,
    page_number: int,
    max_content_bytes: int,
    limits: GraphicsLimits | None = None,
) -> PageResult:
    """The page result of :func:`read_page`, without the image bytes."""
    return read_page(
        pdf_bytes, job_id=job_id, page_number=page_number, max_content_bytes=max_content_bytes, limits=limits
    ).result


def read_page(
    pdf_bytes: bytes,
    *,
    job_id: str,
    page_number: int,
    max_content_bytes: int,
    limits: GraphicsLimits | None = None,
) -> PageAnalysis:
    """Extract geometry, text, words, text runs, graphics and images of a single-page PDF.

    The graphics (paths, images, clipping, forms, annotation appearances) come from pdfium (see
    :mod:`pagefan.domain.graphics`); when pdfium cannot read a page that pypdf can, the page
    keeps its text and says so in ``omitted`` (``graphics_unreadable``).

    Run positions are in PDF points from the MediaBox's bottom-left corner, before /Rotate:
    the text matrix combined with the current transformation matrix. A run is what pypdf
    reports as one piece of text (typically one line in one font); whitespace-only runs are
    dropped.

    Args:
        pdf_bytes: A one-page PDF, as :func:`pagefan.domain.split.split_pages` writes them.
        job_id: The job the page belongs to (copied into the result).
        page_number: The page's 1-based number in the source document.
        max_content_bytes: Largest accepted size of the page's decompressed content streams
            (page content plus form XObjects).
        limits: Bounds on the page's images, paths and form nesting (default: GraphicsLimits()).

    Returns:
        The page's analysis and its images.

    Raises:
        PageFailed: ``damaged_page`` (unreadable file, page or size), ``content_too_large``
            (content over the limit, text or runs over the bounds of content_limits, or a pypdf
            resource limit hit)
            or ``unreadable_text`` (the text extraction failed).

    """
    with streams_up_to(len(pdf_bytes)):
        result = _analyse(
            pdf_bytes, job_id=job_id, page_number=page_number, max_content_bytes=max_content_bytes
        )
    page, (left, bottom), source = result
    with streams_up_to(len(pdf_bytes)):
        graphics = _graphics(pdf_bytes, left, bottom, limits or GraphicsLimits(), source)
    text = page.text
    if graphics.annotation_runs:
        text += ("" if not text or text.endswith("\n") else "\n") + "\n".join(
            run.text for run in graphics.annotation_runs
        )
    return PageAnalysis(
        result=PageResult(
            job_id=page.job_id,
            page_number=page.page_number,
            width=page.width,
            height=page.height,
            rotation=page.rotation,
            text=text,
            words=text.split(),
            # The text of annotation appearances comes after the page's own, as viewers draw it
            # (and as pdftotext reads it).
            runs=[*page.runs, *graphics.annotation_runs],
            image_count=page.image_count,
            graphics=graphics.graphics,
            clips=graphics.clips,
            omitted=graphics.omitted,
        ),
        images=list(graphics.images.values()),
    )


def _graphics(
    pdf_bytes: bytes, left: float, bottom: float, limits: GraphicsLimits, page: PageObject
) -> PageGraphics:
    import pypdfium2

    if form_draws(page.get("/Resources"), MAX_XOBJECT_DEPTH) is None:
        return PageGraphics(
            omitted=[
                Omission(
                    code=OmissionCode.FORM_EXPANSION,
                    detail=f"The page's forms draw themselves, or more than {MAX_FORM_DRAWS:,} forms in all; "
                    "its graphics are not drawn, only its text.",
                )
            ]
        )
    try:
        box = page.mediabox
        return read_graphics(
            pdf_bytes,
            left=left,
            bottom=bottom,
            width=abs(float(box.right) - float(box.left)),
            height=abs(float(box.top) - float(box.bottom)),
            limits=limits,
        )
    except pypdfium2.PdfiumError as exc:
        return PageGraphics(
            omitted=[
                Omission(
                    code=OmissionCode.GRAPHICS_UNREADABLE,
                    detail=f"The page's graphics cannot be read ({detail(exc)}); only its text is drawn.",
                )
            ]
        )


def _analyse(
    pdf_bytes: bytes, *, job_id: str, page_number: int, max_content_bytes: int
) -> tuple[PageResult, tuple[float, float], PageObject]:
    page = _open_page(pdf_bytes, page_number)
    left, bottom, width, height = _box(page, page_number)
    rotation = _rotation(page)
    try:
        forms, image_count = page_xobjects(page.get("/Resources"))
    except PARSE_ERRORS:
        forms, image_count = [], 0
    decoded_forms = check_content_size(page, forms, page_number, max_content_bytes)
    # Only streams decoded (within the limit) above are scanned: pypdf keeps them decoded.
    add_stand_in_fonts(page, list(page_contents(page)))
    for form in decoded_forms:
        add_stand_in_fonts(form, [form])

    collector = RunCollector(origin_x=left, origin_y=bottom, resources=page.get("/Resources"))
    try:
        text = page.extract_text(
            visitor_text=collector,
            visitor_operand_before=collector.operator,
            visitor_operand_after=collector.after,
        )
    except RecursionError as exc:
        raise PageFailed(
            PageFailureCode.UNREADABLE_TEXT,
            f"The text of page {page_number} cannot be extracted: its content nests arrays, "
            "dictionaries or forms too deeply.",
        ) from exc
    except LimitReachedError as exc:
        # Content streams passed the size check; this is another pypdf limit (parsing work,
        # font maps ...), which says the page is too complex rather than too long.
        raise content_too_large(page_number, None, exc) from exc
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.UNREADABLE_TEXT,
            f"The text of page {page_number} cannot be extracted ({detail(exc)}).",
        ) from exc
    check_extracted_text(page_number, text, collector.runs)
    text = clean_text(text)
    result = PageResult(
        job_id=job_id,
        page_number=page_number,
        width=width,
        height=height,
        rotation=rotation,
        text=text,
        words=text.split(),
        runs=collector.runs,
        image_count=image_count,
    )
    return result, (left, bottom), page
