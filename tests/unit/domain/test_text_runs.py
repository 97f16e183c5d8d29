"""Text runs drawn inside form XObjects: placed through the form's /Matrix and the CTM at its ``Do``.

PDF 32000-1, 8.10.1: a form's coordinates are mapped by its /Matrix, then by the CTM in force where
``Do`` draws it. The expected positions are worked out by hand in each test; poppler (pdftotext
-bbox) puts the words at the same places, but for a /Matrix of other than six entries
(tests/visual/test_form_text.py checks a fixture against it).
"""

from __future__ import annotations

from typing import Any

import pytest

from pagefan.domain.analysis import analyse_page
from pagefan.formats.page_result import PageResult

# Advance of Helvetica "plain " at 10 pt, from its AFM widths: (556 + 222 + 556 + 222 + 556 + 278) / 100.
PLAIN_SPACE = 23.9


def form(content: bytes, *, matrix: bytes | None, xobjects: bytes = b"") -> bytes:
    """A form XObject's object body, drawing ``content`` with the page's Helvetica as /F1."""
    entries = b"/Type /XObject /Subtype /Form /BBox [0 0 300 300] "
    if matrix is not None:
        entries += b"/Matrix " + matrix + b" "
    entries += b"/Resources << /Font << /F1 4 0 R >> " + xobjects + b">>"
    return b"<< /Length %d %s >>\nstream\n" % (len(content), entries) + content + b"\nendstream"


def analyse(pdfs: Any, page_content: bytes, *forms: bytes) -> PageResult:
    """Read a page whose resources name the first XObject /Fm (object 6), the second /In (object 7)."""
    named = zip((b"Fm", b"In"), range(6, 6 + len(forms)), strict=False)
    names = b" ".join(b"/%s %d 0 R" % (name, number) for name, number in named)
    data = pdfs.one_page(page_content, resources=b"/XObject << " + names + b" >>", extra_objects=list(forms))
    return analyse_page(data, job_id="job-1", page_number=1, max_content_bytes=1_000_000)


def placed(result: PageResult) -> list[tuple[str, float, float, float, float]]:
    return [(run.text, run.x, run.y, run.size, run.angle) for run in result.runs]


def test_a_form_s_matrix_scales_and_moves_its_text(pdfs: Any) -> None:
    # GIVEN a form whose /Matrix doubles its space and moves it by (50, 60), drawn at (100, 100)
    scaled = form(b"BT /F1 10 Tf 10 20 Td (Scaled) Tj ET", matrix=b"[2 0 0 2 50 60]")
    # WHEN the page is read
    result = analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", scaled)
    # THEN (10, 20) in the form is (70, 100) in the page's space before the CTM, (170, 200) after it,
    # and the 10 pt text is drawn 20 pt tall
    assert placed(result) == [("Scaled", 170, 200, 20, 0)]


def test_a_form_drawn_twice_is_placed_by_each_ctm(pdfs: Any) -> None:
    scaled = form(b"BT /F1 10 Tf 10 20 Td (Twice) Tj ET", matrix=b"[2 0 0 2 50 60]")
    result = analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q q 0.5 0 0 0.5 300 500 cm /Fm Do Q", scaled)
    # The second Do halves the form's (70, 100) and 20 pt and moves them by (300, 500).
    assert placed(result) == [("Twice", 170, 200, 20, 0), ("Twice", 335, 550, 10, 0)]


def test_nested_forms_compose_inner_matrix_then_ctm_then_outer_matrix(pdfs: Any) -> None:
    # GIVEN an inner form that turns its text upwards (/Matrix rotates by 90 degrees and moves it),
    # drawn by an outer form after a cm, the outer form scaled by its own /Matrix
    inner = form(b"BT /F1 10 Tf 10 0 Td (Inner) Tj ET", matrix=b"[0 1 -1 0 5 7]")
    outer = form(
        b"BT /F1 10 Tf 10 20 Td (Outer) Tj ET q 1 0 0 1 30 0 cm /In Do Q",
        matrix=b"[2 0 0 2 50 60]",
        xobjects=b"/XObject << /In 7 0 R >>",
    )
    result = analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", outer, inner)
    # THEN (10, 0) in the inner form: its /Matrix gives (5, 17), the outer form's cm (35, 17), the
    # outer /Matrix (120, 94) and the page's cm (220, 194); turned 90 degrees, 20 pt tall.
    # (Applied in any other order, the same steps put it elsewhere.)
    assert placed(result) == [("Outer", 170, 200, 20, 0), ("Inner", 220, 194, 20, 90)]


def test_a_form_without_a_matrix_is_drawn_in_the_ctm_alone(pdfs: Any) -> None:
    plain = form(b"BT /F1 10 Tf 10 20 Td (Plain) Tj ET", matrix=None)
    assert placed(analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", plain)) == [("Plain", 110, 120, 10, 0)]


@pytest.mark.parametrize("matrix", [b"[2 0 0 2 50]", b"[2 0 0 2 50 60 70]", b"(not a matrix)", b"null"])
def test_a_malformed_matrix_counts_as_the_identity(pdfs: Any, matrix: bytes) -> None:
    # pdfium, which draws the page's graphics, reads a /Matrix of other than six entries so too:
    # the form's text stays with its graphics.
    odd = form(b"BT /F1 10 Tf 10 20 Td (Odd) Tj ET", matrix=matrix)
    assert placed(analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", odd)) == [("Odd", 110, 120, 10, 0)]


def test_a_matrix_entry_that_is_not_a_number_counts_as_zero(pdfs: Any) -> None:
    odd = form(b"BT /F1 10 Tf 10 20 Td (Odd) Tj ET", matrix=b"[2 /Zero null 2 50 60]")
    assert placed(analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", odd)) == [("Odd", 170, 200, 20, 0)]


def test_a_run_after_a_font_change_in_a_scaled_form_starts_where_the_line_stopped(pdfs: Any) -> None:
    # The pen is followed in page space: in a form scaled twice, "plain " is twice as wide.
    scaled = form(b"BT /F1 10 Tf 10 20 Td (plain ) Tj /F1 10 Tf (more) Tj ET", matrix=b"[2 0 0 2 50 60]")
    runs = analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q", scaled).runs
    assert [(run.text, run.x, run.y, run.size) for run in runs] == [
        ("plain ", 170, 200, 20),
        ("more", pytest.approx(170 + 2 * PLAIN_SPACE), 200, 20),
    ]


def test_text_pending_when_a_form_is_drawn_keeps_its_own_place(pdfs: Any) -> None:
    # GIVEN a Do inside a text object (not allowed, but read): pypdf reports the text shown before
    # it only when it reaches the Do
    scaled = form(b"BT /F1 10 Tf 10 20 Td (Inside) Tj ET", matrix=b"[2 0 0 2 50 60]")
    result = analyse(pdfs, b"q 1 0 0 1 100 100 cm BT /F1 10 Tf 72 500 Td (Before) Tj /Fm Do ET Q", scaled)
    # THEN that text is placed by the page's matrices, not the form's
    assert placed(result) == [("Before", 172, 600, 10, 0), ("Inside", 170, 200, 20, 0)]


def test_text_after_a_form_is_placed_by_the_page_again(pdfs: Any) -> None:
    scaled = form(b"BT /F1 10 Tf 10 20 Td (Inside) Tj ET", matrix=b"[2 0 0 2 50 60]")
    result = analyse(pdfs, b"q 1 0 0 1 100 100 cm /Fm Do Q BT /F1 10 Tf 72 50 Td (After) Tj ET", scaled)
    assert placed(result) == [("Inside", 170, 200, 20, 0), ("After", 72, 50, 10, 0)]


def test_an_image_s_do_leaves_the_text_where_it_is(pdfs: Any) -> None:
    image = (
        b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Matrix [9 0 0 9 9 9] /Length 1 >>\nstream\n\x00\nendstream"
    )
    result = analyse(pdfs, b"q 50 0 0 50 0 0 cm /Fm Do Q BT /F1 10 Tf 72 50 Td (After) Tj ET", image)
    assert placed(result) == [("After", 72, 50, 10, 0)]
