"""Turn page SVGs into PDF pages with cairo: the rendering half of the PdfExporter.

cairosvg (and through it the native cairo library) and :mod:`pagefan.domain.cairo_text` are
imported inside the functions that draw or measure only: the SvgExporter shares the code around
them and has neither the memory nor the cairo layer. The
pages rendered here are joined by :mod:`pagefan.domain.pdf_merge` (pypdf only).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import BinaryIO
from xml.etree import ElementTree
from xml.sax.saxutils import escape, unescape

from pypdf import PdfReader, PdfWriter, Transformation
from pypdf.generic import (
    NameObject,
    NumberObject,
    RectangleObject,
)

from pagefan.domain.pdf_merge import merge_pdf
from pagefan.domain.scripts import Cluster, visual_clusters
from pagefan.domain.svg import RIGHT_TO_LEFT_ATTRIBUTES
from pagefan.errors import PageNotRendered, RendererUnavailable

# SVG lengths in pt become PDF points one to one at 72 dpi (cairosvg's default is 96).
SVG_DPI = 72

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
# Supplementary Private Use Area-A: where visual_runs takes its stand-ins from.
_PRIVATE_USE = re.compile("[\U000f0000-\U000ffffd]")


def svg_to_pdf(svg: str, *, rotation: int | None = None) -> bytes:
    """Convert one page's SVG (as :func:`pagefan.domain.svg.render_page_svg` draws it) to a PDF.

    Runs that a wider substitute font would push into their neighbours are narrowed first
    (see :func:`fit_runs`); right-to-left runs are reordered, Arabic letters joined and brackets
    mirrored, which cairo does not do (see :func:`visual_runs`). The SVG shows the page as
    displayed. For a page whose source had /Rotate, the PDF page gets
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
        # Lazy on purpose: see the module docstring. cairosvg loads the native library, or fails.
        import cairosvg  # noqa: F401

        from pagefan.domain.cairo_text import pdf_surface
    except (OSError, ImportError) as exc:
        # cairocffi raises OSError when libcairo is missing; ImportError covers a broken install.
        raise RendererUnavailable(
            "The native cairo library could not be loaded: attach the CairoLayer (layers/cairo) to "
            f"this function — see README, 'Cairo layer'. Detail: {exc}"
        ) from exc
    for_cairo, stand_ins = visual_runs(fit_runs(svg))
    # svg2pdf without its wrapper, which does not pass url_fetcher on to the parser.
    pdf: bytes = pdf_surface(stand_ins).convert(
        bytestring=for_cairo.encode("utf-8"), dpi=SVG_DPI, url_fetcher=_fetch_nothing
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


def visual_runs(svg: str) -> tuple[str, dict[str, Cluster]]:
    """The SVG with every run's text as cairo must draw it, and the stand-ins that text uses.

    The SVG holds text in logical order, as browsers expect, which shape and lay it out themselves;
    cairo lays text out left to right without reordering or shaping, so it would draw Hebrew and
    Arabic mirrored and every Arabic letter on its own. Each run becomes the left-to-right sequence of
    its clusters (:func:`pagefan.domain.scripts.visual_clusters`). A cluster drawn as other characters
    than its text (an Arabic letter in a contextual form, a lam-alef, a mirrored bracket) is written
    as a stand-in, a private-use character found nowhere else in the SVG; the cairo context of
    :mod:`pagefan.domain.cairo_text` draws it as the cluster's glyphs and gives them the cluster's
    text, so text extractors reading the rebuilt PDF get the page's text back. Should the SVG leave
    no private-use character free, a cluster is drawn as its text instead (unjoined, unmirrored).

    Returns:
        The SVG for cairo, and each stand-in with the cluster it stands for.

    """
    lines = svg.split("\n")
    stand_ins: dict[str, Cluster] = {}
    by_cluster: dict[Cluster, str] = {}
    taken = set(_PRIVATE_USE.findall(svg))
    free = (char for char in map(chr, range(0xF0000, 0xFFFFE)) if char not in taken)
    for index, line in enumerate(lines):
        if not line.startswith("<text ") or not line.endswith("</text>"):
            continue
        # Attribute values are escaped, so the start tag ends at the first ">".
        start = line.index(">") + 1
        end = len(line) - len("</text>")
        text = unescape(line[start:end])
        drawn = []
        for cluster in visual_clusters(text):
            if cluster.drawn == cluster.text:
                drawn.append(cluster.drawn)
                continue
            if cluster not in by_cluster:
                stand_in = next(free, None)
                if stand_in is None:
                    drawn.append(cluster.text)
                    continue
                by_cluster[cluster] = stand_in
                stand_ins[stand_in] = cluster
            drawn.append(by_cluster[cluster])
        reordered = "".join(drawn)
        # Drawn in visual order from its left edge: cairosvg would anchor a right-to-left run's end there
        # and draw it left of where it belongs.
        tag = line[:start].replace(RIGHT_TO_LEFT_ATTRIBUTES, "", 1)
        if reordered != text or len(tag) != start:
            lines[index] = tag + escape(reordered) + line[end:]
    return "\n".join(lines), stand_ins


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
    # Come with cairosvg, and are only imported once cairosvg has loaded.
    import cairocffi  # type: ignore[import-untyped]

    from pagefan.domain.cairo_text import DrawnText

    context = DrawnText(cairocffi.RecordingSurface(cairocffi.CONTENT_COLOR_ALPHA, None), {})

    def measure(run: SvgRun) -> float:
        context.select_font_face(
            run.family,
            cairocffi.FONT_SLANT_ITALIC if run.italic else cairocffi.FONT_SLANT_NORMAL,
            cairocffi.FONT_WEIGHT_BOLD if run.bold else cairocffi.FONT_WEIGHT_NORMAL,
        )
        context.set_font_size(run.size)
        # The glyphs cairo will draw (Arabic in contextual forms, narrower than the isolated ones).
        drawn = "".join(cluster.drawn for cluster in visual_clusters(run.text))
        return float(context.text_extents(drawn)[4])

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
    are merged (:func:`pagefan.domain.pdf_merge.merge_pdf`), since an outline entry may point at
    any part's page.

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
