"""How cairo draws the text of a page for the rebuilt PDF: the glyphs a run needs, and their text.

cairosvg draws a ``<text>`` one character at a time (``show_text``, with ``text_extents`` to advance
and ``text_path`` for its outline), in the one font its first family names. In the context it is
given here, :class:`DrawnText`, a stand-in character (a private-use character that
:func:`pagefan.domain.pdf_render.visual_runs` put in the SVG for cairo) is drawn as the glyphs of
its cluster's ``drawn`` characters, with the cluster's ``text`` as their text (cairo's
``show_text_glyphs``; the PDF maps the glyphs to that text, or wraps them in an /ActualText span).
So an Arabic letter is drawn in its contextual form and a bracket mirrored, and a text extractor
still reads the letter and the bracket of the page model. Other text is drawn as cairo draws it.

Imported only once cairosvg has loaded (it loads the native cairo library), like cairosvg itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import cairocffi  # type: ignore[import-untyped]
import cairosvg

from pagefan.domain.scripts import Cluster

Extents = tuple[float, float, float, float, float, float]


class DrawnText(cairocffi.Context):  # type: ignore[misc]
    """A cairo context that draws stand-ins as the clusters they stand for."""

    def __init__(self, target: Any, stand_ins: Mapping[str, Cluster]) -> None:
        super().__init__(target)
        self._stand_ins = stand_ins

    def show_text(self, text: str) -> None:
        """Draw ``text`` at the current point and move the point past it, as cairo does."""
        if self._as_cairo_does(text):
            super().show_text(text)
            return
        for cluster in self._clusters(text):
            x, y = self.get_current_point()
            glyphs = self.get_scaled_font().text_to_glyphs(x, y, cluster.drawn, False)
            self.show_text_glyphs(cluster.text, glyphs, [(len(cluster.text.encode()), len(glyphs))])
            advance_x, advance_y = self._extents(cluster.drawn)[4:]
            self.move_to(x + advance_x, y + advance_y)

    def text_path(self, text: str) -> None:
        """Add the outlines of ``text``'s glyphs to the path, as cairo does."""
        if self._as_cairo_does(text):
            super().text_path(text)
            return
        for cluster in self._clusters(text):
            x, y = self.get_current_point() if self.has_current_point() else (0.0, 0.0)
            self.glyph_path(self.get_scaled_font().text_to_glyphs(x, y, cluster.drawn, False))
            advance_x, advance_y = self._extents(cluster.drawn)[4:]
            self.move_to(x + advance_x, y + advance_y)

    def text_extents(self, text: str) -> Extents:
        """The extents of ``text`` as drawn here: each stand-in measured as its cluster's glyphs."""
        if self._as_cairo_does(text):
            return self._extents(text)
        return self._extents("".join(cluster.drawn for cluster in self._clusters(text)))

    def _as_cairo_does(self, text: str) -> bool:
        """Whether ``text`` needs nothing of this class: it holds no stand-in."""
        return not any(char in self._stand_ins for char in text)

    def _clusters(self, text: str) -> Iterator[Cluster]:
        """Each character's cluster: itself, unless it is a stand-in."""
        for char in text:
            yield self._stand_ins.get(char) or Cluster(char, char)

    def _extents(self, text: str) -> Extents:
        extents: Extents = super().text_extents(text)
        return extents


def pdf_surface(stand_ins: Mapping[str, Cluster]) -> type[Any]:
    """The PDF surface of cairosvg, drawing with a :class:`DrawnText` context that knows ``stand_ins``.

    cairosvg creates the context once, in the surface's constructor (``self.context = ...``); the
    property below puts a :class:`DrawnText` on the same cairo surface in its place.
    """

    class PdfSurface(cairosvg.surface.PDFSurface):  # type: ignore[misc]
        @property
        def context(self) -> DrawnText:
            drawn: DrawnText = self.__dict__["_drawn_text"]
            return drawn

        @context.setter
        def context(self, context: Any) -> None:
            self.__dict__["_drawn_text"] = DrawnText(context.get_target(), stand_ins)

    return PdfSurface
