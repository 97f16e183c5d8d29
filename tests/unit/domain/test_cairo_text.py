"""The cairo context the PdfExporter draws text with: stand-ins, and glyphs a script font lacks."""

from __future__ import annotations

from typing import Any

import cairocffi  # type: ignore[import-untyped]
import pytest

from pagefan.domain.cairo_text import FALLBACK_FAMILY, DrawnText
from pagefan.domain.scripts import ARABIC_FAMILY, HEBREW_FAMILY, Cluster


def _context(stand_ins: dict[str, Cluster] | None = None) -> Any:
    context = DrawnText(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None), stand_ins or {})
    context.set_font_size(20)
    return context


def _cairo_extents(family: str, text: str) -> tuple[float, ...]:
    context = cairocffi.Context(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None))
    context.select_font_face(family)
    context.set_font_size(20)
    return tuple(context.text_extents(text))


def _missing(family: str, text: str) -> bool:
    context = cairocffi.Context(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None))
    context.select_font_face(family)
    return any(glyph[0] == 0 for glyph in context.get_scaled_font().text_to_glyphs(0, 0, text, False))


@pytest.mark.parametrize(
    ("family", "text"), [(HEBREW_FAMILY, "("), (HEBREW_FAMILY, "7"), (ARABIC_FAMILY, "[")]
)
def test_a_character_the_script_font_lacks_is_drawn_in_the_fallback_font(family: str, text: str) -> None:
    # GIVEN a script font without the character (cairo alone would draw an empty box)
    assert _missing(family, text)
    context = _context()
    context.select_font_face(family)
    # THEN it is measured (and drawn) in the fallback font, and the context keeps its own font
    assert context.text_extents(text) == _cairo_extents(FALLBACK_FAMILY, text)
    assert context.get_font_face().get_family() == family


def test_text_the_script_font_has_and_text_in_other_fonts_is_measured_as_cairo_does() -> None:
    context = _context()
    context.select_font_face(HEBREW_FAMILY)
    assert context.text_extents("שלום") == _cairo_extents(HEBREW_FAMILY, "שלום")
    # Outside the script fonts nothing falls back, even a missing glyph.
    context.select_font_face("Liberation Sans")
    assert context.text_extents("(a) שלום") == _cairo_extents("Liberation Sans", "(a) שלום")


def test_a_stand_in_is_measured_as_the_glyph_it_stands_for() -> None:
    context = _context({"\U000f0000": Cluster("\ufefc", "ال")})
    context.select_font_face(ARABIC_FAMILY)
    assert context.text_extents("\U000f0000")[4] == _cairo_extents(ARABIC_FAMILY, "\ufefc")[4]
    assert context.text_extents("\U000f0000 ")[4] == _cairo_extents(ARABIC_FAMILY, "\ufefc ")[4]


def test_drawing_moves_the_current_point_past_the_glyphs_as_cairo_does() -> None:
    context = _context({"\U000f0000": Cluster("\ufee3", "م")})
    context.select_font_face(ARABIC_FAMILY)
    context.move_to(10, 50)
    context.show_text("(\U000f0000")
    advance = _cairo_extents(FALLBACK_FAMILY, "(")[4] + _cairo_extents(ARABIC_FAMILY, "\ufee3")[4]
    assert context.get_current_point() == pytest.approx((10 + advance, 50))


def test_what_is_kept_of_a_glyph_follows_the_font_size() -> None:
    context = _context({"\U000f0000": Cluster("\ufefc", "ال")})
    context.select_font_face(ARABIC_FAMILY)
    advance = context.text_extents("\U000f0000")[4]
    context.set_font_size(10)
    assert context.text_extents("\U000f0000")[4] == pytest.approx(advance / 2)
    context.set_font_matrix(cairocffi.Matrix(xx=40, yy=40))
    assert context.text_extents("\U000f0000")[4] == pytest.approx(advance * 2)
