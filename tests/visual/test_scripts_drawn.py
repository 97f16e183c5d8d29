"""Right-to-left and CJK text in the rebuilt PDF: real glyphs, read back in logical order by pdftotext."""

from __future__ import annotations

import re
import subprocess
import tempfile
import unicodedata
from collections import Counter
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from pagefan.domain.analysis import read_page
from pagefan.domain.pdf_render import svg_to_pdf
from pagefan.domain.svg import RIGHT_TO_LEFT_ATTRIBUTES, render_page_svg
from pagefan.formats.page_result import PageResult, TextRun
from tests.hostile.generator import CJK, RTL, unicode_page
from tests.visual.scoring import render_pdf, render_svg, require_poppler

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


def _rebuilt(*lines: str) -> bytes:
    """A page drawing right-to-left ``lines``, rebuilt through the SVG and cairo."""
    # Producers write right-to-left text in visual order (these lines are right to left throughout).
    source = unicode_page(*(line[::-1] for line in lines))
    page = read_page(source, job_id="j", page_number=1, max_content_bytes=10_000_000).result
    assert [run.text for run in page.runs] == list(lines)
    return svg_to_pdf(render_page_svg(page, title="t", max_elements=100))


def _lines(pdf: bytes) -> list[str]:
    lines = (line.translate(_MARKS).strip() for line in _poppler("pdftotext", pdf).splitlines())
    return [line for line in lines if line]


def _glyph_texts(pdf: bytes, font: str) -> list[str]:
    """The text the ToUnicode map of each font named like ``font`` gives each of its glyphs."""
    resources = PdfReader(BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    texts = []
    for reference in resources.values():
        entry = reference.get_object()
        if font in entry["/BaseFont"]:
            cmap = entry["/ToUnicode"].get_object().get_data().decode("ascii")
            for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.DOTALL):
                for _code, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                    texts.append(bytes.fromhex(text).decode("utf-16-be"))
    assert texts, f"no glyph of {font} in the rebuilt PDF"
    return texts


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


def test_arabic_letters_are_drawn_joined_and_lam_alef_as_one_ligature() -> None:
    require_poppler()
    # GIVEN Arabic lines whose letters join: مرحبا, بالعالم, السلام (lam-alef), عليكم
    rebuilt = _rebuilt(*RTL[1:])
    # THEN a letter is drawn with a different glyph where it starts, continues or ends a word: meem
    # begins مرحبا, ends بالعالم and stands alone after the lam-alef of السلام (cairo alone draws
    # each letter with one glyph, its isolated form)
    glyphs = _glyph_texts(rebuilt, "NotoSansArabic")
    assert Counter(glyphs)["م"] >= 3, glyphs
    # and one glyph stands for lam and alef together
    assert any(unicodedata.normalize("NFKC", text) in ("لا", "ال") for text in glyphs), glyphs
    # and the lines read back as they are read, lam-alef included
    assert _lines(rebuilt) == list(RTL[1:])


# Brackets in right-to-left lines: the source reads them as the logical text has them.
BRACKETED = ("(שלום) עולם", "(السلام) عليكم")


def test_brackets_in_right_to_left_lines_read_back_in_logical_order() -> None:
    require_poppler()
    assert _lines(_rebuilt(*BRACKETED)) == list(BRACKETED)


@pytest.mark.parametrize("word", ["(שלום)", "(السلام)"])
def test_brackets_in_right_to_left_lines_are_drawn_mirrored(word: str) -> None:
    require_poppler()
    # GIVEN a right-to-left word in brackets: its logical "(" is at its right end, where it must
    # look like ")", and the logical ")" at its left end must look like "("
    # (a page model of its own: read from a source, a lone bracketed word comes in two runs)
    page = PageResult("j", 1, 200, 100, 0, word, [word], [TextRun(word, 20, 50, 14, "Helvetica")], 0)
    image = render_pdf(svg_to_pdf(render_page_svg(page, title="t", max_elements=10)), dpi=200)
    ink = image < 128
    columns = np.flatnonzero(ink.any(axis=0))
    gaps = np.flatnonzero(np.diff(columns) > 1)
    left = ink[:, columns[0] : columns[gaps[0]] + 1]
    right = ink[:, columns[gaps[-1] + 1] : columns[-1] + 1]
    # THEN the leftmost glyph bulges to the left in its middle, as "(" does ("(" mirrored as ")"
    # would bulge right, and the empty box of a font without brackets bulges neither way), and
    # the rightmost glyph bulges to the right
    assert _bulge(left) < -1
    assert _bulge(right[:, ::-1]) < -1


def _bulge(glyph: np.ndarray) -> int:
    """How far left of its top row's ink a glyph's ink reaches in its middle row (negative: further left)."""
    rows = np.flatnonzero(glyph.any(axis=1))
    top, middle = rows[0], (rows[0] + rows[-1]) // 2
    return int(np.flatnonzero(glyph[middle])[0] - np.flatnonzero(glyph[top])[0])


@pytest.mark.parametrize("line", ["(שלום) עולם", "2024 שלום עולם", "«السلام» عليكم"])
def test_an_svg_viewer_lays_out_a_right_to_left_run_as_the_rebuilt_pdf_draws_it(line: str) -> None:
    require_poppler()
    # GIVEN a right-to-left run that opens with a bracket, a digit or a guillemet, which SVG's
    # default left-to-right layout would put on the wrong side of the line
    page = PageResult("j", 1, 300, 60, 0, line, line.split(), [TextRun(line, 40, 30, 20, "Helvetica")], 0)
    svg = render_page_svg(page, title="t", max_elements=10)
    pdf = render_pdf(svg_to_pdf(svg), dpi=96).astype(float)
    # WHEN librsvg draws the SVG, as it is and laid out left to right (the run's direction removed)
    as_written = render_svg(svg, dpi=96).astype(float)
    left_to_right = render_svg(svg.replace(RIGHT_TO_LEFT_ATTRIBUTES, ""), dpi=96).astype(float)
    # THEN the SVG as written looks like the rebuilt PDF (whose order pdftotext reads back), far more
    # than the left-to-right layout does
    assert RIGHT_TO_LEFT_ATTRIBUTES in svg
    assert np.abs(as_written - pdf).mean() < np.abs(left_to_right - pdf).mean() / 2
