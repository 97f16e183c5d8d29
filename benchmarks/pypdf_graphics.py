"""A page's graphics read with pypdf alone: the alternative to pdfium that benchmarks/engine.py measures.

Not shipped (benchmarks/ is not in the package). It interprets the page's content streams with
pypdf's ``ContentStream.operations`` and returns the same :class:`~pagefan.domain.graphics.PageGraphics`
as :func:`pagefan.domain.graphics.read_graphics` (paths with their own matrix, clips in page space,
images stored by SHA-256, omissions), under the same :class:`~pagefan.domain.graphics.GraphicsLimits`,
so that pagefan's SVG writer draws either and the same scores apply.

What it covers:

- graphics state: ``q``/``Q``, ``cm``; line width, cap, join, dash (``w J j d``; ``M`` is read and
  dropped, as the page model has no miter limit); ``gs`` with ``/CA``, ``/ca``, ``/LW``, ``/LC``,
  ``/LJ`` and ``/D``;
- paths: ``m l c v y h re``; painting ``f F f* S s B B* b b* n``; clipping ``W``/``W*`` (both as
  nonzero: the page model has no clip rule), intersected with the clips in force;
- colour: ``g G rg RG k K``, ``cs CS sc SC scn SCN`` in DeviceGray, DeviceRGB, DeviceCMYK (naive
  conversion), CalGray, CalRGB, ICCBased (by its ``/N``), Indexed over any of those;
  approximated: Separation and DeviceN (process colorants as CMYK, any other colorant as grey
  ink of its tint, no tint transform), Lab (its lightness as grey), shading patterns (their
  average colour); tiling patterns, and any other colour space, are not painted;
- form XObjects, recursively, with ``/Matrix``, ``/BBox`` (as a clip) and their ``/Resources``
  (or the enclosing ones when they have none), each form's operations parsed once per page;
- image XObjects and inline images (``BI``/``ID``/``EI``), decoded by pypdf
  (``_xobj_to_image``: Flate, LZW, RunLength, ASCII filters, DCT, JPX, CCITT where Pillow reads
  them, JBIG2 only where the jbig2dec program is installed; ``/SMask`` applied; ``/Decode``),
  stencil masks (``/ImageMask``) in the fill colour, re-encoded as pdfium's reader does (JPEG
  above 256 colours when opaque, else PNG); each image XObject decoded once per page;
- ``sh`` and shading patterns by one average colour (function types 2 and 3, sampled at nine
  points), painted over the clip in force; other shadings (sampled or PostScript functions,
  meshes) are not drawn;
- annotations: the normal appearance (``/AP /N``, its ``/AS`` state) of each annotation that is
  not hidden (links and pop-ups left out), mapped onto its ``/Rect`` as PDF 32000-1 12.5.5 says,
  after the page's content;
- the text-showing operators are counted (``texts_before``) so that graphics keep their place
  among pypdf's text runs.

What it leaves out: the text of annotation appearances (pdfium returns it as runs; here only the
appearance's graphics are drawn), text render modes that clip (4-7), soft masks and blend modes of
``gs``, ``/Mask`` on images (colour-key and stencil masks: pypdf does not apply them), transfer
functions, optional content (hidden layers are drawn), Type 3 glyph procedures, the exact
colours of spot and Lab spaces, and smooth shading gradients. A content stream pypdf cannot parse
is skipped with a ``graphics_unreadable`` omission; the rest of the page is still read.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from pypdf import PageObject, PdfReader
from pypdf.errors import DependencyError
from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    EncodedStreamObject,
    IndirectObject,
    NameObject,
    StreamObject,
)
from pypdf.generic._image_xobject import _xobj_to_image

from pagefan.domain.graphics import GraphicsLimits, PageGraphics, StoredImage, stored_picture
from pagefan.domain.matrices import IDENTITY, Matrix, multiply
from pagefan.domain.parsing import PARSE_ERRORS
from pagefan.formats.page_result import LINE_CAPS, LINE_JOINS, Graphic, ImageRef, Omission, OmissionCode

_SHOW_OPERATORS = (b"Tj", b"TJ", b"'", b'"')
_FILLS = {b"f": False, b"F": False, b"f*": True, b"B": False, b"B*": True, b"b": False, b"b*": True}
_STROKES = (b"S", b"s", b"B", b"B*", b"b", b"b*")
_CLOSING = (b"s", b"b", b"b*")
_PROCESS = ("/Cyan", "/Magenta", "/Yellow", "/Black")
_INLINE_KEYS = {
    "/BPC": "/BitsPerComponent",
    "/CS": "/ColorSpace",
    "/D": "/Decode",
    "/DP": "/DecodeParms",
    "/F": "/Filter",
    "/H": "/Height",
    "/W": "/Width",
    "/I": "/Interpolate",
    "/IM": "/ImageMask",
}
_INLINE_NAMES = {
    "/G": "/DeviceGray",
    "/RGB": "/DeviceRGB",
    "/CMYK": "/DeviceCMYK",
    "/I": "/Indexed",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/Fl": "/FlateDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
# Annotation flags (PDF 32000-1, 12.5.3): Hidden and NoView annotations are not drawn.
_HIDDEN_FLAGS = 2 | 32

RGB = tuple[float, float, float]


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _hex(rgb: RGB) -> str:
    return "#" + "".join(f"{int(min(max(value, 0.0), 1.0) * 255 + 0.5):02x}" for value in rgb)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def _obj(value: Any) -> Any:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _floats(values: Any, count: int) -> list[float]:
    # A viewer takes an operator's operands from the top of the stack: extra ones come first.
    numbers = [float(value) for value in values[-count:]] if count else []
    if len(numbers) != count or not all(math.isfinite(number) for number in numbers):
        raise ValueError("bad operands")
    return numbers


@dataclass(frozen=True)
class _Space:
    """A colour space reduced to what the prototype does with it."""

    kind: str  # gray, rgb, cmyk, indexed, tint, lab, pattern
    components: int
    base: _Space | None = None
    lookup: bytes = b""
    colorants: tuple[str, ...] = ()

    def initial(self) -> list[float]:
        if self.kind == "cmyk":
            return [0.0, 0.0, 0.0, 1.0]
        if self.kind == "tint":
            return [1.0] * self.components
        return [0.0] * self.components

    def rgb(self, values: list[float]) -> RGB | None:
        if self.kind == "gray":
            return (values[0],) * 3
        if self.kind == "rgb":
            return values[0], values[1], values[2]
        if self.kind == "cmyk":
            c, m, y, k = values[:4]
            return 1 - min(1.0, c + k), 1 - min(1.0, m + k), 1 - min(1.0, y + k)
        if self.kind == "lab":
            return (values[0] / 100,) * 3
        if self.kind == "indexed" and self.base is not None:
            n = self.base.components
            start = int(values[0]) * n
            entry = self.lookup[start : start + n]
            if len(entry) < n:
                return None
            return self.base.rgb([byte / 255 for byte in entry])
        if self.kind == "tint":
            if "/None" in self.colorants:
                return None
            if self.colorants and all(name in _PROCESS for name in self.colorants):
                cmyk = [0.0] * 4
                for name, tint in zip(self.colorants, values, strict=False):
                    cmyk[_PROCESS.index(name)] = tint
                return _DEVICE["cmyk"].rgb(cmyk)
            return (1 - max(values),) * 3
        return None


_DEVICE = {
    "gray": _Space("gray", 1),
    "rgb": _Space("rgb", 3),
    "cmyk": _Space("cmyk", 4),
}
_DEVICE_NAMES = {
    "/DeviceGray": _DEVICE["gray"],
    "/G": _DEVICE["gray"],
    "/CalGray": _DEVICE["gray"],
    "/DeviceRGB": _DEVICE["rgb"],
    "/RGB": _DEVICE["rgb"],
    "/CalRGB": _DEVICE["rgb"],
    "/DeviceCMYK": _DEVICE["cmyk"],
    "/CMYK": _DEVICE["cmyk"],
    "/Pattern": _Space("pattern", 0),
}


@dataclass
class _State:
    ctm: Matrix
    clips: tuple[int, ...] = ()
    fill_space: _Space = _DEVICE["gray"]
    stroke_space: _Space = _DEVICE["gray"]
    fill: RGB | None = (0.0, 0.0, 0.0)
    stroke: RGB | None = (0.0, 0.0, 0.0)
    fill_alpha: float = 1.0
    stroke_alpha: float = 1.0
    line_width: float = 1.0
    cap: int = 0
    join: int = 0
    dash: tuple[float, ...] = ()
    phase: float = 0.0


@dataclass
class _Path:
    """A path under construction, in user space: (SVG letter, points) pairs."""

    parts: list[tuple[str, list[tuple[float, float]]]] = field(default_factory=list)
    segments: int = 0
    start: tuple[float, float] | None = None
    current: tuple[float, float] | None = None

    def add(self, letter: str, *points: tuple[float, float]) -> None:
        self.parts.append((letter, list(points)))

    def data(self, matrix: Matrix | None = None) -> str:
        """SVG path data (mapped by ``matrix`` if given); "" when a coordinate is not finite."""
        out: list[str] = []
        for letter, points in self.parts:
            mapped = [_apply(matrix, x, y) for x, y in points] if matrix else points
            if not all(math.isfinite(x) and math.isfinite(y) for x, y in mapped):
                return ""
            out.append(letter + " ".join(f"{_num(x)} {_num(y)}" for x, y in mapped))
        return "".join(out)


class _Reader:
    """One page's interpretation: pypdf operations in, :class:`PageGraphics` out."""

    def __init__(
        self, reader: Any, origin: Matrix, size: tuple[float, float], limits: GraphicsLimits
    ) -> None:
        self.reader = reader
        self.origin = origin
        self.size = size
        self.limits = limits
        self.result = PageGraphics()
        self.texts = 0
        self._clip_ids: dict[str, int] = {}
        self._segments = 0
        self._image_bytes = 0
        self._omitted_codes: set[OmissionCode] = set()
        self._operations: dict[int, list[tuple[Any, bytes]] | None] = {}
        self._images: dict[int, tuple[ImageRef | None, OmissionCode | None]] = {}

    def omit(self, code: OmissionCode, detail: str) -> None:
        if code not in self._omitted_codes:
            self._omitted_codes.add(code)
            self.result.omitted.append(Omission(code=code, detail=detail))

    # --- content -------------------------------------------------------------------------

    def operations(self, content: Any) -> list[tuple[Any, bytes]] | None:
        """A stream's operations, parsed once per page (None when pypdf cannot parse it)."""
        key = id(content)
        if key not in self._operations:
            try:
                stream = (
                    content if isinstance(content, ContentStream) else ContentStream(content, self.reader)
                )
                self._operations[key] = stream.operations
            except PARSE_ERRORS:
                self._operations[key] = None
                self.omit(
                    OmissionCode.GRAPHICS_UNREADABLE,
                    "A content stream cannot be parsed; its graphics are not drawn.",
                )
        return self._operations[key]

    def run(self, operations: list[tuple[Any, bytes]], resources: Any, state: _State, depth: int) -> None:
        stack: list[_State] = []
        path = _Path()
        clip_pending = False
        for operands, operator in operations:
            try:
                if operator in _SHOW_OPERATORS:
                    self.texts += 1
                elif operator == b"q":
                    stack.append(replace(state))
                elif operator == b"Q":
                    if stack:
                        state = stack.pop()
                elif operator == b"cm":
                    state.ctm = multiply(_floats(operands, 6), state.ctm)  # type: ignore[arg-type]
                elif operator in (b"m", b"l", b"c", b"v", b"y", b"re", b"h"):
                    self.construct(path, operator, operands)
                elif operator in (b"W", b"W*"):
                    clip_pending = True
                elif operator in _FILLS or operator in (b"S", b"s", b"n"):
                    try:
                        if operator in _CLOSING:
                            self.construct(path, b"h", [])
                        if operator != b"n":
                            self.paint(path, operator, state)
                        if clip_pending:
                            state.clips = self.clip(path, state.ctm, state.clips)
                    finally:
                        # A painting operator ends the path, whatever became of it.
                        path, clip_pending = _Path(), False
                else:
                    self.set_state(operator, operands, resources, state, depth)
            except PARSE_ERRORS:
                continue  # a malformed operator is skipped, as viewers do

    def construct(self, path: _Path, operator: bytes, operands: Any) -> None:
        if operator == b"h":
            if path.current is not None:
                path.add("Z")
                path.current = path.start
            return
        if operator == b"re":
            x, y, w, h = _floats(operands, 4)
            path.add("M", (x, y))
            path.add("L", (x + w, y))
            path.add("L", (x + w, y + h))
            path.add("L", (x, y + h))
            path.add("Z")
            path.start = path.current = (x, y)
            path.segments += 5
            return
        if operator in (b"m", b"l"):
            x, y = _floats(operands, 2)
            if operator == b"m" or path.current is None:
                path.add("M", (x, y))
                path.start = (x, y)
            else:
                path.add("L", (x, y))
            path.current = (x, y)
            path.segments += 1
            return
        if path.current is None:
            return
        if operator == b"c":
            values = _floats(operands, 6)
        elif operator == b"v":
            values = [*path.current, *_floats(operands, 4)]
        else:  # y
            values = _floats(operands, 4)
            values += values[2:]
        points = [(values[0], values[1]), (values[2], values[3]), (values[4], values[5])]
        path.add("C", *points)
        path.current = points[2]
        path.segments += 3

    def paint(self, path: _Path, operator: bytes, state: _State) -> None:
        data = path.data()
        if not data:
            return
        self._segments += path.segments
        if self._segments > self.limits.max_path_segments:
            self.omit(
                OmissionCode.PATH_LIMIT,
                f"The page draws more than {self.limits.max_path_segments:,} path segments "
                "(MaxPagePathSegments parameter); the paths past that are not drawn.",
            )
            return
        fill = state.fill if operator in _FILLS else None
        stroke = state.stroke if operator in _STROKES else None
        if fill is None and stroke is None:
            return
        self.result.graphics.append(
            Graphic(
                kind="path",
                texts_before=self.texts,
                matrix=self.page_matrix(state.ctm),
                clips=list(state.clips),
                d=data,
                fill=_hex(fill) if fill else None,
                fill_opacity=round(state.fill_alpha, 3),
                even_odd=_FILLS.get(operator, False),
                stroke=_hex(stroke) if stroke else None,
                stroke_opacity=round(state.stroke_alpha, 3),
                line_width=round(max(state.line_width, 0.0), 3),
                line_cap=LINE_CAPS[state.cap] if 0 <= state.cap < 3 else "butt",
                line_join=LINE_JOINS[state.join] if 0 <= state.join < 3 else "miter",
                dash=list(state.dash) if stroke else [],
                dash_phase=round(state.phase, 3) if stroke and state.dash else 0.0,
            )
        )

    def page_matrix(self, ctm: Matrix) -> list[float]:
        return [round(value, 4) + 0.0 for value in multiply(ctm, self.origin)]

    def clip(self, path: _Path, ctm: Matrix, clips: tuple[int, ...]) -> tuple[int, ...]:
        """The clips in force with ``path`` (in user space ``ctm``) added, stored in page space."""
        data = path.data(multiply(ctm, self.origin))
        return self.add_clip(data, clips) if data else clips

    def add_clip(self, data: str, clips: tuple[int, ...]) -> tuple[int, ...]:
        if data not in self._clip_ids:
            self._clip_ids[data] = len(self.result.clips)
            self.result.clips.append(data)
        index = self._clip_ids[data]
        return clips if index in clips else (*clips, index)

    def rect_clip(self, box: list[float], ctm: Matrix, clips: tuple[int, ...]) -> tuple[int, ...]:
        x0, y0, x1, y1 = box
        matrix = multiply(ctm, self.origin)
        corners = [_apply(matrix, x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]
        if not all(math.isfinite(value) for corner in corners for value in corner):
            return clips
        data = "M" + "L".join(f"{_num(x)} {_num(y)}" for x, y in corners) + "Z"
        return self.add_clip(data, clips)

    # --- state ---------------------------------------------------------------------------

    def set_state(self, operator: bytes, operands: Any, resources: Any, state: _State, depth: int) -> None:
        if operator == b"w":
            state.line_width = _floats(operands, 1)[0]
        elif operator == b"J":
            state.cap = int(operands[0])
        elif operator == b"j":
            state.join = int(operands[0])
        elif operator == b"d":
            state.dash, state.phase = self.dash(operands[0], operands[1])
        elif operator in (b"g", b"G", b"rg", b"RG", b"k", b"K"):
            space = _DEVICE[{b"g": "gray", b"rg": "rgb", b"k": "cmyk"}[operator.lower()]]
            colour = space.rgb(_floats(operands, space.components))
            if operator.islower():
                state.fill_space, state.fill = space, colour
            else:
                state.stroke_space, state.stroke = space, colour
        elif operator in (b"cs", b"CS"):
            space = self.colour_space(operands[0], resources)
            colour = space.rgb(space.initial()) if space else None
            if operator == b"cs":
                state.fill_space, state.fill = space or _DEVICE["gray"], colour
            else:
                state.stroke_space, state.stroke = space or _DEVICE["gray"], colour
        elif operator in (b"sc", b"scn", b"SC", b"SCN"):
            space = state.fill_space if operator.islower() else state.stroke_space
            colour = self.colour(space, operands, resources)
            if operator.islower():
                state.fill = colour
            else:
                state.stroke = colour
        elif operator == b"gs":
            self.ext_gstate(operands[0], resources, state)
        elif operator == b"Do":
            self.draw_xobject(operands[0], resources, state, depth)
        elif operator == b"INLINE IMAGE":
            self.inline_image(operands, resources, state)
        elif operator == b"sh":
            shading = _obj(self.resource(resources, "/Shading", operands[0]))
            self.paint_shading(shading, state)

    def dash(self, array: Any, phase: Any) -> tuple[tuple[float, ...], float]:
        values = [round(float(value), 3) for value in _obj(array)][:64]
        if not values or not all(math.isfinite(value) and value >= 0 for value in values) or not any(values):
            return (), 0.0
        start = float(phase)
        return tuple(values), start if math.isfinite(start) else 0.0

    def ext_gstate(self, name: Any, resources: Any, state: _State) -> None:
        entry = _obj(self.resource(resources, "/ExtGState", name))
        if not isinstance(entry, DictionaryObject):
            return
        for key, value in entry.items():
            value = _obj(value)
            if key == "/CA":
                state.stroke_alpha = min(max(float(value), 0.0), 1.0)
            elif key == "/ca":
                state.fill_alpha = min(max(float(value), 0.0), 1.0)
            elif key == "/LW":
                state.line_width = float(value)
            elif key == "/LC":
                state.cap = int(value)
            elif key == "/LJ":
                state.join = int(value)
            elif key == "/D" and isinstance(value, list) and len(value) == 2:
                state.dash, state.phase = self.dash(value[0], value[1])

    def resource(self, resources: Any, kind: str, name: Any) -> Any:
        resources = _obj(resources)
        if not isinstance(resources, DictionaryObject):
            return None
        group = _obj(resources.get(kind))
        if not isinstance(group, DictionaryObject):
            return None
        return group.get(name)

    def colour_space(self, value: Any, resources: Any, depth: int = 0) -> _Space | None:
        value = _obj(value)
        if isinstance(value, str):  # a NameObject is a str
            if value in _DEVICE_NAMES:
                return _DEVICE_NAMES[value]
            named = self.resource(resources, "/ColorSpace", value)
            return None if named is None or depth > 4 else self.colour_space(named, resources, depth + 1)
        if not isinstance(value, ArrayObject) or not value or depth > 4:
            return None
        family = value[0]
        if family in _DEVICE_NAMES:
            return _DEVICE_NAMES[family]
        if family == "/ICCBased":
            profile = _obj(value[1])
            return {1: _DEVICE["gray"], 3: _DEVICE["rgb"], 4: _DEVICE["cmyk"]}.get(int(profile.get("/N", 0)))
        if family in ("/Indexed", "/I"):
            base = self.colour_space(value[1], resources, depth + 1)
            lookup = _obj(value[3])
            if isinstance(lookup, StreamObject):
                data = lookup.get_data()
            else:
                data = bytes(lookup) if isinstance(lookup, bytes) else lookup.original_bytes
            return _Space("indexed", 1, base=base, lookup=data) if base else None
        if family == "/Separation":
            return _Space("tint", 1, colorants=(str(value[1]),))
        if family == "/DeviceN":
            names = tuple(str(name) for name in _obj(value[1]))
            return _Space("tint", len(names), colorants=names)
        if family == "/Lab":
            return _Space("lab", 3)
        if family == "/Pattern":
            return _Space("pattern", 0)
        return None

    def colour(self, space: _Space, operands: Any, resources: Any) -> RGB | None:
        if space.kind == "pattern":
            pattern = _obj(self.resource(resources, "/Pattern", operands[-1]))
            if isinstance(pattern, DictionaryObject) and pattern.get("/PatternType") == 2:
                return self.shading_colour(_obj(pattern.get("/Shading")))
            return None  # tiling patterns are not painted
        numbers = [float(value) for value in operands if not isinstance(value, NameObject)]
        if len(numbers) < space.components:
            return None
        return space.rgb(numbers[: space.components])

    # --- shadings --------------------------------------------------------------------------

    def shading_colour(self, shading: Any) -> RGB | None:
        """The average of a shading's colours over nine points of its domain (function types 2, 3)."""
        if not isinstance(shading, DictionaryObject):
            return None
        space = self.colour_space(shading.get("/ColorSpace"), None)
        function = _obj(shading.get("/Function"))
        if space is None or function is None:
            return None
        domain = [float(value) for value in _obj(shading.get("/Domain", [0, 1]))][:2]
        if len(domain) != 2:
            domain = [0.0, 1.0]
        samples = []
        for step in range(9):
            t = domain[0] + (domain[1] - domain[0]) * step / 8
            if isinstance(function, list):
                values = [value for part in function for value in (_evaluate(_obj(part), t) or [])]
            else:
                values = _evaluate(function, t) or []
            if len(values) < space.components:
                return None
            colour = space.rgb(values[: space.components])
            if colour is None:
                return None
            samples.append(colour)
        return tuple(sum(channel) / len(samples) for channel in zip(*samples, strict=True))  # type: ignore[return-value]

    def paint_shading(self, shading: Any, state: _State) -> None:
        """``sh``: the clip in force (the page when none) filled with the shading's average colour."""
        colour = self.shading_colour(shading)
        if colour is None:
            self.omit(OmissionCode.SHADING, "A shading whose colours cannot be computed is not drawn.")
            return
        self.omit(
            OmissionCode.SHADING_APPROXIMATED, "Smooth shadings are drawn in one colour, their average."
        )
        width, height = self.size
        self.result.graphics.append(
            Graphic(
                kind="path",
                texts_before=self.texts,
                matrix=[1.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                clips=list(state.clips),
                d=f"M0 0L{_num(width)} 0L{_num(width)} {_num(height)}L0 {_num(height)}Z",
                fill=_hex(colour),
                fill_opacity=round(state.fill_alpha, 3),
            )
        )

    # --- XObjects and images -----------------------------------------------------------------

    def draw_xobject(self, name: Any, resources: Any, state: _State, depth: int) -> None:
        xobject = _obj(self.resource(resources, "/XObject", name))
        if not isinstance(xobject, StreamObject):
            return
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            self.draw_image(xobject, state, key=id(xobject))
        elif subtype == "/Form":
            self.draw_form(xobject, resources, state, depth)

    def draw_form(self, form: Any, resources: Any, state: _State, depth: int) -> None:
        if depth >= self.limits.max_form_depth:
            self.omit(
                OmissionCode.FORM_DEPTH,
                f"Forms nested deeper than {self.limits.max_form_depth} levels are not drawn "
                "(MaxFormDepth parameter).",
            )
            return
        inner = replace(state)
        matrix = form.get("/Matrix")
        if matrix is not None:
            inner.ctm = multiply(_floats(_obj(matrix), 6), state.ctm)  # type: ignore[arg-type]
        box = form.get("/BBox")
        if box is not None:
            x0, y0, x1, y1 = _floats(_obj(box), 4)
            inner.clips = self.rect_clip([x0, y0, x1, y1], inner.ctm, inner.clips)
        operations = self.operations(form)
        if operations:
            self.run(operations, form.get("/Resources", resources), inner, depth + 1)

    def inline_image(self, operands: Any, resources: Any, state: _State) -> None:
        settings = operands["settings"]
        data = operands["data"]
        init: dict[Any, Any] = {"__streamdata__": data, "/Length": len(data)}
        for key, value in settings.items():
            key = _INLINE_KEYS.get(key, key)
            if isinstance(value, list):
                value = ArrayObject(
                    NameObject(_INLINE_NAMES.get(item, item)) if isinstance(item, NameObject) else item
                    for item in value
                )
            elif isinstance(value, NameObject):
                if key == "/ColorSpace" and value not in _INLINE_NAMES and value not in _DEVICE_NAMES:
                    value = self.resource(resources, "/ColorSpace", value) or value
                else:
                    value = NameObject(_INLINE_NAMES.get(value, value))
            init[NameObject(key)] = value
        self.draw_image(EncodedStreamObject.initialize_from_dictionary(init), state, key=None)

    def draw_image(self, image: Any, state: _State, key: int | None) -> None:
        matrix = self.page_matrix(state.ctm)
        if not all(math.isfinite(value) for value in matrix):
            return
        stencil = bool(image.get("/ImageMask", False))
        cache_key = None if key is None or stencil else key
        if cache_key is not None and cache_key in self._images:
            ref, reason = self._images[cache_key]
        else:
            ref, reason = self.decode(image, state.fill if stencil else None, stencil)
            if cache_key is not None:
                self._images[cache_key] = (ref, reason)
        self.result.graphics.append(
            Graphic(
                kind="image",
                matrix=matrix,
                clips=list(state.clips),
                image=ref,
                omitted=reason,
                texts_before=self.texts,
            )
        )

    def decode(
        self, image: Any, fill: RGB | None, stencil: bool
    ) -> tuple[ImageRef | None, OmissionCode | None]:
        try:
            width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
        except (TypeError, ValueError):
            width = height = 0
        pixels = width * height
        if width <= 0 or height <= 0:
            self.omit(
                OmissionCode.IMAGE_UNDECODABLE, "An image whose size cannot be read is drawn as an empty box."
            )
            return None, OmissionCode.IMAGE_UNDECODABLE
        if pixels > self.limits.max_image_pixels:
            self.omit(
                OmissionCode.IMAGE_TOO_MANY_PIXELS,
                f"An image of {width:,} x {height:,} pixels is over the limit of "
                f"{self.limits.max_image_pixels:,} pixels (MaxImagePixels parameter; it may be a pixel "
                "bomb): drawn as an empty box.",
            )
            return None, OmissionCode.IMAGE_TOO_MANY_PIXELS
        if self._image_bytes + pixels * 4 > self.limits.max_image_bytes:
            self.omit(
                OmissionCode.IMAGE_BYTES_PER_PAGE,
                f"The page's images decode to more than {self.limits.max_image_bytes:,} bytes "
                "(MaxPageImageBytes parameter); the images past that are drawn as empty boxes.",
            )
            return None, OmissionCode.IMAGE_BYTES_PER_PAGE
        self._image_bytes += pixels * 4
        try:
            if stencil:
                if fill is None:
                    return None, None
                picture = self.stencil(image, fill)
            else:
                picture = _xobj_to_image(image)[2]
            stored = _encode(picture)
        except (*PARSE_ERRORS, OSError, DependencyError):
            # DependencyError: JBIG2 needs the jbig2dec program, which pypdf runs when it is installed.
            self.omit(
                OmissionCode.IMAGE_UNDECODABLE, "An image that cannot be decoded is drawn as an empty box."
            )
            return None, OmissionCode.IMAGE_UNDECODABLE
        self.result.images.setdefault(stored.sha256, stored)
        return ImageRef(sha256=stored.sha256, media_type=stored.media_type, width=width, height=height), None

    def stencil(self, image: Any, fill: RGB) -> Any:
        """A stencil mask as an RGBA picture: the fill colour where it paints, clear elsewhere."""
        from PIL import Image, ImageOps

        width, height = int(image["/Width"]), int(image["/Height"])
        bits = Image.frombytes("1", (width, height), image.get_data()).convert("L")
        decode = [float(value) for value in _obj(image.get("/Decode", [0, 1]))]
        # A sample of 0 paints, unless /Decode is [1 0].
        alpha = bits if decode[:1] == [1.0] else ImageOps.invert(bits)
        picture = Image.new("RGBA", (width, height), (*(round(value * 255) for value in fill), 0))
        picture.putalpha(alpha)
        return picture

    # --- annotations ---------------------------------------------------------------------------

    def annotations(self, page: Any) -> Iterator[tuple[Any, Matrix]]:
        """Each visible annotation's normal appearance and the matrix that maps it onto its /Rect."""
        annots = _obj(page.get("/Annots"))
        if not isinstance(annots, list):
            return
        for entry in annots:
            try:
                annot = _obj(entry)
                if int(annot.get("/F", 0)) & _HIDDEN_FLAGS or annot.get("/Subtype") in ("/Popup", "/Link"):
                    continue
                appearance = _obj(_obj(annot.get("/AP", {})).get("/N"))
                if not isinstance(appearance, StreamObject) and isinstance(appearance, DictionaryObject):
                    appearance = _obj(appearance.get(annot.get("/AS")))
                if not isinstance(appearance, StreamObject):
                    continue
                rect = _floats(_obj(annot["/Rect"]), 4)
                box = _floats(_obj(appearance.get("/BBox", [0, 0, 1, 1])), 4)
                own = _floats(_obj(appearance.get("/Matrix", [1, 0, 0, 1, 0, 0])), 6)
                corners = [_apply(own, x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]  # type: ignore[arg-type]
                xs, ys = [x for x, _ in corners], [y for _, y in corners]
                if max(xs) <= min(xs) or max(ys) <= min(ys):
                    continue
                left, right = sorted((rect[0], rect[2]))
                bottom, top = sorted((rect[1], rect[3]))
                sx, sy = (right - left) / (max(xs) - min(xs)), (top - bottom) / (max(ys) - min(ys))
                yield appearance, (sx, 0.0, 0.0, sy, left - min(xs) * sx, bottom - min(ys) * sy)
            except PARSE_ERRORS:
                continue


def _evaluate(function: Any, t: float) -> list[float] | None:
    """A type 2 (exponential) or type 3 (stitching) function at ``t``; None for other types."""
    if not isinstance(function, DictionaryObject):
        return None
    kind = function.get("/FunctionType")
    if kind == 2:
        c0 = [float(value) for value in _obj(function.get("/C0", [0.0]))]
        c1 = [float(value) for value in _obj(function.get("/C1", [1.0]))]
        power = float(function.get("/N", 1))
        weight = max(t, 0.0) ** power
        return [a + weight * (b - a) for a, b in zip(c0, c1, strict=False)]
    if kind == 3:
        functions = _obj(function.get("/Functions", []))
        bounds = [float(value) for value in _obj(function.get("/Bounds", []))]
        domain = [float(value) for value in _obj(function.get("/Domain", [0, 1]))]
        encode = [float(value) for value in _obj(function.get("/Encode", []))]
        index = sum(1 for bound in bounds if t >= bound)
        if index >= len(functions) or len(encode) < 2 * len(functions):
            return None
        low = ([domain[0], *bounds])[index]
        high = ([*bounds, domain[1]])[index]
        share = 0.0 if high == low else (t - low) / (high - low)
        inner = encode[2 * index] + share * (encode[2 * index + 1] - encode[2 * index])
        return _evaluate(_obj(functions[index]), inner)
    return None


def _encode(picture: Any) -> StoredImage:
    """The picture re-encoded as pagefan.domain.graphics does: JPEG for an opaque photo, else PNG."""
    if picture.mode not in ("RGB", "RGBA", "L"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() or picture.mode == "P" else "RGB")
    return stored_picture(picture)


def read_page_graphics(
    page: PageObject, *, left: float, bottom: float, width: float, height: float, limits: GraphicsLimits
) -> PageGraphics:
    """Read the graphics of a page pypdf has open (the PageWorker's text reader could share it).

    Args:
        page: The page.
        left: The MediaBox's left edge (coordinates are returned relative to it).
        bottom: The MediaBox's bottom edge.
        width: The MediaBox's width.
        height: The MediaBox's height.
        limits: Bounds on images, paths and form nesting.

    Returns:
        The page's graphics, clipping paths, images to store and what was left out.

    """
    origin: Matrix = (1.0, 0.0, 0.0, 1.0, -left, -bottom)
    reader = _Reader(page.pdf, origin, (width, height), limits)
    resources = page.get("/Resources")
    try:
        contents = page.get_contents()
    except PARSE_ERRORS:
        contents = None
        reader.omit(
            OmissionCode.GRAPHICS_UNREADABLE, "The page's content cannot be read; its graphics are not drawn."
        )
    operations = reader.operations(contents) if contents is not None else None
    if operations:
        reader.run(operations, resources, _State(ctm=IDENTITY), 0)
    for appearance, matrix in reader.annotations(page):
        reader.draw_form(appearance, resources, _State(ctm=matrix), 0)
    return reader.result


def read_graphics(
    pdf_bytes: bytes, *, left: float, bottom: float, width: float, height: float, limits: GraphicsLimits
) -> PageGraphics:
    """Read the graphics of the first page of ``pdf_bytes``, as pagefan.domain.graphics.read_graphics does."""
    page = PdfReader(io.BytesIO(pdf_bytes), strict=False).pages[0]
    return read_page_graphics(page, left=left, bottom=bottom, width=width, height=height, limits=limits)
