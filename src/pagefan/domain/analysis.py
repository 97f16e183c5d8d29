"""Analyse one single-page PDF: geometry, text, words, positioned text runs and images.

This runs in the PageWorker on untrusted bytes. Every content problem becomes a
:class:`~pagefan.errors.PageFailed` with a stable ``code``; the content size is checked
(with bounded decompression) before the text extraction does any heavy work.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from pypdf import PageObject, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from pagefan.domain.graphics import GraphicsLimits, PageGraphics, StoredImage, read_graphics
from pagefan.domain.parsing import PARSE_ERRORS, detail, streams_up_to
from pagefan.errors import PageFailed, PageFailureCode
from pagefan.formats.page_result import Omission, OmissionCode, PageResult, TextRun

# Form XObjects nest; real documents rarely go beyond three levels. The bounds stop hostile
# files that nest or fan out without end from turning the image count into the heavy work.
MAX_XOBJECT_DEPTH = 12
MAX_XOBJECTS = 10_000
MAX_CONTENT_STREAMS = 10_000
MAX_FONT_NAME_CHARS = 128
# pypdf repairs a corrupt zlib stream one byte at a time (about 1 s per MB); beyond this many
# input bytes it gives up instead of spending the page's time budget (default: 5 MB).
MAX_ZLIB_REPAIR_BYTES = 1_000_000

# Characters of text one page may yield. A dense real page holds tens of thousands; this bound
# keeps the page result (read whole by the Combiner and both exporters, the SvgExporter in 256 MB)
# small whatever a page draws: a form drawn a thousand times, a font mapping each code to 256
# characters, one 50 MB string.
MAX_PAGE_TEXT_CHARS = 1_000_000
# Text runs one page may yield, for the same reason: 200,000 runs take the SvgExporter to 230 of
# its 256 MB. A page that places every glyph on its own rarely has 10,000.
MAX_PAGE_RUNS = 100_000
# Font names a page may select but not define (see _stand_in_fonts), at most.
MAX_STAND_IN_FONTS = 256

_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
# "/F9 12 Tf": a font selection in a content stream (a name, whitespace, a number, Tf). The
# quantifiers are possessive: the scan is linear in the content, where plain ones would
# backtrack quadratically on a long run of digits (hostile content; a regex ignores SIGALRM).
_FONT_SELECTION = re.compile(
    rb"/([^\s/\[\]()<>{}%]++)\s++[-+]?+(?:\d++\.?+\d*+|\.\d++)\s++Tf(?![^\s/\[\]()<>{}%])"
)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Subset fonts are named "ABCDEF+RealName" (PDF 32000-1, 9.6.4): six upper-case letters and '+'.
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")


def _multiply(m: Any, n: Any) -> tuple[float, float, float, float, float, float]:
    """Product of two PDF matrices [a b c d e f] (row-vector convention: apply m, then n)."""
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


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
# taken to continue it: see _RunCollector.
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
class _RunCollector:
    """Receives pypdf's text callbacks and keeps the runs, positioned relative to the page box.

    pypdf reports each run with the text matrix of the last positioning operator (Td, Tm, T*)
    before it: it does not advance the matrix as glyphs are shown. A run that follows a font
    change in the middle of a line ("plain ) Tj /F2 12 Tf (bold) Tj") therefore comes back at
    the start of the line. The collector follows the pen instead: on the same baseline and in
    the same direction, a run reported before the end of the previous one starts where that
    one ended, measured with the font's glyph widths (character and word spacing and
    horizontal scaling are not reported by pypdf, so they are left out). A run explicitly
    placed further along the line keeps its own position.
    """

    origin_x: float
    origin_y: float
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
    # pypdf extracts a form's text with a fresh graphics state: the matrix in force where each
    # enclosing form was drawn (Do), to place the form's runs on the page.
    _form_bases: list[tuple[float, float, float, float, float, float]] = field(default_factory=list)

    def operator(self, operator: Any, operands: Any, cm: Any, tm: Any) -> None:
        """Follow the colour and render mode text is drawn with (pypdf's visitor_operand_before)."""
        state = self._state
        if operator == b"Do":
            # A form is drawn inside an implicit q/Q (an image's Do is undone the same way).
            self._saved.append(_TextState(state.fill, state.stroke, state.mode))
            try:
                base = _multiply(cm if cm is not None else _IDENTITY, self._base())
            except (TypeError, ValueError, IndexError):
                base = self._base()
            self._form_bases.append(base)
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
            if self._form_bases:
                self._form_bases.pop()
            if self._saved:
                self._state = self._saved.pop()
            self._pen = None

    def _base(self) -> tuple[float, float, float, float, float, float]:
        return self._form_bases[-1] if self._form_bases else _IDENTITY

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
        if not isinstance(text, str) or not text:
            return
        try:
            m = _multiply(tm if tm is not None else _IDENTITY, cm if cm is not None else _IDENTITY)
            m = _multiply(m, self._base())
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


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _object_key(obj: Any, resolved: Any) -> tuple[int, int] | int:
    """Identity of a PDF object: its object number when indirect, else the Python object."""
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    return id(resolved)


def _xobjects(resources: Any) -> tuple[list[StreamObject], int]:
    """Walk the resources' XObjects (through nested forms): return the forms and the image count.

    Images are counted once however often they are referenced; the walk is iterative and
    bounded in depth and in objects visited.
    """
    forms: list[StreamObject] = []
    images = 0
    seen: set[tuple[int, int] | int] = set()
    pending: list[tuple[Any, int]] = [(resources, 0)]
    while pending:
        current, depth = pending.pop()
        try:
            resource_dict = _resolve(current)
            if not isinstance(resource_dict, dict):
                continue
            xobject_dict = _resolve(resource_dict.get("/XObject"))
            if not isinstance(xobject_dict, dict):
                continue
            entries = list(xobject_dict.values())
        except PARSE_ERRORS:
            continue
        for entry in entries:
            if len(seen) >= MAX_XOBJECTS:
                return forms, images
            try:
                xobject = _resolve(entry)
                key = _object_key(entry, xobject)
                if key in seen or not isinstance(xobject, StreamObject):
                    continue
                seen.add(key)
                subtype = xobject.get("/Subtype")
            except PARSE_ERRORS:
                continue
            if subtype == "/Image":
                images += 1
            elif subtype == "/Form":
                forms.append(xobject)
                if depth + 1 < MAX_XOBJECT_DEPTH and "/Resources" in xobject:
                    pending.append((xobject["/Resources"], depth + 1))
    return forms, images


def _page_contents(page: PageObject) -> Iterator[StreamObject]:
    """The page's content streams (one stream or an array of them)."""
    contents = _resolve(page.get("/Contents"))
    if isinstance(contents, StreamObject):
        yield contents
    elif isinstance(contents, ArrayObject):
        for item in list(contents)[:MAX_CONTENT_STREAMS]:
            stream = _resolve(item)
            if isinstance(stream, StreamObject):
                yield stream


def _decoded_length(stream: StreamObject, budget: int) -> int:
    """Decode ``stream`` with every pypdf decompression limit set to just over ``budget``.

    pypdf stops decompressing once a limit is passed, so a decompression bomb costs at most
    ``budget`` bytes here instead of pypdf's 75 MB default; a normal stream is decoded once and
    cached by pypdf for the text extraction that follows.
    """
    limit = budget + 1  # 0 would mean "no limit" to pypdf
    with apply_configuration(
        zlib_maximum_recovery_input_length=min(limit, MAX_ZLIB_REPAIR_BYTES),
        zlib_maximum_output_length=limit,
        lzw_maximum_output_length=limit,
        run_length_maximum_output_length=limit,
        brotli_maximum_output_length=limit,
        array_based_stream_maximum_output_length=limit,
    ):
        return len(stream.get_data())


def _too_large(
    page_number: int, max_content_bytes: int | None, exc: BaseException | None = None
) -> PageFailed:
    if max_content_bytes is None:
        what = "one of its objects passed a safety limit" + (f" ({detail(exc)})" if exc else "")
    else:
        what = (
            f"its content is larger than {max_content_bytes:,} bytes once decompressed "
            "(MaxPageContentBytes parameter), or a damaged stream is too large to repair"
        )
    return PageFailed(
        PageFailureCode.CONTENT_TOO_LARGE,
        f"Page {page_number} was not analysed: {what}. "
        "It may be a decompression bomb or an extremely complex page.",
    )


def _check_content_size(
    page: PageObject, forms: list[StreamObject], page_number: int, limit: int
) -> list[StreamObject]:
    """Fail the page when its decompressed content streams (page and forms) exceed ``limit``.

    Returns:
        The forms that could be decoded (pypdf keeps their data, and the page's, decoded).

    """
    remaining = limit
    decoded_forms: list[StreamObject] = []
    try:
        streams = list(_page_contents(page))
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number}'s content cannot be read ({detail(exc)})."
        ) from exc
    for index, stream in enumerate([*streams, *forms]):
        is_form = index >= len(streams)
        try:
            remaining -= _decoded_length(stream, remaining)
        except LimitReachedError as exc:
            raise _too_large(page_number, limit) from exc
        except PARSE_ERRORS as exc:
            if is_form:
                # The text extraction skips a form it cannot decode; so does the size check.
                continue
            raise PageFailed(
                PageFailureCode.DAMAGED_PAGE,
                f"Page {page_number}'s content stream cannot be decoded ({detail(exc)}).",
            ) from exc
        if remaining < 0:
            raise _too_large(page_number, limit)
        if is_form:
            decoded_forms.append(stream)
    return decoded_forms


def _stand_in_font() -> DictionaryObject:
    """Helvetica in WinAnsi: what viewers draw a missing font's text with."""
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def _selected_fonts(streams: list[StreamObject]) -> set[str]:
    """Names of the fonts the streams select with Tf (their decoded data is cached by pypdf)."""
    names: set[str] = set()
    for stream in streams:
        for match in _FONT_SELECTION.finditer(stream.get_data()):
            raw = _NAME_ESCAPE.sub(lambda escape: bytes([int(escape.group(1), 16)]), match.group(1))
            try:
                names.add("/" + raw.decode("utf-8"))
            except UnicodeDecodeError:
                names.add("/" + raw.decode("latin-1"))
            if len(names) >= MAX_STAND_IN_FONTS:
                return names
    return names


def _stand_in_fonts(owner: DictionaryObject, streams: list[StreamObject]) -> None:
    """Give every font the streams select but ``owner``'s resources lack a Helvetica stand-in.

    A viewer draws text whose font is missing (not in the resources, a dangling reference, a
    string where a font dictionary belongs) in a default font, and the text reads normally;
    pypdf reads every character of it as U+FFFD. The stand-ins, added to this in-memory copy of
    the page only, make the extracted text what a viewer shows. Fonts that are dictionaries,
    however broken, are left to pypdf.
    """
    try:
        resources = _resolve(owner.get("/Resources"))
        if resources is None and not isinstance(owner, StreamObject):
            resources = owner[NameObject("/Resources")] = DictionaryObject()
        if not isinstance(resources, DictionaryObject):
            return
        fonts = _resolve(resources.get("/Font"))
        if not isinstance(fonts, DictionaryObject):
            fonts = resources[NameObject("/Font")] = DictionaryObject()
        for name in {*(str(key) for key in fonts), *_selected_fonts(streams)}:
            if not isinstance(_resolve(fonts.get(name)), DictionaryObject):
                fonts[NameObject(name)] = _stand_in_font()
    except PARSE_ERRORS:
        # Text extraction copes (with U+FFFD) without the stand-ins.
        return


def _rotation(page: PageObject) -> int:
    """The page's /Rotate as 0, 90, 180 or 270; like pdf.js, anything else counts as 0."""
    try:
        value = _resolve(page.get("/Rotate", 0))
        degrees = int(value)
        if degrees != float(value):
            return 0
    except PARSE_ERRORS:
        return 0
    degrees %= 360
    return degrees if degrees % 90 == 0 else 0


def _box(page: PageObject, page_number: int) -> tuple[float, float, float, float]:
    """(left, bottom, width, height) of the MediaBox, whichever corners the file lists."""
    try:
        box = page.mediabox
        left, right = sorted((float(box.left), float(box.right)))
        bottom, top = sorted((float(box.bottom), float(box.top)))
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} has no readable page size ({detail(exc)})."
        ) from exc
    width, height = right - left, top - bottom
    if not all(math.isfinite(value) for value in (left, bottom, width, height)) or width <= 0 or height <= 0:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} has an empty or invalid page size."
        )
    return left, bottom, width, height


def _open_page(pdf_bytes: bytes, page_number: int) -> PageObject:
    try:
        reader = PdfReader(BytesIO(pdf_bytes), strict=False)
        count = len(reader.pages)
        if count != 1:
            raise PageFailed(
                PageFailureCode.DAMAGED_PAGE,
                f"Page {page_number}'s file should hold exactly one page, not {count}.",
            )
        return reader.pages[0]
    except LimitReachedError as exc:
        raise _too_large(page_number, None, exc) from exc
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number} cannot be read ({detail(exc)})."
        ) from exc


@dataclass(frozen=True)
class PageAnalysis:
    """A page's result and the re-encoded images it references (stored beside it, not in it)."""

    result: PageResult
    images: list[StoredImage]


def analyse_page(
    pdf_bytes: bytes,
    *,
    job_id: str,
    page_number: int,
    max_content_bytes: int,
    limits: GraphicsLimits | None = None,
) -> PageResult:
    """The page result of :func:`read_page`, without the image bytes."""
    return read_page(
        pdf_bytes, job_id=job_id, page_number=page_number, max_content_bytes=max_content_bytes, limits=limits
    ).result


def read_page(
    pdf_bytes: bytes,
    *,
    job_id: str,
    page_number: int,
    max_content_bytes: int,
    limits: GraphicsLimits | None = None,
) -> PageAnalysis:
    """Extract geometry, text, words, text runs, graphics and images of a single-page PDF.

    The graphics (paths, images, clipping, forms, annotation appearances) come from pdfium (see
    :mod:`pagefan.domain.graphics`); when pdfium cannot read a page that pypdf can, the page
    keeps its text and says so in ``omitted`` (``graphics_unreadable``).

    Run positions are in PDF points from the MediaBox's bottom-left corner, before /Rotate:
    the text matrix combined with the current transformation matrix. A run is what pypdf
    reports as one piece of text (typically one line in one font); whitespace-only runs are
    dropped.

    Args:
        pdf_bytes: A one-page PDF, as :func:`pagefan.domain.split.split_pages` writes them.
        job_id: The job the page belongs to (copied into the result).
        page_number: The page's 1-based number in the source document.
        max_content_bytes: Largest accepted size of the page's decompressed content streams
            (page content plus form XObjects).
        limits: Bounds on the page's images, paths and form nesting (default: GraphicsLimits()).

    Returns:
        The page's analysis and its images.

    Raises:
        PageFailed: ``damaged_page`` (unreadable file, page or size), ``content_too_large``
            (content over the limit, text over MAX_PAGE_TEXT_CHARS or MAX_PAGE_RUNS, or a pypdf
            resource limit hit)
            or ``unreadable_text`` (the text extraction failed).

    """
    with streams_up_to(len(pdf_bytes)):
        result = _analyse(
            pdf_bytes, job_id=job_id, page_number=page_number, max_content_bytes=max_content_bytes
        )
    page, (left, bottom), source = result
    with streams_up_to(len(pdf_bytes)):
        graphics = _graphics(pdf_bytes, left, bottom, limits or GraphicsLimits(), source)
    text = page.text
    if graphics.annotation_runs:
        text += ("" if not text or text.endswith("\n") else "\n") + "\n".join(
            run.text for run in graphics.annotation_runs
        )
    return PageAnalysis(
        result=PageResult(
            job_id=page.job_id,
            page_number=page.page_number,
            width=page.width,
            height=page.height,
            rotation=page.rotation,
            text=text,
            words=text.split(),
            # The text of annotation appearances comes after the page's own, as viewers draw it
            # (and as pdftotext reads it).
            runs=[*page.runs, *graphics.annotation_runs],
            image_count=page.image_count,
            graphics=graphics.graphics,
            clips=graphics.clips,
            omitted=graphics.omitted,
        ),
        images=list(graphics.images.values()),
    )


# Form XObjects drawn on one page, counted through every nesting (a form drawn by two forms
# counts twice). pdfium expands every form when it loads a page, in native code that no time
# budget interrupts: a form that draws itself, or a few levels that each draw the next twice,
# would take it forever. Such a page keeps its text; its graphics are not read.
MAX_FORM_DRAWS = 10_000


def _form_draws(resources: Any, depth_limit: int) -> int | None:
    """How many forms the page may draw (each form's /XObject resources taken as drawn once).

    Returns None when a form can draw itself (a cycle), or the count passes MAX_FORM_DRAWS.
    """
    counts: dict[tuple[int, int] | int, int] = {}
    active: set[tuple[int, int] | int] = set()

    def forms_of(owner: Any) -> list[tuple[Any, StreamObject]]:
        try:
            resource_dict = _resolve(owner)
            xobject_dict = (
                _resolve(resource_dict.get("/XObject")) if isinstance(resource_dict, dict) else None
            )
            if not isinstance(xobject_dict, dict):
                return []
            found = []
            for entry in list(xobject_dict.values())[:MAX_XOBJECTS]:
                xobject = _resolve(entry)
                if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form":
                    found.append((entry, xobject))
            return found
        except PARSE_ERRORS:
            return []

    def draws(resources: Any, depth: int) -> int | None:
        total = 0
        for entry, form in forms_of(resources):
            key = _object_key(entry, form)
            if key in active:
                return None
            if key not in counts:
                if depth >= depth_limit:
                    counts[key] = 1
                else:
                    active.add(key)
                    inner = draws(form.get("/Resources"), depth + 1)
                    active.discard(key)
                    if inner is None:
                        return None
                    counts[key] = 1 + inner
            total += counts[key]
            if total > MAX_FORM_DRAWS:
                return None
        return total

    return draws(resources, 0)


def _graphics(
    pdf_bytes: bytes, left: float, bottom: float, limits: GraphicsLimits, page: PageObject
) -> PageGraphics:
    import pypdfium2

    if _form_draws(page.get("/Resources"), MAX_XOBJECT_DEPTH) is None:
        return PageGraphics(
            omitted=[
                Omission(
                    code=OmissionCode.FORM_EXPANSION,
                    detail=f"The page's forms draw themselves, or more than {MAX_FORM_DRAWS:,} forms in all; "
                    "its graphics are not drawn, only its text.",
                )
            ]
        )
    try:
        box = page.mediabox
        return read_graphics(
            pdf_bytes,
            left=left,
            bottom=bottom,
            width=abs(float(box.right) - float(box.left)),
            height=abs(float(box.top) - float(box.bottom)),
            limits=limits,
        )
    except pypdfium2.PdfiumError as exc:
        return PageGraphics(
            omitted=[
                Omission(
                    code=OmissionCode.GRAPHICS_UNREADABLE,
                    detail=f"The page's graphics cannot be read ({detail(exc)}); only its text is drawn.",
                )
            ]
        )


def _analyse(
    pdf_bytes: bytes, *, job_id: str, page_number: int, max_content_bytes: int
) -> tuple[PageResult, tuple[float, float], PageObject]:
    page = _open_page(pdf_bytes, page_number)
    left, bottom, width, height = _box(page, page_number)
    rotation = _rotation(page)
    try:
        forms, image_count = _xobjects(page.get("/Resources"))
    except PARSE_ERRORS:
        forms, image_count = [], 0
    decoded_forms = _check_content_size(page, forms, page_number, max_content_bytes)
    # Only streams decoded (within the limit) above are scanned: pypdf keeps them decoded.
    _stand_in_fonts(page, list(_page_contents(page)))
    for form in decoded_forms:
        _stand_in_fonts(form, [form])

    collector = _RunCollector(origin_x=left, origin_y=bottom)
    try:
        text = page.extract_text(
            visitor_text=collector,
            visitor_operand_before=collector.operator,
            visitor_operand_after=collector.after,
        )
    except RecursionError as exc:
        raise PageFailed(
            PageFailureCode.UNREADABLE_TEXT,
            f"The text of page {page_number} cannot be extracted: its content nests arrays, "
            "dictionaries or forms too deeply.",
        ) from exc
    except LimitReachedError as exc:
        # Content streams passed the size check; this is another pypdf limit (parsing work,
        # font maps ...), which says the page is too complex rather than too long.
        raise _too_large(page_number, None, exc) from exc
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.UNREADABLE_TEXT,
            f"The text of page {page_number} cannot be extracted ({detail(exc)}).",
        ) from exc
    if len(text) > MAX_PAGE_TEXT_CHARS:
        raise PageFailed(
            PageFailureCode.CONTENT_TOO_LARGE,
            f"Page {page_number} was not analysed: its text is {len(text):,} characters long, more than the "
            f"{MAX_PAGE_TEXT_CHARS:,} pagefan accepts for one page. It may be a text bomb (a font or a form "
            "that repeats text without end).",
        )
    if len(collector.runs) > MAX_PAGE_RUNS:
        raise PageFailed(
            PageFailureCode.CONTENT_TOO_LARGE,
            f"Page {page_number} was not analysed: it places {len(collector.runs):,} separate pieces of "
            f"text, more than the {MAX_PAGE_RUNS:,} pagefan accepts for one page.",
        )
    text = clean_text(text)
    result = PageResult(
        job_id=job_id,
        page_number=page_number,
        width=width,
        height=height,
        rotation=rotation,
        text=text,
        words=text.split(),
        runs=collector.runs,
        image_count=image_count,
    )
    return result, (left, bottom), page
