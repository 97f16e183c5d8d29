"""Turn page SVGs into PDF pages with cairo, and merge the pages into the rebuilt document.

cairosvg (and through it the native cairo library) is imported inside :func:`svg_to_pdf` only:
the SvgExporter shares the code around it and has neither the memory nor the cairo layer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from io import BytesIO
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import IndirectObject

from pagefan.errors import RendererUnavailable
from pagefan.formats import OutlineEntry

# SVG lengths in pt become PDF points one to one at 72 dpi (cairosvg's default is 96).
SVG_DPI = 72

# Document info keys copied into the rebuilt PDF (pagefan metadata key -> PDF info key).
METADATA_KEYS = {
    "title": "/Title",
    "author": "/Author",
    "subject": "/Subject",
    "keywords": "/Keywords",
    "creator": "/Creator",
}

MAX_OUTLINE_DEPTH = 64


def svg_to_pdf(svg: str) -> bytes:
    """Convert one page's SVG (as :func:`pagefan.domain.svg.render_page_svg` draws it) to a PDF.

    The PDF page has the SVG's width and height in points. cairosvg runs in its safe mode: no
    ``unsafe`` flag and no URL fetcher, so nothing outside the SVG is ever read.

    Args:
        svg: A standalone SVG document.

    Returns:
        The bytes of a one-page PDF.

    Raises:
        RendererUnavailable: The native cairo library cannot be loaded (the cairo layer is
            not attached to the function).

    """
    try:
        # Lazy on purpose: see the module docstring.
        import cairosvg
    except (OSError, ImportError) as exc:
        # cairocffi raises OSError when libcairo is missing; ImportError covers a broken install.
        raise RendererUnavailable(
            "The native cairo library could not be loaded: attach the CairoLayer (layers/cairo) to "
            f"this function — see README, 'Cairo layer'. Detail: {exc}"
        ) from exc
    pdf: bytes = cairosvg.svg2pdf(bytestring=svg.encode("utf-8"), dpi=SVG_DPI)
    return pdf


def _add_outline(
    writer: PdfWriter,
    entries: Sequence[OutlineEntry],
    page_count: int,
    parent: IndirectObject | None,
    depth: int,
) -> None:
    if depth >= MAX_OUTLINE_DEPTH:
        return
    for entry in entries:
        page = entry.page_number
        if page is None or not 1 <= page <= page_count:
            # No target in this PDF: drop the entry but keep its children, one level up.
            _add_outline(writer, entry.children, page_count, parent, depth + 1)
            continue
        item = writer.add_outline_item(title=entry.title, page_number=page - 1, parent=parent)
        _add_outline(writer, entry.children, page_count, item, depth + 1)


def merge_pdf(
    pages: Iterable[bytes],
    *,
    metadata: Mapping[str, str],
    outline: Sequence[OutlineEntry],
    out: BinaryIO,
) -> int:
    """Merge single-page PDFs, in order, into one PDF with the source's metadata and outline.

    Each page is parsed and copied as it arrives, so the caller can render pages lazily.
    Outline entries pointing at no page (or past the last one) are left out; their children
    are kept, attached one level up.

    Args:
        pages: PDFs to append, usually one page each (all their pages are appended).
        metadata: The source's metadata (``title``, ``author``, ``subject``, ``keywords``,
            ``creator`` are copied when present).
        outline: The source's outline, with 1-based page numbers.
        out: Where the merged PDF is written.

    Returns:
        The number of pages written.

    """
    writer = PdfWriter()
    for data in pages:
        for page in PdfReader(BytesIO(data)).pages:
            writer.add_page(page)
    page_count = len(writer.pages)
    info = {pdf_key: metadata[key] for key, pdf_key in METADATA_KEYS.items() if metadata.get(key)}
    if info:
        writer.add_metadata(info)
    _add_outline(writer, outline, page_count, None, 0)
    writer.write(out)
    return page_count
