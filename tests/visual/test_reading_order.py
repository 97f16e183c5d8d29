"""document.txt's reading order against pdftotext's (poppler), word by word, on generated pages."""

from __future__ import annotations

import difflib
import io
import subprocess
import tempfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from pagefan.domain.analysis import read_page
from tests.documents import make_sample_pdf
from tests.graphics_fixtures import FIXTURES
from tests.visual.scoring import require_poppler

DOCUMENTS = {
    **{name: build for name, build in FIXTURES.items()},
    # Twelve fonts changing within lines, a rotated page, a note reading upwards in each margin.
    "mixed-fonts": lambda: make_sample_pdf(4, seed=7, mixed_fonts=True),
}
# pdftotext puts a page's rotated margin note elsewhere in the page than pypdf does.
MIN_SIMILARITY = {"mixed-fonts": 0.95}


def _pdftotext_words(pdf: bytes, page_number: int) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            ["pdftotext", "-f", str(page_number), "-l", str(page_number), str(path), "-"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    return done.stdout.split()


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_text_reads_in_pdftotexts_order(name: str) -> None:
    require_poppler()
    pdf = DOCUMENTS[name]()
    reader = PdfReader(io.BytesIO(pdf))
    ours: list[str] = []
    theirs: list[str] = []
    for number, source in enumerate(reader.pages, start=1):
        writer = PdfWriter()
        writer.add_page(source)
        single = io.BytesIO()
        writer.write(single)
        ours += read_page(
            single.getvalue(), job_id="j", page_number=number, max_content_bytes=10**8
        ).result.words
        theirs += _pdftotext_words(pdf, number)
    ratio = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False).ratio()
    assert ratio >= MIN_SIMILARITY.get(name, 1.0), (ratio, ours, theirs)


def test_a_font_change_within_a_line_does_not_break_it() -> None:
    page = read_page(FIXTURES["styled-text"](), job_id="j", page_number=1, max_content_bytes=10**8).result
    assert "Blue text, then green italic back to black." in page.text.splitlines()
