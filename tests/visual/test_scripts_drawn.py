"""Right-to-left and CJK text in the rebuilt PDF: real glyphs, read back in logical order by pdftotext."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pagefan.domain.analysis import read_page
from pagefan.domain.pdf_render import svg_to_pdf
from pagefan.domain.svg import render_page_svg
from tests.hostile.generator import CJK, RTL, unicode_page
from tests.visual.scoring import require_poppler

# Unicode's directional embedding marks, which pdftotext puts around right-to-left lines.
_MARKS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u200e\u200f"))


def _poppler(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "page.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            [tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout


def test_hebrew_arabic_and_cjk_are_drawn_in_fonts_that_have_them_and_read_in_logical_order() -> None:
    require_poppler()
    # GIVEN a page that stores Hebrew and Arabic in visual order, as producers do, and three CJK lines
    source = unicode_page(*(line[::-1] for line in RTL), *CJK)
    page = read_page(source, job_id="j", page_number=1, max_content_bytes=10_000_000).result
    # WHEN it is rebuilt through the SVG and cairo
    rebuilt = svg_to_pdf(render_page_svg(page, title="t", max_elements=100))
    # THEN pdftotext reads every line of it as it is read, in logical order
    lines = [line.translate(_MARKS).strip() for line in _poppler("pdftotext", rebuilt).splitlines()]
    assert [line for line in lines if line] == [*RTL, *CJK]
    # and each script was drawn with a font that has its glyphs (cairo has no per-glyph fallback)
    fonts = _poppler("pdffonts", rebuilt)
    assert all(name in fonts for name in ("NotoSansHebrew", "NotoSansArabic", "NotoSansCJK")), fonts
