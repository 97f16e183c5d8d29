"""The cairo context the PdfExporter draws text with: stand-ins drawn as the glyphs they stand for."""

from __future__ import annotations

from typing import Any

import cairocffi  # type: ignore[import-untyped]
import pytest

from pagefan.domain.cairo_text import DrawnText
from pagefan.domain.scripts import ARABIC_FAMILY, Cluster


def _context(stand_ins: dict[str, Cluster] | None = None) -> Any:
    context = DrawnText(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None), stand_ins or {})
    context.set_font_size(20)
    return context


def _cairo_extents(family: str, text: str) -> tuple[float, ...]:
    context = cairocffi.Context(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None))
    context.select_font_face(family)
    context.set_font_size(20)
    return tuple(context.text_extents(text))


def test_a_stand_in_is_measured_as_the_glyph_it_stands_for() -> None:
    context = _context({"\U000f0000": Cluster("\ufefc", "ال")})
    context.select_font_face(ARABIC_FAMILY)
    assert context.text_extents("\U000f0000")[4] == _cairo_extents(ARABIC_FAMILY, "\ufefc")[4]
    assert context.text_extents("\U000f0000 ")[4] == _cairo_extents(ARABIC_FAMILY, "\ufefc ")[4]


def test_text_without_stand_ins_is_measured_as_cairo_does() -> None:
    context = _context({"\U000f0000": Cluster("\ufefc", "ال")})
    context.select_font_face("Liberation Sans")
    assert context.text_extents("(a) שלום") == _cairo_extents("Liberation Sans", "(a) שלום")


def test_drawing_moves_the_current_point_past_the_glyphs_as_cairo_does() -> None:
    context = _context({"\U000f0000": Cluster("\ufee3", "م")})
    context.select_font_face(ARABIC_FAMILY)
    context.move_to(10, 50)
    context.show_text("\u0627\U000f0000")
    advance = _cairo_extents(ARABIC_FAMILY, "\u0627\ufee3")[4]
    assert context.get_current_point() == pytest.approx((10 + advance, 50))
