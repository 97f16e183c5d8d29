"""Turn page SVGs into PDF pages with cairo, and merge the pages into the rebuilt document.

cairosvg (and through it the native cairo library) is imported inside :func:`svg_to_pdf` only:
the SvgExporter shares the code around it and has neither the memory nor the cairo layer.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, BinaryIO
from xml.etree import ElementTree
from xml.sax.saxutils import escape, unescape

from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    RectangleObject,
    StreamObject,
    create_string_object,
)

from pagefan.domain.scripts import visual_order
from pagefan.errors import PageNotRendered, RendererUnavailable
from pagefan.formats.document import OutlineEntry

# SVG lengths in pt become PDF points one to one at 72 dpi (cairosvg's default is 96).
SVG_DPI = 72

# Document info keys copied into the rebuilt PDF (pagefan metadata key -> PDF info key).
METADATA_KEYS = {
    "title": "/Title",
    "author": "/Author",
    "subject": "/Subject",
    "keywords": "/Keywords",
    "creator": "/Creator",
}

MAX_OUTLINE_DEPTH = 64

# What every URL an SVG references resolves to (see _fetch_nothing).
_EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'

# The images an SVG may embed, by media type, with their files' signatures.
_EMBEDDED_IMAGES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}

# The linear part of the matrix that turns content drawn as displayed back into the page box
# of a page with this /Rotate (the inverse of the viewer's clockwise turn).
_UNROTATE = {90: (0, 1, -1, 0), 180: (-1, 0, 0, -1), 270: (0, -1, 1, 0)}
_ROTATION = re.compile(r'\spagefan:rotation="(90|180|270)"')
_ROTATE = re.compile(r"rotate\((-?[0-9.]+) ")
# Runs whose origins are within this many points of one baseline are on one line; a run may
# overhang the next one by as much before it is narrowed.
_SAME_LINE = 0.5
# Narrowing a run to less than half its width would make it unreadable: such runs are left.
_MIN_FIT_SCALE = 0.5
# A narrowed run ends this many ems before the next one starts: text extractors estimate a
# glyph's width from the embedded subset font, and the margin keeps their word gap.
_FIT_MARGIN = 0.3


def svg_to_pdf(svg: str, *, rotation: int | None = None) -> bytes:
    """Convert one page's SVG (as :func:`pagefan.domain.svg.render_page_svg` draws it) to a PDF.

    Runs that a wider substitute font would push into their neighbours are narrowed first
    (see :func:`fit_runs`). The SVG shows the page as displayed. For a page whose source had
    /Rotate, the PDF page gets
    the source's page box and /Rotate back (its content turned to match), so it shows exactly
    as the SVG does while its text runs in the same direction as in the source: readers and
    text extractors then treat the rebuilt page like the original one. cairosvg runs in its
    safe mode (no ``unsafe`` flag: no XML entities, no external DTD) with a URL fetcher that
    reads nothing, so nothing outside the SVG is ever read, whatever cairosvg's defaults.

    Args:
        svg: A standalone SVG document.
        rotation: The source page's /Rotate; by default read from the SVG's
            ``pagefan:rotation`` attribute (0 when absent).

    Returns:
        The bytes of a one-page PDF whose page has the SVG's size in points, turned back by
        ``rotation``.

    Raises:
        RendererUnavailable: The native cairo library cannot be loaded (the cairo layer is
            not attached to the function).

    """
    try:
        # Lazy on purpose: see the module docstring.
        import cairosvg
    except (OSError, ImportError) as exc:
        # cairocffi raises OSError when libcairo is missing; ImportError covers a broken install.
        raise RendererUnavailable(
            "The native cairo library could not be loaded: attach the CairoLayer (layers/cairo) to "
            f"this function — see README, 'Cairo layer'. Detail: {exc}"
        ) from exc
    # svg2pdf without its wrapper, which does not pass url_fetcher on to the parser.
    pdf: bytes = cairosvg.surface.PDFSurface.convert(
        bytestring=visual_runs(fit_runs(svg)).encode("utf-8"), dpi=SVG_DPI, url_fetcher=_fetch_nothing
    )
    turn = svg_rotation(svg) if rotation is None else rotation % 360
    if turn not in _UNROTATE:
        return pdf
    return _unrotate(pdf, turn)


def svg_to_png(svg: str, *, dpi: float) -> bytes:
    """Rasterise one page's SVG with cairo, as the PdfExporter draws it, at ``dpi``.

    Same safe mode and URL fetcher as :func:`svg_to_pdf`; used to check what the rebuilt pages
    look like (the fidelity tests) without a PDF renderer.

    Args:
        svg: A standalone SVG document whose lengths are in pt.
        dpi: Pixels per inch of the PNG.

    Returns:
        The PNG's bytes.

    """
    import cairosvg

    png: bytes = cairosvg.surface.PNGSurface.convert(
        bytestring=svg.encode("utf-8"), dpi=SVG_DPI, scale=dpi / SVG_DPI, url_fetcher=_fetch_nothing
    )
    return png


def visual_runs(svg: str) -> str:
    """The SVG with every right-to-left run's text in the order cairo must draw its glyphs.

    The SVG holds text in logical order, as browsers expect; cairo lays text out left to right
    without reordering, so it would draw Hebrew and Arabic mirrored (see
    :func:`pagefan.domain.scripts.visual_order`). Text extractors reading the rebuilt PDF order
    the glyphs back into logical order.
    """
    lines = svg.split("\n")
    for index, line in enumerate(lines):
        if not line.startswith("<text ") or not line.endswith("</text>"):
            continue
        # Attribute values are escaped, so the start tag ends at the first ">".
        start = line.index(">") + 1
        end = len(line) - len("</text>")
        text = unescape(line[start:end])
        reordered = visual_order(text)
        if reordered != text:
            lines[index] = line[:start] + escape(reordered) + line[end:]
    return "\n".join(lines)


def _fetch_nothing(url: str, resource_type: str) -> bytes:
    """The URL fetcher given to cairosvg: only an embedded PNG or JPEG image is read.

    pagefan's SVGs reference nothing but the ``data:`` URIs of the images the PageWorker
    re-encoded as PNG or JPEG. Such a URI is decoded here, and kept only when its bytes are a PNG
    or a JPEG by their signature; every other URL is an empty SVG. This stands between a
    reference that got in anyway and the network or the file system (cairosvg's own default
    fetcher would read any URL), and keeps cairosvg from parsing an SVG inside a data URI.
    """
    for media_type, signature in _EMBEDDED_IMAGES.items():
        prefix = f"data:{media_type};base64,"
        if url.startswith(prefix):
            try:
                data = base64.b64decode(url[len(prefix) :], validate=True)
            except binascii.Error:
                return _EMPTY_SVG
            return data if data.startswith(signature) else _EMPTY_SVG
    return _EMPTY_SVG


def fit_runs(svg: str, measure: Callable[[SvgRun], float] | None = None) -> str:
    """Narrow every run that would run into the next one on its line, as cairo draws it.

    cairo draws each run in a substitute font (no font is embedded in the SVG). Where the
    substitute is wider than the source's font (DejaVu Sans for Helvetica, when the metric-
    compatible Liberation fonts are missing), a run's glyphs reach into the next run on the
    same line: the page looks smudged and a text extractor sees no gap, so "plain bold" comes
    back as "plainbold". Each such run is measured with cairo, with the font cairosvg will
    pick, and scaled along its baseline to end a little (0.3 em) before the next run starts:
    the extent the source gave it, less a margin that keeps the word gap visible to
    extractors, which estimate glyph widths from the embedded subset fonts. Runs with room to
    spare, and the last run of a line, are left alone; with metric-compatible fonts nothing
    changes.

    Args:
        svg: An SVG as :func:`pagefan.domain.svg.render_page_svg` draws it (one element a line).
        measure: The advance width of a run in points (default: measured with cairo).

    Returns:
        The same SVG, some ``<text>`` elements given a horizontal scale.

    """
    lines = svg.split("\n")
    runs = [(index, _parse_run(line)) for index, line in enumerate(lines) if line.startswith("<text ")]
    measure = measure or _cairo_measure()
    for (index, run), (_next_index, following) in itertools.pairwise(runs):
        if run is None or following is None or run.angle != following.angle:
            continue
        ux, uy = math.cos(math.radians(run.angle)), math.sin(math.radians(run.angle))
        dx, dy = following.x - run.x, following.y - run.y
        room, off_line = dx * ux + dy * uy, abs(dx * uy - dy * ux)
        if off_line > _SAME_LINE or room <= 0:
            continue
        width = measure(run)
        if width <= room + _SAME_LINE:
            continue
        scale = (room - _FIT_MARGIN * run.size) / width
        if scale < _MIN_FIT_SCALE:
            # Runs this far apart from their measure overprint on purpose (or are not one line).
            continue
        lines[index] = run.scaled(lines[index], scale)
    return "\n".join(lines)


@dataclass(frozen=True)
class SvgRun:
    """What :func:`fit_runs` needs of one ``<text>`` line: where, which way, in which font."""

    x: float
    y: float
    angle: float  # SVG rotate() angle: clockwise on screen
    text: str
    family: str
    bold: bool
    italic: bool
    size: float

    def scaled(self, line: str, scale: float) -> str:
        """The line with a horizontal scale about the run's origin, applied before its rotation."""
        x, y = _svg_number(self.x), _svg_number(self.y)
        back = f"{_svg_number(-self.x)} {_svg_number(-self.y)}"
        fit = f"translate({x} {y}) scale({scale:.4f} 1) translate({back})"
        # Attribute values are escaped, so the start tag ends at the first ">".
        tag_end = line.index(">")
        tag, rest = line[:tag_end], line[tag_end:]
        if ' transform="' in tag:
            tag = re.sub(r' transform="([^"]*)"', lambda match: f' transform="{match.group(1)} {fit}"', tag)
        else:
            tag += f' transform="{fit}"'
        return tag + rest


def _svg_number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _parse_run(line: str) -> SvgRun | None:
    try:
        element = ElementTree.fromstring(line)
        x, y, size = (
            float(element.get("x", "")),
            float(element.get("y", "")),
            float(element.get("font-size", "")),
        )
    except (ElementTree.ParseError, ValueError):
        return None
    angle = 0.0
    transform = element.get("transform")
    if transform:
        match = _ROTATE.match(transform)
        if match is None:
            return None
        angle = float(match.group(1))
    return SvgRun(
        x=x,
        y=y,
        angle=angle,
        text=element.text or "",
        # cairosvg uses the first family of the list, as written.
        family=(element.get("font-family") or "sans-serif").split(",")[0].strip("\"' "),
        bold=element.get("font-weight") == "bold",
        italic=element.get("font-style") == "italic",
        size=size,
    )


def _cairo_measure() -> Callable[[SvgRun], float]:
    """A function giving a run's advance width as cairo will draw it (unhinted, as in a PDF)."""
    # Comes with cairosvg, and is only imported once cairosvg has loaded.
    import cairocffi  # type: ignore[import-untyped]

    context = cairocffi.Context(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None))

    def measure(run: SvgRun) -> float:
        context.select_font_face(
            run.family,
            cairocffi.FONT_SLANT_ITALIC if run.italic else cairocffi.FONT_SLANT_NORMAL,
            cairocffi.FONT_WEIGHT_BOLD if run.bold else cairocffi.FONT_WEIGHT_NORMAL,
        )
        context.set_font_size(run.size)
        return float(context.text_extents(run.text)[4])

    return measure


def svg_rotation(svg: str) -> int:
    """The ``pagefan:rotation`` on the SVG's root element: 90, 180, 270, or 0 when absent."""
    start = svg.find("<svg")
    end = svg.find(">", start)
    match = _ROTATION.search(svg, start, end) if 0 <= start < end else None
    return int(match.group(1)) if match else 0


def _unrotate(pdf: bytes, rotation: int) -> bytes:
    """Give the page drawn as displayed the page box and /Rotate of its source page.

    A viewer turns a page with /Rotate clockwise; the content is turned the other way first,
    so the page still shows exactly what cairo drew.
    """
    reader = PdfReader(BytesIO(pdf))
    writer = PdfWriter()
    page = writer.add_page(reader.pages[0])
    shown_width, shown_height = float(page.mediabox.width), float(page.mediabox.height)
    width, height = (shown_height, shown_width) if rotation % 180 else (shown_width, shown_height)
    a, b, c, d = _UNROTATE[rotation]
    # The translation brings the turned content back into the box [0 0 width height].
    e = width if (a, c) in ((0, -1), (-1, 0)) else 0.0
    f = height if (b, d) in ((0, -1), (-1, 0)) else 0.0
    page.add_transformation(Transformation((a, b, c, d, e, f)))
    box = RectangleObject([0, 0, width, height])
    page.mediabox = box
    page.cropbox = box
    page[NameObject("/Rotate")] = NumberObject(rotation)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf_pages(pages: Iterable[tuple[int, str]]) -> Iterator[bytes]:
    """Convert page SVGs to one-page PDFs with cairo, lazily, in the order given.

    Args:
        pages: (page number, SVG) pairs.

    Yields:
        One single-page PDF per SVG.

    Raises:
        PageNotRendered: cairo could not draw one page; the message names it.
        RendererUnavailable: The native cairo library cannot be loaded.

    """
    for page_number, svg in pages:
        try:
            yield svg_to_pdf(svg)
        except RendererUnavailable:
            raise
        except Exception as exc:  # cairosvg and cairo raise many kinds; each is this page's failure
            raise PageNotRendered(
                f"Page {page_number} could not be drawn as PDF ({type(exc).__name__}: {exc})"
            ) from exc


def render_pdf_part(pages: Iterable[tuple[int, str]], out: BinaryIO) -> int:
    """Render page SVGs with cairo into one PDF: a part (a range of pages) of the rebuilt document.

    A part carries pages only: the document's metadata and outline are applied when the parts
    are merged (:func:`merge_pdf`), since an outline entry may point at any part's page.

    Args:
        pages: (page number, SVG) in page order, drawn one at a time.
        out: Where the part is written.

    Returns:
        The number of pages written.

    Raises:
        PageNotRendered: cairo could not draw one page; the message names it.
        RendererUnavailable: The native cairo library cannot be loaded.

    """
    return merge_pdf(render_pdf_pages(pages), metadata={}, outline=(), out=out)


def merge_pdf(
    pages: Iterable[bytes],
    *,
    metadata: Mapping[str, str],
    outline: Sequence[OutlineEntry],
    out: BinaryIO,
) -> int:
    """Merge PDFs, in order, into one PDF with the source's metadata and outline, streaming.

    Each PDF is parsed as it arrives and its pages' objects are written to ``out`` at once, then
    dropped: memory holds one input PDF (a page, or a part of many pages) and a few numbers per
    page, whatever the page count. (pypdf's PdfWriter would keep every page's objects until the
    end: about 320 MB per 1,000 rebuilt pages.) Objects an input shares between its pages, such
    as a part's fonts, are written once. Outline entries pointing at no page (or past the last
    one) are left out; their children are kept, attached one level up.

    Args:
        pages: PDFs to append, one page each or many (all their pages are appended).
        metadata: The source's metadata (``title``, ``author``, ``subject``, ``keywords``,
            ``creator`` are copied when present).
        outline: The source's outline, with 1-based page numbers.
        out: Where the merged PDF is written: an empty file or buffer (object offsets count from
            its start).

    Returns:
        The number of pages written.

    """
    writer = _ObjectWriter(out)
    pages_root = writer.reserve()
    page_numbers: list[int] = []
    for data in pages:
        page_numbers.extend(_copy_pages(PdfReader(BytesIO(data)), writer, pages_root))
    kids = ArrayObject(_ref(number) for number in page_numbers)
    writer.write(
        pages_root,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): kids,
                NameObject("/Count"): NumberObject(len(page_numbers)),
            }
        ),
    )
    catalog = DictionaryObject(
        {NameObject("/Type"): NameObject("/Catalog"), NameObject("/Pages"): _ref(pages_root)}
    )
    entries = _outline_within(outline, len(page_numbers), 0)
    if entries:
        catalog[NameObject("/Outlines")] = _ref(_write_outline(writer, entries, page_numbers))
    info = DictionaryObject({NameObject("/Producer"): create_string_object("pagefan (pypdf)")})
    for key, pdf_key in METADATA_KEYS.items():
        if metadata.get(key):
            info[NameObject(pdf_key)] = create_string_object(metadata[key])
    root = writer.reserve()
    writer.write(root, catalog)
    info_number = writer.reserve()
    writer.write(info_number, info)
    writer.finish(root=root, info=info_number)
    return len(page_numbers)


# Page attributes a page may inherit from its page tree (ISO 32000-1, 7.7.3.4): copied onto the
# page, since the merged document has a page tree of its own.
_INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _ref(number: int) -> IndirectObject:
    return IndirectObject(number, 0, None)


class _ObjectWriter:
    """Writes a PDF one numbered object at a time; keeps only each object's offset."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._position = 0
        self._offsets: dict[int, int] = {}
        self._count = 0
        # The comment of high bytes tells transfer tools the file is binary (ISO 32000-1, 7.5.2).
        self._emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)

    def reserve(self) -> int:
        """A new object number, to refer to before the object is written."""
        self._count += 1
        return self._count

    def write(self, number: int, obj: PdfObject) -> None:
        """Write object ``number`` (reserved, not yet written)."""
        self._offsets[number] = self._position
        body = BytesIO()
        obj.write_to_stream(body)
        self._emit(b"%d 0 obj\n" % number + body.getvalue() + b"\nendobj\n")

    def finish(self, *, root: int, info: int) -> None:
        """Write the cross-reference table and the trailer."""
        missing = set(range(1, self._count + 1)) - set(self._offsets)
        if missing:
            raise AssertionError(f"objects reserved but never written: {sorted(missing)[:5]}")
        start = self._position
        table = [b"xref\n0 %d\n0000000000 65535 f \n" % (self._count + 1)]
        table += [b"%010d 00000 n \n" % self._offsets[number] for number in range(1, self._count + 1)]
        trailer = b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (self._count + 1, root, info)
        self._emit(b"".join(table) + trailer + b"startxref\n%d\n%%%%EOF\n" % start)


def _copy_pages(reader: PdfReader, writer: _ObjectWriter, pages_root: int) -> list[int]:
    """Write every page of ``reader`` and what it references; return the pages' new numbers."""
    numbers: dict[tuple[int, int], int] = {}
    pending: list[IndirectObject] = []

    def renumber(reference: IndirectObject) -> IndirectObject:
        key = (reference.idnum, reference.generation)
        if key not in numbers:
            numbers[key] = writer.reserve()
            pending.append(reference)
        return _ref(numbers[key])

    def remap(obj: Any) -> Any:
        # dict.items and list iteration give references as they are (pypdf would resolve them).
        if isinstance(obj, IndirectObject):
            return renumber(obj)
        if isinstance(obj, StreamObject):
            stream = StreamObject()
            stream._data = obj._data  # as stored: never decoded, never encoded again
            stream.update({key: remap(value) for key, value in dict.items(obj) if key != "/Length"})
            return stream
        if isinstance(obj, DictionaryObject):
            return DictionaryObject({key: remap(value) for key, value in dict.items(obj)})
        if isinstance(obj, ArrayObject):
            return ArrayObject(remap(value) for value in list.__iter__(obj))
        return obj

    page_keys: dict[tuple[int, int], PageObject] = {}
    page_numbers = []
    for page in reader.pages:
        reference = page.indirect_reference
        if reference is None:  # a page pypdf built itself; never the case for a parsed file
            raise ValueError("a page without an object number cannot be copied")
        page_keys[(reference.idnum, reference.generation)] = page
        page_numbers.append(renumber(reference).idnum)
    while pending:
        reference = pending.pop()
        key = (reference.idnum, reference.generation)
        if key in page_keys:
            page = page_keys.pop(key)
            copied = DictionaryObject({k: remap(v) for k, v in dict.items(page) if k != "/Parent"})
            for name in _INHERITABLE:
                if name not in copied:
                    inherited = _inherited(page, name)
                    if inherited is not None:
                        copied[NameObject(name)] = remap(inherited)
            copied[NameObject("/Parent")] = _ref(pages_root)
            writer.write(numbers[key], copied)
        else:
            writer.write(numbers[key], remap(reference.get_object()))
    return page_numbers


def _inherited(page: DictionaryObject, name: str) -> Any:
    node: Any = page
    for _ in range(64):  # a page tree that loops ends here
        parent = dict.get(node, "/Parent")
        if parent is None:
            return None
        node = parent.get_object()
        if name in node:
            return dict.get(node, name)
    return None


@dataclass(frozen=True)
class _KeptEntry:
    title: str
    page_index: int
    children: list[_KeptEntry]


def _outline_within(entries: Sequence[OutlineEntry], page_count: int, depth: int) -> list[_KeptEntry]:
    """The outline entries that point at a page of the document, children of dropped ones lifted."""
    kept: list[_KeptEntry] = []
    if depth >= MAX_OUTLINE_DEPTH:
        return kept
    for entry in entries:
        children = _outline_within(entry.children, page_count, depth + 1)
        page = entry.page_number
        if page is None or not 1 <= page <= page_count:
            kept.extend(children)
        else:
            kept.append(_KeptEntry(entry.title, page - 1, children))
    return kept


def _write_outline(writer: _ObjectWriter, entries: list[_KeptEntry], page_numbers: list[int]) -> int:
    """Write the outline tree (every entry open, each going to its page); return its root's number."""
    root = writer.reserve()
    first, last, count = _write_outline_level(writer, entries, page_numbers, root)
    writer.write(
        root,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Outlines"),
                NameObject("/First"): _ref(first),
                NameObject("/Last"): _ref(last),
                NameObject("/Count"): NumberObject(count),
            }
        ),
    )
    return root


def _write_outline_level(
    writer: _ObjectWriter, entries: list[_KeptEntry], page_numbers: list[int], parent: int
) -> tuple[int, int, int]:
    """Write sibling entries and their children.

    Returns the first's and the last's numbers, and how many entries show when every entry is open
    (the /Count of ISO 32000-1, 12.3.3).
    """
    numbers = [writer.reserve() for _ in entries]
    shown = len(entries)
    for index, (entry, number) in enumerate(zip(entries, numbers, strict=True)):
        item = DictionaryObject(
            {
                NameObject("/Title"): create_string_object(entry.title),
                NameObject("/Parent"): _ref(parent),
                NameObject("/Dest"): ArrayObject([_ref(page_numbers[entry.page_index]), NameObject("/Fit")]),
            }
        )
        if index > 0:
            item[NameObject("/Prev")] = _ref(numbers[index - 1])
        if index + 1 < len(numbers):
            item[NameObject("/Next")] = _ref(numbers[index + 1])
        if entry.children:
            first, last, count = _write_outline_level(writer, entry.children, page_numbers, number)
            item.update({NameObject("/First"): _ref(first), NameObject("/Last"): _ref(last)})
            item[NameObject("/Count")] = NumberObject(count)
            shown += count
        writer.write(number, item)
    return numbers[0], numbers[-1], shown
