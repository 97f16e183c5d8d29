"""Where a page's text is drawn: text runs placed on the page, with their font, size and colour.

pypdf's text extraction reports each run with callbacks; :class:`RunCollector` follows the pen
and the graphics state through them and keeps the runs in page coordinates.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from pagefan.domain.matrices import IDENTITY, Matrix, multiply
from pagefan.domain.parsing import PARSE_ERRORS, resolve
from pagefan.formats.page_result import TextRun

MAX_FONT_NAME_CHARS = 128
# Subset fonts are named "ABCDEF+RealName" (PDF 32000-1, 9.6.4): six upper-case letters and '+'.
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


def clean_text(text: str) -> str:
    """Replace lone surrogates (pypdf decodes some fonts with "surrogatepass") with U+FFFD.

    Valid surrogate pairs become the character they encode. Without this, writing the page
    result as UTF-8 would fail.

    Args:
        text: Text as pypdf extracted it.

    Returns:
        The same text, encodable as UTF-8.

    """
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def run_text(text: str) -> str:
    """A run's text as stored: one line, whitespace collapsed, word boundaries at its ends kept.

    Whitespace inside becomes single spaces. A space or tab at either end becomes one space:
    it separates the run from its neighbour on the same line ("plain " then "bold"), so
    whoever reads the runs (or the SVG's text elements) one after the other can tell
    "plain bold" from "plainbold". A line break at the end (pypdf ends the last run of a line
    with one) is dropped: the next run is on another line. Whitespace-only text gives "".

    Args:
        text: A run's text as pypdf reported it.

    Returns:
        The run's text, or "" when it has no visible character.

    """
    words = text.split()
    if not words:
        return ""
    lead = " " if text[:1] in (" ", "\t") else ""
    trail = " " if text[-1:] in (" ", "\t") else ""
    return lead + " ".join(words) + trail


def font_name(font: Any) -> str:
    """The /BaseFont of a font dictionary without slash or subset prefix ("Helvetica-Bold").

    Args:
        font: The font dictionary pypdf reports for a run (may be None or garbage).

    Returns:
        The font's name, or "unknown" when the dictionary names none.

    """
    try:
        if not isinstance(font, DictionaryObject):
            return "unknown"
        # Type 3 fonts have no /BaseFont; their optional /Name is the closest thing.
        name = font.get("/BaseFont") or font.get("/Name")
        if name is None:
            return "unknown"
        text = str(name.get_object() if isinstance(name, IndirectObject) else name).lstrip("/")
    except PARSE_ERRORS:
        return "unknown"
    text = _SUBSET_PREFIX.sub("", clean_text(text))
    text = "".join(char for char in text if char.isprintable())[:MAX_FONT_NAME_CHARS]
    return text or "unknown"


# A run that starts this far (in points) before the end of the previous run on its line is
# taken to continue it: see RunCollector.
_CONTINUATION_TOLERANCE = 0.25
# Width of a glyph, in em, when the font's widths cannot be read: an average Latin glyph.
_FALLBACK_GLYPH_WIDTH = 0.5
_WIDTH_ERRORS: tuple[type[BaseException], ...] = (ImportError, *PARSE_ERRORS)


def _text_width_function(font: Any) -> Callable[[str], float]:
    """A function giving a text's advance width in em (text space units per point of font size).

    The widths are pypdf's own: the font's /Widths or /W, or the AFM metrics of the standard 14
    fonts. pypdf has no public API for them, so they come from ``pypdf.generic._font.Font``;
    when that is missing or the font dictionary is unreadable, every glyph counts as half an em.
    """
    if isinstance(font, DictionaryObject):
        try:
            from pypdf.generic._font import Font  # private: see the docstring

            measured = Font.from_font_resource(font)
            measured.get_text_width("a")
        except _WIDTH_ERRORS:
            pass
        else:
            return lambda text: float(measured.get_text_width(text)) / 1000
    return lambda text: len(text) * _FALLBACK_GLYPH_WIDTH


def form_matrix(xobject: Any) -> Matrix:
    """A form XObject's /Matrix, which maps the form's space into the space it is drawn in.

    Read as pdfium reads it (the page's graphics come from pdfium, and the form's text must stay
    with them): six entries, any that is not a number counting as 0; a missing /Matrix, or one of
    another length, is the identity. (Poppler takes the first six of a longer one and 0 for
    missing ones.)

    Args:
        xobject: The XObject a ``Do`` names (may be None or garbage).

    Returns:
        The matrix, ``IDENTITY`` when there is none to read.

    """
    try:
        if not isinstance(xobject, DictionaryObject):
            return IDENTITY
        entries = resolve(xobject.get("/Matrix"))
        if not isinstance(entries, ArrayObject) or len(entries) != 6:
            return IDENTITY
        values = [resolve(entry) for entry in entries]
    except PARSE_ERRORS:
        return IDENTITY
    numbers = tuple(float(value) if isinstance(value, (int, float)) else 0.0 for value in values)
    if not all(math.isfinite(number) for number in numbers):
        return IDENTITY
    return numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5]


@dataclass(frozen=True)
class _Form:
    """A form being drawn: the matrix from its space to the page's, and the resources its names use."""

    base: Matrix
    resources: Any


@dataclass(frozen=True)
class _Pen:
    """Where the text of the current line stopped, as pypdf's callbacks let us follow it.

    ``x0``/``y0`` is where the line's first run started (page coordinates), ``ux``/``uy`` the
    text direction (unit vector), ``length`` how far along it the text drawn so far reaches,
    and ``size`` the line's font size in points.
    """

    x0: float
    y0: float
    ux: float
    uy: float
    length: float
    size: float

    def along(self, x: float, y: float) -> tuple[float, float]:
        """(distance along the line, distance off its baseline) of a point in page coordinates."""
        dx, dy = x - self.x0, y - self.y0
        return dx * self.ux + dy * self.uy, abs(dx * self.uy - dy * self.ux)


def _rgb_hex(operands: Any) -> str | None:
    """The "#rrggbb" of a colour's operands: 1 (grey), 3 (RGB) or 4 (CMYK, naively) numbers."""
    try:
        values = [min(max(float(value), 0.0), 1.0) for value in operands]
    except (TypeError, ValueError):
        return None
    if len(values) == 1:
        red = green = blue = values[0]
    elif len(values) == 3:
        red, green, blue = values
    elif len(values) == 4:
        cyan, magenta, yellow, black = values
        red, green, blue = ((1 - ink) * (1 - black) for ink in (cyan, magenta, yellow))
    else:
        return None
    return "#" + "".join(f"{round(value * 255):02x}" for value in (red, green, blue))


@dataclass
class _TextState:
    """The graphics state text is drawn with: fill and stroke colour, text render mode."""

    fill: str = "#000000"
    stroke: str = "#000000"
    mode: int = 0

    def colour(self) -> str:
        """The colour a reader sees: the stroke colour for outlined-only text (modes 1 and 5)."""
        return self.stroke if self.mode in (1, 5) else self.fill

    def invisible(self) -> bool:
        """Modes 3 and 7 paint nothing: the text layer of an OCR'd scan."""
        return self.mode in (3, 7)


_FILL_OPERATORS = {b"g", b"rg", b"k", b"sc", b"scn"}
_STROKE_OPERATORS = {b"G", b"RG", b"K", b"SC", b"SCN"}
_SHOW_OPERATORS = {b"Tj", b"TJ", b"'", b'"'}
# q/Q nesting followed for the text's colour; deeper saves are not followed.
_MAX_STATE_DEPTH = 64


@dataclass
class RunCollector:
    """Receives pypdf's text callbacks and keeps the runs, positioned relative to the page box.

    pypdf reports each run with the text matrix of the last positioning operator (Td, Tm, T*)
    before it: it does not advance the matrix as glyphs are shown. A run that follows a font
    change in the middle of a line ("plain ) Tj /F2 12 Tf (bold) Tj") therefore comes back at
    the start of the line. The collector follows the pen instead: on the same baseline and in
    the same direction, a run reported before the end of the previous one starts where that
    one ended, measured with the font's glyph widths (character and word spacing and
    horizontal scaling are not reported by pypdf, so they are left out). A run explicitly
    placed further along the line keeps its own position.

    pypdf extracts a form's text with a fresh graphics state and without the form's /Matrix, so
    the collector places it: a form's space maps to the page by its /Matrix, then the CTM at its
    ``Do``, then whatever maps the space that ``Do`` is in (PDF 32000-1, 8.10.1).
    """

    origin_x: float
    origin_y: float
    # The page's /Resources, where the XObjects that the page's content draws are named.
    resources: Any = None
    runs: list[TextRun] = field(default_factory=list)
    _pen: _Pen | None = None
    _widths: dict[int, Callable[[str], float]] = field(default_factory=dict)
    _state: _TextState = field(default_factory=_TextState)
    _saved: list[_TextState] = field(default_factory=list)
    # The state of the first text shown since pypdf last reported a run: pypdf reports text
    # late (at the next positioning or font change), after a colour change in between.
    _shown: _TextState | None = None
    # Text-showing operators seen so far, and their count when the pending run's text began.
    _shows: int = 0
    _shown_at: int = 0
    # The forms being drawn, innermost last.
    _forms: list[_Form] = field(default_factory=list)
    # The form a Do is about to draw. It takes effect with the form's first operator: pypdf
    # reports the text pending at the Do (shown before it in the same text object) after the
    # Do's visitor_operand_before, and that text is placed as its own stream is.
    _entering: _Form | None = None

    def operator(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        """Follow the colour and render mode text is drawn with (pypdf's visitor_operand_before)."""
        if self._entering is not None:
            self._forms.append(self._entering)
            self._entering = None
        state = self._state
        if operator == b"Do":
            # A form is drawn inside an implicit q/Q (an image's Do is undone the same way).
            self._saved.append(_TextState(state.fill, state.stroke, state.mode))
            self._entering = self._form_drawn(operands, cm)
        elif operator in _SHOW_OPERATORS:
            if self._shown is None:
                self._shown = _TextState(state.fill, state.stroke, state.mode)
                self._shown_at = self._shows
            self._shows += 1
        elif operator == b"q":
            if len(self._saved) < _MAX_STATE_DEPTH:
                self._saved.append(_TextState(state.fill, state.stroke, state.mode))
        elif operator == b"Q":
            if self._saved:
                self._state = self._saved.pop()
        elif operator == b"Tr" and operands:
            with contextlib.suppress(TypeError, ValueError):
                state.mode = int(operands[0])
        elif operator in _FILL_OPERATORS or operator in _STROKE_OPERATORS:
            colour = _rgb_hex([value for value in operands if not isinstance(value, str)])
            if colour is not None:
                if operator in _FILL_OPERATORS:
                    state.fill = colour
                else:
                    state.stroke = colour
        elif operator == b"cs":
            state.fill = "#000000"
        elif operator == b"CS":
            state.stroke = "#000000"

    def after(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        """Leave a form (pypdf's visitor_operand_after; see :meth:`operator`)."""
        if operator == b"Do":
            if self._entering is not None:
                # An image, or a form pypdf read nothing from (none of its operators reported).
                self._entering = None
            elif self._forms:
                self._forms.pop()
            if self._saved:
                self._state = self._saved.pop()
            self._pen = None

    def _base(self) -> Matrix:
        return self._forms[-1].base if self._forms else IDENTITY

    def _form_drawn(self, operands: Any, cm: Any) -> _Form:
        """The form a ``Do`` draws: its XObject looked up by name as pypdf looks it up."""
        resources = self._forms[-1].resources if self._forms else self.resources
        try:
            xobjects = resolve(resolve(resources).get("/XObject"))
            xobject = resolve(xobjects.get(operands[0]))
            inner = resolve(xobject.get("/Resources"))
        except PARSE_ERRORS:
            xobject, inner = None, None
        try:
            base = multiply(multiply(form_matrix(xobject), cm if cm is not None else IDENTITY), self._base())
        except (TypeError, ValueError, IndexError):
            base = self._base()
        return _Form(base, inner)

    def _width(self, font: Any, text: str) -> float:
        measure = self._widths.get(id(font))
        if measure is None:
            measure = self._widths[id(font)] = _text_width_function(font)
        return measure(text)

    def _place(self, m: Any, text: str, font: Any, font_size: float, size: float) -> tuple[float, float]:
        """The run's true origin, and the pen moved past its text."""
        x, y = m[4], m[5]
        scale = math.hypot(m[0], m[1])
        if scale == 0:
            self._pen = None
            return x, y
        ux, uy = m[0] / scale, m[1] / scale
        advance = self._width(font, text.replace("\n", "")) * font_size * scale
        pen = self._pen
        start = 0.0
        if pen is not None and abs(ux * pen.uy - uy * pen.ux) < 1e-3 and ux * pen.ux + uy * pen.uy > 0:
            along, off = pen.along(x, y)
            if off <= 0.8 * min(size, pen.size):
                start = along
                if along < pen.length - _CONTINUATION_TOLERANCE:
                    # Reported before the end of the previous run: it continues where that one ended.
                    x, y = x + (pen.length - along) * ux, y + (pen.length - along) * uy
                    start = pen.length
                self._pen = _Pen(pen.x0, pen.y0, pen.ux, pen.uy, start + advance, pen.size)
            else:
                pen = None
        else:
            pen = None
        if pen is None:
            self._pen = _Pen(x, y, ux, uy, advance, size)
        if text.endswith("\n"):
            # pypdf ends a run with a line break when the next text is on another line.
            self._pen = None
        return x, y

    def __call__(self, text: Any, cm: Any, tm: Any, font: Any, font_size: Any) -> None:
        """Keep one run pypdf reports (its visitor_text), placed where the pen says it starts."""
        if not isinstance(text, str) or not text:
            return
        try:
            m = multiply(tm if tm is not None else IDENTITY, cm if cm is not None else IDENTITY)
            m = multiply(m, self._base())
            # The text space's vertical unit, mapped to user space, scales the nominal font size.
            size = abs(float(font_size)) * math.hypot(m[2], m[3])
            angle = math.degrees(math.atan2(m[1], m[0]))
            x, y = self._place(m, text, font, float(font_size), size)
            x, y = x - self.origin_x, y - self.origin_y
        except (TypeError, ValueError, IndexError, OverflowError):
            self._pen = None
            return
        shown, self._shown = self._shown or self._state, None
        texts_before = self._shown_at
        content = run_text(clean_text(text))
        if not content or not all(math.isfinite(value) for value in (x, y, size, angle)):
            return
        self.runs.append(
            TextRun(
                text=content,
                x=round(x, 2),
                y=round(y, 2),
                size=round(size, 2),
                font=font_name(font),
                # "+ 0.0" turns -0.0 into 0.0, so JSON never says "-0.0" for unrotated text.
                angle=round(angle, 2) + 0.0,
                colour=shown.colour(),
                invisible=shown.invisible(),
                texts_before=texts_before,
            )
        )
