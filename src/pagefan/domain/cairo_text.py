"""How cairo draws the text of a page for the rebuilt PDF: the glyphs a run needs, and their text.

cairosvg draws a ``<text>`` one character at a time (``show_text``, with ``text_extents`` to advance
and ``text_path`` for its outline), in the one font its first family names. :class:`DrawnText`, the
context it is given here, changes two things:

- A stand-in character (a private-use character that :func:`pagefan.domain.pdf_render.visual_runs`
  put in the SVG for cairo) is drawn as the glyphs of its cluster's ``drawn`` characters, with the
  cluster's ``text`` as their text (cairo's ``show_text_glyphs``; the PDF maps the glyphs to that text,
  or wraps them in an /ActualText span). So an Arabic letter is drawn in its contextual form and a
  bracket mirrored, and a text extractor still reads the letter and the bracket of the page model.
- In the font of a script family (:data:`pagefan.domain.scripts.SCRIPT_FAMILIES`), a character the
  font has no glyph for (Noto Sans Hebrew and Noto Sans Arabic have no brackets and no Latin letters,
  the Hebrew one no digits either) is drawn in the generic sans-serif font, where cairo alone would
  draw an empty box. Text in other fonts is drawn as cairo draws it.

Imported only once cairosvg has loaded (it loads the native cairo library), like cairosvg itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import cairocffi  # type: ignore[import-untyped]
import cairosvg

from pagefan.domain.scripts import SCRIPT_FAMILIES, Cluster

# The family fontconfig resolves for a glyph the script font lacks (Liberation Sans or DejaVu Sans in
# the cairo layer, Noto Sans or DejaVu Sans on Debian).
FALLBACK_FAMILY = "sans-serif"

Extents = tuple[float, float, float, float, float, float]
Face = tuple[str, int, int]  # family, slant, weight
Glyph = tuple[int, float, float]  # glyph index, x and y


class DrawnText(cairocffi.Context):  # type: ignore[misc]
    """A cairo context that draws stand-ins as their clusters and falls back per glyph in script fonts."""

    def __init__(self, target: Any, stand_ins: Mapping[str, Cluster]) -> None:
        super().__init__(target)
        self._stand_ins = stand_ins
        self._face: Face = ("", cairocffi.FONT_SLANT_NORMAL, cairocffi.FONT_WEIGHT_NORMAL)
        self._size: float | None = None  # unknown until set, and once a font matrix is: nothing kept
        # What cairo answered, kept: asked for each character, it made pages three times slower.
        self._missing: dict[tuple[Face, str], bool] = {}
        self._glyphs: dict[tuple[Face, float, bool, str], tuple[list[Glyph], Extents]] = {}

    def select_font_face(
        self,
        family: str = "",
        slant: int = cairocffi.FONT_SLANT_NORMAL,
        weight: int = cairocffi.FONT_WEIGHT_NORMAL,
    ) -> None:
        """Select a font as cairo does, remembering it: it decides whether glyphs may fall back."""
        self._face = (family, slant, weight)
        super().select_font_face(family, slant, weight)

    def set_font_size(self, size: float) -> None:
        """Set the font size as cairo does, remembering it."""
        self._size = size
        super().set_font_size(size)

    def set_font_matrix(self, matrix: Any) -> None:
        """Set the font matrix as cairo does (and forget the font size)."""
        self._size = None
        super().set_font_matrix(matrix)

    def show_text(self, text: str) -> None:
        """Draw ``text`` at the current point and move the point past it, as cairo does."""
        if self._as_cairo_does(text):
            super().show_text(text)
            return
        for cluster, fallback in self._clusters(text):
            x, y = self.get_current_point()
            glyphs, extents = self._shaped(cluster.drawn, fallback)
            placed = [(index, x + dx, y + dy) for index, dx, dy in glyphs]
            with self._font(fallback):
                self.show_text_glyphs(cluster.text, placed, [(len(cluster.text.encode()), len(placed))])
            self.move_to(x + extents[4], y + extents[5])

    def text_path(self, text: str) -> None:
        """Add the outlines of ``text``'s glyphs to the path, as cairo does."""
        if self._as_cairo_does(text):
            super().text_path(text)
            return
        for cluster, fallback in self._clusters(text):
            x, y = self.get_current_point() if self.has_current_point() else (0.0, 0.0)
            glyphs, extents = self._shaped(cluster.drawn, fallback)
            with self._font(fallback):
                self.glyph_path([(index, x + dx, y + dy) for index, dx, dy in glyphs])
            self.move_to(x + extents[4], y + extents[5])

    def text_extents(self, text: str) -> Extents:
        """The extents of ``text`` as drawn here: the clusters' glyphs, each in the font it is drawn in."""
        if self._as_cairo_does(text):
            extents: Extents = super().text_extents(text)
            return extents
        box: tuple[float, float, float, float] | None = None  # left, top, right, bottom
        advance_x = advance_y = 0.0
        for cluster, fallback in self._clusters(text):
            _glyphs, extents = self._shaped(cluster.drawn, fallback)
            x_bearing, y_bearing, width, height, x_advance, y_advance = extents
            if width or height:
                left, top = advance_x + x_bearing, advance_y + y_bearing
                right, bottom = left + width, top + height
                if box is not None:
                    left, top = min(left, box[0]), min(top, box[1])
                    right, bottom = max(right, box[2]), max(bottom, box[3])
                box = (left, top, right, bottom)
            advance_x, advance_y = advance_x + x_advance, advance_y + y_advance
        left, top, right, bottom = box or (0.0, 0.0, 0.0, 0.0)
        return (left, top, right - left, bottom - top, advance_x, advance_y)

    def _as_cairo_does(self, text: str) -> bool:
        """Whether ``text`` needs nothing of this class: no stand-in, and no glyph its font lacks."""
        return not any(char in self._stand_ins or self._lacks(char) for char in text)

    def _clusters(self, text: str) -> Iterator[tuple[Cluster, bool]]:
        """Each character's cluster (itself unless a stand-in), and whether it needs the fallback font."""
        for char in text:
            cluster = self._stand_ins.get(char) or Cluster(char, char)
            yield cluster, self._lacks(cluster.drawn)

    def _lacks(self, drawn: str) -> bool:
        """Whether the font is a script family's and has no glyph for ``drawn``."""
        if self._face[0] not in SCRIPT_FAMILIES or drawn.isspace():
            return False
        key = (self._face, drawn)
        if key not in self._missing:
            glyphs = self.get_scaled_font().text_to_glyphs(0, 0, drawn, False)
            self._missing[key] = any(glyph[0] == 0 for glyph in glyphs)
        return self._missing[key]

    def _shaped(self, drawn: str, fallback: bool) -> tuple[list[Glyph], Extents]:
        """The glyphs of ``drawn`` (placed from 0, 0) and their extents, in the font it is drawn in."""
        key = (self._face, self._size or 0.0, fallback, drawn)
        if key in self._glyphs:
            return self._glyphs[key]
        with self._font(fallback):
            glyphs = [tuple(glyph) for glyph in self.get_scaled_font().text_to_glyphs(0, 0, drawn, False)]
            extents: Extents = super().text_extents(drawn)
        shaped = (glyphs, extents)
        if self._size is not None:
            self._glyphs[key] = shaped
        return shaped

    @contextlib.contextmanager
    def _font(self, fallback: bool) -> Iterator[None]:
        """Within it, the context draws in the fallback font (when ``fallback``), then in its own again."""
        if not fallback:
            yield
            return
        family, slant, weight = self._face
        # Through cairo's own method: the context keeps the font cairosvg chose as its own.
        super().select_font_face(FALLBACK_FAMILY, slant, weight)
        try:
            yield
        finally:
            super().select_font_face(family, slant, weight)


def pdf_surface(stand_ins: Mapping[str, Cluster]) -> type[Any]:
    """The PDF surface of cairosvg, drawing with a :class:`DrawnText` context that knows ``stand_ins``.

    cairosvg creates the context once, in the surface's constructor (``self.context = ...``); a
    :class:`DrawnText` on the same cairo surface takes its place.
    """

    class PdfSurface(cairosvg.surface.PDFSurface):  # type: ignore[misc]
        def __setattr__(self, name: str, value: Any) -> None:
            if name == "context" and not isinstance(value, DrawnText):
                value = DrawnText(value.get_target(), stand_ins)
            super().__setattr__(name, value)

    return PdfSurface
