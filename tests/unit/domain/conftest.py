"""Fixtures for the domain tests: sample documents and tiny hand-built PDFs.

PDFs are built here (with tests.documents, pypdf or raw bytes), never downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pagefan.domain.split import open_document, split_pages
from tests.documents import make_sample_pdf, sample_words
from tests.pdf_bytes import build_pdf, stream

SAMPLE_PAGES = 6
BIG = 10**9


def one_page(
    content: bytes = b"",
    *,
    mediabox: bytes = b"[0 0 612 792]",
    rotate: bytes | None = None,
    base_font: bytes = b"Helvetica",
    resources: bytes = b"",
    content_dict: bytes = b"",
    extra_objects: Sequence[bytes] = (),
) -> bytes:
    """A one-page PDF: objects 1-5 are catalog, pages, page, font /F1, content; extras follow as 6, 7..."""
    rotate_entry = b"" if rotate is None else b"/Rotate " + rotate
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox "
        + mediabox
        + b" "
        + rotate_entry
        + b" /Resources << /Font << /F1 4 0 R >> "
        + resources
        + b" >> /Contents 5 0 R >>"
    )
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            page,
            b"<< /Type /Font /Subtype /Type1 /BaseFont /" + base_font + b" /Encoding /WinAnsiEncoding >>",
            stream(content, content_dict),
            *extra_objects,
        ]
    )


class Pdfs:
    """The builders above, handed to tests as one fixture."""

    build = staticmethod(build_pdf)
    stream = staticmethod(stream)
    one_page = staticmethod(one_page)


@pytest.fixture
def pdfs() -> type[Pdfs]:
    return Pdfs


@pytest.fixture(scope="session")
def sample_pdf() -> bytes:
    return make_sample_pdf(SAMPLE_PAGES)


@pytest.fixture(scope="session")
def sample_source_words() -> list[list[str]]:
    return sample_words(SAMPLE_PAGES)


@pytest.fixture(scope="session")
def sample_pages(sample_pdf: bytes) -> list[bytes]:
    """The sample's single-page PDFs, page 1 first."""
    reader = open_document(sample_pdf, max_bytes=BIG, max_pages=BIG)
    return [data for _number, data in split_pages(reader)]
