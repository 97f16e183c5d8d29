"""Read a page's graphics with pdfium: paths, images, clipping, forms and annotation appearances.

pdfium (through pypdfium2) is a fuzzed, hardened parser that interprets the content streams,
colour spaces, form XObjects and image filters (DCT, Flate, LZW, RunLength, CCITT, JBIG2, JPX)
and exposes the result as page objects. This module walks those objects in painting order and
turns them into :class:`~pagefan.formats.page_result.Graphic` elements in the page box's coordinates (origin
at the MediaBox's bottom-left corner, before /Rotate), the same space as the text runs:

- a path keeps its segments in its own user space with the matrix that maps them to the page,
  so line widths and dashes scale as the PDF draws them;
- an image is rendered by pdfium at its native pixel size with its mask (SMask, Mask) applied,
  re-encoded as PNG or JPEG and returned as bytes for the caller to store (never inside the page
  result), referenced by its SHA-256;
- a clipping path is stored once per page, in page coordinates, and elements name the clips
  that apply to them;
- forms are walked recursively, their matrices composed; visible annotations' appearance streams
  are drawn by flattening them into a copy of the page first.

Text objects are left to :mod:`pagefan.domain.text_runs` (pypdf), which places the runs, except the
text of annotation appearances, which pypdf does not see: it is returned as runs of its own.

Limits: an image over ``max_image_pixels``, or past ``max_image_bytes`` decoded on the page, is
replaced by a placeholder; paths past ``max_path_segments`` and forms nested deeper than
``max_form_depth`` are left out. Each is recorded with its reason in the result's ``omitted``
list, and the page is still drawn: its text and the rest of its graphics stay useful.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pagefan.domain.matrices import IDENTITY, Matrix, multiply
from pagefan.formats.page_result import (
    LINE_CAPS,
    LINE_JOINS,
    Graphic,
    ImageRef,
    Omission,
    OmissionCode,
    TextRun,
)

# pdfium is not thread-safe, and the local runtime may run two pages in one process.
_PDFIUM_LOCK = threading.Lock()

# Above this many distinct colours an opaque image is stored as JPEG (a photo), else PNG.
_PHOTO_COLOURS = 256
_JPEG_QUALITY = 85
# Annotation appearances rarely say more than a few words; these bound what hostile ones add.
_MAX_ANNOTATION_RUNS = 1_000
_MAX_ANNOTATION_TEXT_BYTES = 16_384  # one text object, UTF-16
_MAX_ANNOTATION_CHARS = 100_000  # all of a page's
# The longer side of the page, in pixels, when it is rendered to approximate its shadings.
_SHADING_RENDER_PIXELS = 400


@dataclass(frozen=True)
class GraphicsLimits:
    """Bounds on one page's graphics; see the module docstring for what happens past each."""

    max_image_pixels: int = 40_000_000
    max_image_bytes: int = 256 * 1024 * 1024
    # About 20,000 paths: as many as an SVG draws by default (MaxSvgElements). Each path costs the
    # walk a few hundred microseconds and the page result about 280 bytes: 200,000 segments made a
    # 28 MB result that took the SvgExporter to 228 of its 256 MB.
    max_path_segments: int = 40_000
    max_form_depth: int = 12


@dataclass(frozen=True)
class StoredImage:
    """A re-encoded image to store beside the page result, named by its SHA-256."""

    sha256: str
    media_type: str
    data: bytes


@dataclass
class PageGraphics:
    """What :func:`read_graphics` found on one page."""

    graphics: list[Graphic] = field(default_factory=list)
    clips: list[str] = field(default_factory=list)
    images: dict[str, StoredImage] = field(default_factory=dict)
    omitted: list[Omission] = field(default_factory=list)
    annotation_runs: list[TextRun] = field(default_factory=list)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _colour(rgba: tuple[int, int, int, int]) -> tuple[str, float]:
    r, g, b, a = rgba
    return f"#{r:02x}{g:02x}{b:02x}", round(a / 255, 3)


class _Walker:
    """One page's walk: pdfium handles in, :class:`PageGraphics` out."""

    def __init__(self, pdfium: Any, document: Any, page: Any, origin: Matrix, limits: GraphicsLimits) -> None:
        self.pdfium = pdfium
        self.raw = pdfium.raw
        self.document = document
        self.page = page
        self.origin = origin
        self.limits = limits
        self.result = PageGraphics()
        self._clip_ids: dict[str, int] = {}
        self._segments = 0
        self._image_bytes = 0
        self._omitted_codes: set[OmissionCode] = set()
        self.in_annotation = False
        self.texts = 0
        self._annotation_chars = 0
        self._text_page: Any = None
        # (index in graphics, page-space bounds) of each shading, drawn after the walk.
        self._shadings: list[tuple[int, tuple[float, float, float, float]]] = []

    def close(self) -> None:
        if self._text_page is not None:
            self._text_page.close()

    def add_annotation_text(self, obj: Any, parent: Matrix) -> None:
        """A run for a text object of an annotation's appearance (pypdf reads page content only)."""
        raw = self.raw
        if len(self.result.annotation_runs) >= _MAX_ANNOTATION_RUNS:
            return
        if self._text_page is None:
            self._text_page = self.page.get_textpage()
        length = raw.FPDFTextObj_GetText(obj, self._text_page.raw, None, 0)
        if length <= 2 or length > _MAX_ANNOTATION_TEXT_BYTES:
            return
        buffer = (ctypes.c_ushort * (length // 2))()
        raw.FPDFTextObj_GetText(obj, self._text_page.raw, buffer, length)
        text = " ".join(bytes(buffer)[: length - 2].decode("utf-16-le", "replace").split())
        self._annotation_chars += len(text)
        if self._annotation_chars > _MAX_ANNOTATION_CHARS:
            return
        size = ctypes.c_float(0.0)
        if not text or not raw.FPDFTextObj_GetFontSize(obj, size):
            return
        m = multiply(multiply(self.matrix(obj), parent), self.origin)
        scale = math.hypot(m[2], m[3])
        values = (m[4], m[5], size.value * scale, math.degrees(math.atan2(m[1], m[0])))
        if not all(math.isfinite(value) for value in values) or values[2] <= 0:
            return
        mode = raw.FPDFTextObj_GetTextRenderMode(obj)
        getter = raw.FPDFPageObj_GetStrokeColor if mode in (1, 5) else raw.FPDFPageObj_GetFillColor
        rgba = self.colour(getter, obj)
        self.result.annotation_runs.append(
            TextRun(
                text=text,
                x=round(values[0], 2),
                y=round(values[1], 2),
                size=round(values[2], 2),
                font=self.font_name(obj),
                angle=round(values[3], 2) + 0.0,
                colour=_colour(rgba)[0] if rgba else "#000000",
                invisible=mode in (3, 7),
                texts_before=self.texts,
            )
        )

    def font_name(self, obj: Any) -> str:
        raw = self.raw
        font = raw.FPDFTextObj_GetFont(obj)
        if not font:
            return "unknown"
        length = raw.FPDFFont_GetBaseFontName(font, None, 0)
        if length <= 1 or length > 256:
            return "unknown"
        buffer = ctypes.create_string_buffer(length)
        raw.FPDFFont_GetBaseFontName(font, buffer, length)
        name = buffer.value.decode("latin-1")
        name = name.split("+", 1)[1] if len(name) > 7 and name[6] == "+" else name
        return "".join(char for char in name if char.isprintable()) or "unknown"

    def omit(self, code: OmissionCode, detail: str) -> None:
        # One entry per kind of omission: a page with 10,000 oversized images says so once.
        if code not in self._omitted_codes:
            self._omitted_codes.add(code)
            self.result.omitted.append(Omission(code=code, detail=detail))

    # --- pdfium accessors ------------------------------------------------------------------

    def matrix(self, obj: Any) -> Matrix:
        m = self.raw.FS_MATRIX()
        if not self.raw.FPDFPageObj_GetMatrix(obj, m):
            return IDENTITY
        return (m.a, m.b, m.c, m.d, m.e, m.f)

    def colour(self, getter: Any, obj: Any) -> tuple[int, int, int, int] | None:
        r, g, b, a = (ctypes.c_uint() for _ in range(4))
        if not getter(obj, r, g, b, a):
            return None
        return (r.value, g.value, b.value, a.value)

    def segments(self, count: int, get: Any) -> Iterator[tuple[int, float, float, bool]]:
        raw = self.raw
        x, y = ctypes.c_float(), ctypes.c_float()
        for index in range(count):
            segment = get(index)
            if not segment or not raw.FPDFPathSegment_GetPoint(segment, x, y):
                continue
            yield (
                raw.FPDFPathSegment_GetType(segment),
                x.value,
                y.value,
                bool(raw.FPDFPathSegment_GetClose(segment)),
            )

    def path_data(self, count: int, get: Any, transform: Matrix | None = None) -> str:
        """SVG path data of pdfium's segments (in their own space, or mapped by ``transform``)."""
        raw = self.raw
        parts: list[str] = []
        curve: list[str] = []
        for kind, px, py, close in self.segments(count, get):
            if transform is not None:
                px, py = (
                    px * transform[0] + py * transform[2] + transform[4],
                    px * transform[1] + py * transform[3] + transform[5],
                )
            if not (math.isfinite(px) and math.isfinite(py)):
                return ""
            point = f"{_num(px)} {_num(py)}"
            if kind == raw.FPDF_SEGMENT_BEZIERTO:
                curve.append(point)
                if len(curve) == 3:
                    parts.append("C" + " ".join(curve))
                    curve = []
            else:
                curve = []
                parts.append(("M" if kind == raw.FPDF_SEGMENT_MOVETO else "L") + point)
            if close and not curve:
                parts.append("Z")
        return "".join(parts)

    def clips_of(self, obj: Any, parent: Matrix) -> list[int]:
        """Ids of the page clips that apply to ``obj`` (its clip is in its parent's space)."""
        raw = self.raw
        clip = raw.FPDFPageObj_GetClipPath(obj)
        if not clip:
            return []
        ids: list[int] = []
        for index in range(max(raw.FPDFClipPath_CountPaths(clip), 0)):
            count = raw.FPDFClipPath_CountPathSegments(clip, index)
            if count <= 0:
                continue
            data = self.path_data(
                count, lambda s, i=index: raw.FPDFClipPath_GetPathSegment(clip, i, s), parent
            )
            if not data:
                continue
            if data not in self._clip_ids:
                self._clip_ids[data] = len(self.result.clips)
                self.result.clips.append(data)
            ids.append(self._clip_ids[data])
        return ids

    # --- objects ---------------------------------------------------------------------------

    def walk(
        self,
        container: Any,
        count: int,
        get: Any,
        parent: Matrix,
        depth: int,
        annotations_from: int | None = None,
    ) -> None:
        """Walk ``count`` objects; from index ``annotations_from`` on they are annotation appearances."""
        raw = self.raw
        for index in range(count):
            obj = get(container, index)
            if not obj:
                continue
            if annotations_from is not None and index >= annotations_from:
                self.in_annotation = True
            kind = raw.FPDFPageObj_GetType(obj)
            if kind == raw.FPDF_PAGEOBJ_TEXT:
                if self.in_annotation:
                    self.add_annotation_text(obj, parent)
                # pdfium makes one text object of each text-showing operator, as pypdf reports
                # them to pagefan.domain.text_runs: the count orders graphics among the runs.
                self.texts += 1
            elif kind == raw.FPDF_PAGEOBJ_PATH:
                self.add_path(obj, parent)
            elif kind == raw.FPDF_PAGEOBJ_IMAGE:
                self.add_image(obj, parent)
            elif kind == raw.FPDF_PAGEOBJ_SHADING:
                self.add_shading(obj, parent)
            elif kind == raw.FPDF_PAGEOBJ_FORM:
                if depth >= self.limits.max_form_depth:
                    self.omit(
                        OmissionCode.FORM_DEPTH,
                        f"Forms nested deeper than {self.limits.max_form_depth} levels are not drawn "
                        "(MaxFormDepth parameter).",
                    )
                    continue
                matrix = multiply(self.matrix(obj), parent)
                self.walk(
                    obj, raw.FPDFFormObj_CountObjects(obj), raw.FPDFFormObj_GetObject, matrix, depth + 1
                )

    def add_path(self, obj: Any, parent: Matrix) -> None:
        raw = self.raw
        count = raw.FPDFPath_CountSegments(obj)
        if count <= 0:
            return
        self._segments += count
        if self._segments > self.limits.max_path_segments:
            self.omit(
                OmissionCode.PATH_LIMIT,
                f"The page draws more than {self.limits.max_path_segments:,} path segments "
                "(MaxPagePathSegments parameter); the paths past that are not drawn.",
            )
            return
        fill_mode, stroke = ctypes.c_int(), ctypes.c_int()
        if not raw.FPDFPath_GetDrawMode(obj, fill_mode, stroke):
            return
        fill = self.colour(raw.FPDFPageObj_GetFillColor, obj) if fill_mode.value else None
        stroke_rgba = self.colour(raw.FPDFPageObj_GetStrokeColor, obj) if stroke.value else None
        if fill is None and stroke_rgba is None:
            return
        data = self.path_data(count, lambda i: raw.FPDFPath_GetPathSegment(obj, i))
        if not data:
            return
        width = ctypes.c_float(1.0)
        raw.FPDFPageObj_GetStrokeWidth(obj, width)
        dash: list[float] = []
        dash_count = raw.FPDFPageObj_GetDashCount(obj) if stroke_rgba else 0
        if 0 < dash_count <= 64:
            values = (ctypes.c_float * dash_count)()
            if raw.FPDFPageObj_GetDashArray(obj, values, dash_count):
                dash = [round(float(value), 3) for value in values]
                if not all(math.isfinite(value) and value >= 0 for value in dash) or not any(dash):
                    dash = []
        phase = ctypes.c_float(0.0)
        if dash:
            raw.FPDFPageObj_GetDashPhase(obj, phase)
        fill_colour, fill_opacity = _colour(fill) if fill else (None, 1.0)
        stroke_colour, stroke_opacity = _colour(stroke_rgba) if stroke_rgba else (None, 1.0)
        cap, join = raw.FPDFPageObj_GetLineCap(obj), raw.FPDFPageObj_GetLineJoin(obj)
        self.result.graphics.append(
            Graphic(
                kind="path",
                texts_before=self.texts,
                matrix=self.page_matrix(self.matrix(obj), parent),
                clips=self.clips_of(obj, multiply(parent, self.origin)),
                d=data,
                fill=fill_colour,
                fill_opacity=fill_opacity,
                even_odd=fill_mode.value == raw.FPDF_FILLMODE_ALTERNATE,
                stroke=stroke_colour,
                stroke_opacity=stroke_opacity,
                line_width=round(max(float(width.value), 0.0), 3) if math.isfinite(width.value) else 1.0,
                line_cap=LINE_CAPS[cap] if 0 <= cap < 3 else "butt",
                line_join=LINE_JOINS[join] if 0 <= join < 3 else "miter",
                dash=dash,
                dash_phase=round(float(phase.value), 3) if math.isfinite(phase.value) else 0.0,
            )
        )

    def add_shading(self, obj: Any, parent: Matrix) -> None:
        """Reserve a place for a shading; :meth:`draw_shadings` fills it once the walk is done."""
        raw = self.raw
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        if not raw.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            return
        matrix = multiply(parent, self.origin)
        corners = [
            (x * matrix[0] + y * matrix[2] + matrix[4], x * matrix[1] + y * matrix[3] + matrix[5])
            for x in (left.value, right.value)
            for y in (bottom.value, top.value)
        ]
        xs, ys = [x for x, _ in corners], [y for _, y in corners]
        if not all(math.isfinite(value) for value in (*xs, *ys)):
            return
        self._shadings.append((len(self.result.graphics), (min(xs), min(ys), max(xs), max(ys))))
        self.result.graphics.append(
            Graphic(
                kind="image",
                matrix=[1, 0, 0, 1, 0, 0],
                clips=self.clips_of(obj, matrix),
                omitted=OmissionCode.SHADING,
                texts_before=self.texts,
            )
        )

    def draw_shadings(self, width: float, height: float) -> None:
        """Each shading as a small picture of its colours, rendered by pdfium (an approximation).

        pdfium does not expose a shading's function, so the page is rendered once at a low
        resolution and each shading's area is cut out of it: its gradient at a few pixels per
        colour stop, under the paths and images the page draws on top of it (which are drawn
        again, sharply; the page's text is left out of the picture).
        """
        if not self._shadings:
            return
        self.omit(
            OmissionCode.SHADING_APPROXIMATED,
            "Smooth shadings are drawn as a low-resolution picture of their colours.",
        )
        scale = _SHADING_RENDER_PIXELS / max(width, height)
        # The page box as stored, unrotated, uncropped: pixel (0, 0) is the MediaBox's top-left corner.
        self.page.set_rotation(0)
        self.page.set_cropbox(*self.page.get_mediabox())
        # Text drawn over a shading is drawn again, sharply: leave the page's text out of the picture.
        raw = self.raw
        for index in reversed(range(raw.FPDFPage_CountObjects(self.page.raw))):
            obj = raw.FPDFPage_GetObject(self.page.raw, index)
            if (
                obj
                and raw.FPDFPageObj_GetType(obj) == raw.FPDF_PAGEOBJ_TEXT
                and raw.FPDFPage_RemoveObject(self.page.raw, obj)
            ):
                raw.FPDFPageObj_Destroy(obj)
        rendered = self.page.render(scale=scale, may_draw_forms=False).to_pil().convert("RGB")
        for index, (x0, y0, x1, y1) in self._shadings:
            x0, y0 = max(x0, 0.0), max(y0, 0.0)
            x1, y1 = min(x1, width), min(y1, height)
            box = (
                math.floor(x0 * scale),
                math.floor((height - y1) * scale),
                math.ceil(x1 * scale),
                math.ceil((height - y0) * scale),
            )
            if x1 <= x0 or y1 <= y0 or box[2] <= box[0] or box[3] <= box[1]:
                continue
            out = io.BytesIO()
            rendered.crop(box).save(out, "PNG")
            data = out.getvalue()
            stored = StoredImage(sha256=hashlib.sha256(data).hexdigest(), media_type="image/png", data=data)
            self.result.images.setdefault(stored.sha256, stored)
            place = self.result.graphics[index]
            self.result.graphics[index] = Graphic(
                kind="image",
                matrix=[round(x1 - x0, 4), 0.0, 0.0, round(y1 - y0, 4), round(x0, 4), round(y0, 4)],
                clips=place.clips,
                texts_before=place.texts_before,
                image=ImageRef(
                    sha256=stored.sha256,
                    media_type=stored.media_type,
                    width=box[2] - box[0],
                    height=box[3] - box[1],
                ),
            )

    def page_matrix(self, own: Matrix, parent: Matrix) -> list[float]:
        matrix = multiply(multiply(own, parent), self.origin)
        return [round(value, 4) + 0.0 for value in matrix]

    def add_image(self, obj: Any, parent: Matrix) -> None:
        matrix = self.page_matrix(self.matrix(obj), parent)
        clips = self.clips_of(obj, multiply(parent, self.origin))
        if not all(math.isfinite(value) for value in matrix):
            return
        image = self.pdfium.PdfImage(obj, self.page, self.document)
        try:
            width, height = image.get_px_size()
        except self.pdfium.PdfiumError:
            width = height = 0
        pixels = width * height
        reason: OmissionCode | None = None
        if pixels <= 0:
            reason = OmissionCode.IMAGE_UNDECODABLE
            self.omit(reason, "An image whose size cannot be read is drawn as an empty box.")
        elif pixels > self.limits.max_image_pixels:
            reason = OmissionCode.IMAGE_TOO_MANY_PIXELS
            self.omit(
                reason,
                f"An image of {width:,} x {height:,} pixels is over the limit of "
                f"{self.limits.max_image_pixels:,} pixels (MaxImagePixels parameter; it may be a pixel "
                "bomb): drawn as an empty box.",
            )
        elif self._image_bytes + pixels * 4 > self.limits.max_image_bytes:
            reason = OmissionCode.IMAGE_BYTES_PER_PAGE
            self.omit(
                reason,
                f"The page's images decode to more than {self.limits.max_image_bytes:,} bytes "
                "(MaxPageImageBytes parameter); the images past that are drawn as empty boxes.",
            )
        ref = None
        if reason is None:
            self._image_bytes += pixels * 4
            try:
                stored = self.encode(image)
            except (self.pdfium.PdfiumError, OSError, ValueError):
                reason = OmissionCode.IMAGE_UNDECODABLE
                self.omit(reason, "An image that cannot be decoded is drawn as an empty box.")
            else:
                self.result.images.setdefault(stored.sha256, stored)
                ref = ImageRef(sha256=stored.sha256, media_type=stored.media_type, width=width, height=height)
        self.result.graphics.append(
            Graphic(
                kind="image", matrix=matrix, clips=clips, image=ref, omitted=reason, texts_before=self.texts
            )
        )

    def encode(self, image: Any) -> StoredImage:
        """The image as pdfium draws it (mask applied, any colour space to RGB), re-encoded."""
        bitmap = image.get_bitmap(render=True, scale_to_original=True)
        picture = bitmap.to_pil()
        if picture.mode not in ("RGB", "RGBA", "L"):
            picture = picture.convert("RGBA")
        return stored_picture(picture)


def stored_picture(picture: Any) -> StoredImage:
    """A decoded picture (Pillow, mode RGB, RGBA or L) re-encoded: JPEG for an opaque photo, else PNG.

    An alpha channel that is opaque everywhere is dropped first, so an opaque photo stays a JPEG.
    """
    if picture.mode == "RGBA":
        alpha_low, _ = picture.getchannel("A").getextrema()
        if alpha_low == 255:
            picture = picture.convert("RGB")
    out = io.BytesIO()
    if picture.mode != "RGBA" and picture.getcolors(_PHOTO_COLOURS) is None:
        picture.save(out, "JPEG", quality=_JPEG_QUALITY)
        media_type = "image/jpeg"
    else:
        picture.save(out, "PNG", optimize=False)
        media_type = "image/png"
    data = out.getvalue()
    return StoredImage(sha256=hashlib.sha256(data).hexdigest(), media_type=media_type, data=data)


def read_graphics(
    pdf_bytes: bytes, *, left: float, bottom: float, width: float, height: float, limits: GraphicsLimits
) -> PageGraphics:
    """Read the graphics of the first page of ``pdf_bytes``, in painting order.

    Args:
        pdf_bytes: A one-page PDF.
        left: The MediaBox's left edge (coordinates are returned relative to it).
        bottom: The MediaBox's bottom edge.
        width: The MediaBox's width.
        height: The MediaBox's height.
        limits: Bounds on images, paths and form nesting.

    Returns:
        The page's graphics, clipping paths, images to store and what was left out.

    Raises:
        pypdfium2.PdfiumError: pdfium cannot open the page.

    """
    import pypdfium2

    origin: Matrix = (1.0, 0.0, 0.0, 1.0, -left, -bottom)
    with _PDFIUM_LOCK:
        document = pypdfium2.PdfDocument(pdf_bytes)
        try:
            page = document[0]
            raw = pypdfium2.raw
            # Visible annotations' appearance streams become page content (in this copy only),
            # appended after the page's own objects.
            content_objects = raw.FPDFPage_CountObjects(page.raw)
            if raw.FPDFPage_Flatten(page.raw, raw.FLAT_NORMALDISPLAY) == raw.FLATTEN_SUCCESS:
                page.close()
                page = document[0]
            walker = _Walker(pypdfium2, document, page, origin, limits)
            try:
                walker.walk(
                    page.raw,
                    raw.FPDFPage_CountObjects(page.raw),
                    raw.FPDFPage_GetObject,
                    IDENTITY,
                    0,
                    annotations_from=content_objects,
                )
                walker.draw_shadings(width, height)
            finally:
                walker.close()
            page.close()
            return walker.result
        finally:
            document.close()
