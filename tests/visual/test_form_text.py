"""Text drawn inside forms placed by their /Matrix sits where poppler (pdftotext -bbox) puts it."""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pagefan.domain.analysis import read_page
from tests.graphics_fixtures import form_matrix
from tests.visual.scoring import require_poppler

# poppler's word box spans the font's ascent and descent: Helvetica's and Helvetica-Bold's AFM
# give 718 and -207 per 1000 units of font size.
ASCENT, DESCENT = 0.718, 0.207
TOLERANCE = 0.05  # points: pdftotext prints boxes to the millionth, pagefan rounds to the hundredth


def _poppler_words(pdf: bytes) -> list[tuple[str, float, float, float]]:
    """(word, x, baseline y from the bottom, font size) of each word pdftotext finds on page 1."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.pdf"
        path.write_bytes(pdf)
        done = subprocess.run(
            ["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    # The output is XHTML; its elements are in the XHTML namespace.
    root = ET.fromstring(done.stdout)
    namespace = "{http://www.w3.org/1999/xhtml}"
    page = next(root.iter(f"{namespace}page"))
    height = float(page.attrib["height"])
    words = []
    for word in page.iter(f"{namespace}word"):
        top, bottom = float(word.attrib["yMin"]), float(word.attrib["yMax"])
        size = (bottom - top) / (ASCENT + DESCENT)
        words.append((word.text or "", float(word.attrib["xMin"]), height - bottom + DESCENT * size, size))
    return words


def test_text_in_forms_placed_by_their_matrix_is_where_pdftotext_finds_it() -> None:
    require_poppler()
    pdf = form_matrix()
    runs = read_page(pdf, job_id="j", page_number=1, max_content_bytes=10**8).result.runs
    theirs = _poppler_words(pdf)
    # Each run starts with the word poppler finds at its origin, at the run's size.
    for run in runs:
        first_word = run.text.split()[0]
        candidates = [word for word in theirs if word[0] == first_word]
        nearest = min(candidates, key=lambda word: abs(word[1] - run.x) + abs(word[2] - run.y))
        assert (run.x, run.y, run.size) == pytest.approx(nearest[1:], abs=TOLERANCE), (run, nearest)
    # The form's words are drawn twice (two Do), at two sizes.
    assert sorted((run.text, run.size) for run in runs if run.text in ("Scaled", "inner")) == [
        ("Scaled", 12),
        ("Scaled", 16),
        ("inner", 18),
        ("inner", 24),
    ]
