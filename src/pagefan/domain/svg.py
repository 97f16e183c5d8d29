"""Draw a page's text runs as a standalone SVG 1.1 document, at their true positions and sizes.

Shared by the SvgExporter and the PdfExporter (which converts this SVG with cairo), so it stays
plain string work: no cairo, no XML library. Everything taken from the PDF is text, escaped and
stripped of characters XML 1.0 forbids, so the output is always well-formed and never carries
markup, references or SVG from the input.
"""

from __future__ import annotations

import math
import re
from base64 import b64encode
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

from pagefan.domain.scripts import SCRIPT_FAMILIES, right_to_left, script_family
from pagefan.formats.page_result import Graphic, ImageRef, PageResult, TextRun

ImageSource = Callable[[ImageRef], bytes | None]
"""Gives a stored image's bytes (checked against its hash), or None when it cannot be had."""

_SANS = "Helvetica, Arial, sans-serif"
_SERIF = "'Times New Roman', Times, serif"
_MONO = "'Courier New', Courier, monospace"

# Namespace of the one pagefan attribute on the root: ``pagefan:rotation`` is the source
# page's /Rotate (present only when not 0), so the PdfExporter can rebuild the page with the
# source's page box and /Rotate (see pagefan.domain.pdf_render.svg_to_pdf).
PAGEFAN_NAMESPACE = "urn:pagefan:svg"

# The largest font size drawn: 14,400 pt is the longest side a PDF page may have (200 inches), so a
# larger glyph covers any page anyway. A hostile size (10^12 pt) also makes FreeType fail inside
# cairo, and a failed glyph can leave cairo unable to draw text for the rest of the process: a warm
# PdfExporter would then fail every later job.
MAX_FONT_SIZE = 14400.0

_PLACEHOLDER_COLOUR = "#9a9a9a"
_NOTE_COLOUR = "#b00000"
_NOTE_SIZE = 9.0

# Characters XML 1.0 allows (section 2.2); everything else (C0 controls but tab/LF/CR,
# U+FFFE/U+FFFF, lone surrogates) makes the document ill-formed and makes cairosvg raise.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

_MONO_HINTS = ("courier", "mono", "consol", "menlo", "typewriter", "cmtt")
_SANS_HINTS = ("sans", "helvetica", "arial", "verdana", "tahoma", "calibri", "gothic", "cmss")
_SERIF_HINTS = (
    "times",
    "georgia",
    "serif",
    "roman",
    "garamond",
    "cambria",
    "palatino",
    "minion",
    "baskerville",
    "bookman",
    "century",
    "cmr",
)
GENERIC_FAMILIES = (_SANS, _SERIF, _MONO)
FONT_FAMILIES = frozenset(
    [
        *GENERIC_FAMILIES,
        *(f"'{script}', {generic}" for script in SCRIPT_FAMILIES for generic in GENERIC_FAMILIES),
    ]
)
"""Every font-family value an SVG may carry."""

_BOLD_HINTS = ("bold", "black", "heavy", "semibold", "demi")
_ITALIC_HINTS = ("italic", "oblique")


def _xml_text(text: str) -> str:
    """Make ``text`` safe as XML character data: forbidden characters removed, markup escaped.

    Args:
        text: Any string, including hostile input.

    Returns:
        Escaped text that always parses as well-formed XML content.

    """
    return escape(_XML_FORBIDDEN.sub("", text))


def _number(value: float) -> str:
    """Compact, locale-free number: two decimals at most, no trailing zeros, never "-0"."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _font_attributes(font: str, text: str = "") -> dict[str, str]:
    """Map a PDF font name to SVG font attributes with a generic family list.

    The PDF's own font name is never written to the SVG: it is untrusted text, and a viewer
    would rarely have the font anyway. A run in Arabic, Hebrew or a CJK script gets a family
    that covers it in front of the list (see :mod:`pagefan.domain.scripts`): cairo draws a run
    in the first family only.

    Args:
        font: The run's font name, e.g. "Times-BoldItalic" or "Arial-BoldMT".
        text: The run's text, whose script may call for a font that covers it.

    Returns:
        ``font-family`` plus ``font-weight`` and ``font-style`` when bold or italic.

    """
    name = font.lower()
    if any(hint in name for hint in _MONO_HINTS):
        family = _MONO
    elif any(hint in name for hint in _SANS_HINTS):
        family = _SANS
    elif any(hint in name for hint in _SERIF_HINTS):
        family = _SERIF
    else:
        family = _SANS
    script = script_family(text)
    if script is not None:
        family = f"'{script}', {family}"
    attributes = {"font-family": family}
    if any(hint in name for hint in _BOLD_HINTS):
        attributes["font-weight"] = "bold"
    if any(hint in name for hint in _ITALIC_HINTS):
        attributes["font-style"] = "italic"
    return attributes


def _attributes(values: dict[str, str]) -> str:
    return "".join(f" {name}={quoteattr(value)}" for name, value in values.items())


def _rotation_transform(page: PageResult) -> str | None:
    """SVG transform that turns the unrotated page into what a viewer shows for /Rotate.

    /Rotate turns the page clockwise; SVG's rotate() is clockwise on screen too (y points down),
    and the translation brings the rotated page back into the viewBox.
    """
    if page.rotation == 90:
        return f"translate({_number(page.height)} 0) rotate(90)"
    if page.rotation == 180:
        return f"translate({_number(page.width)} {_number(page.height)}) rotate(180)"
    if page.rotation == 270:
        return f"translate(0 {_number(page.width)}) rotate(270)"
    return None


def _matrix(values: list[float]) -> str:
    return "matrix(" + " ".join(f"{value:.4f}".rstrip("0").rstrip(".") for value in values) + ")"


def _paint(graphic: Graphic) -> dict[str, str]:
    values = {"fill": graphic.fill or "none"}
    if graphic.fill and graphic.fill_opacity < 1:
        values["fill-opacity"] = _number(max(graphic.fill_opacity, 0.0))
    if graphic.fill and graphic.even_odd:
        values["fill-rule"] = "evenodd"
    if graphic.stroke:
        # A zero line width is the thinnest line the device can draw (PDF 32000-1, 8.4.3.2).
        values["stroke"] = graphic.stroke
        values["stroke-width"] = _number(graphic.line_width) if graphic.line_width > 0 else "0.3"
        if graphic.line_width <= 0:
            values["vector-effect"] = "non-scaling-stroke"
        if graphic.stroke_opacity < 1:
            values["stroke-opacity"] = _number(max(graphic.stroke_opacity, 0.0))
        if graphic.line_cap != "butt":
            values["stroke-linecap"] = graphic.line_cap
        if graphic.line_join != "miter":
            values["stroke-linejoin"] = graphic.line_join
        if graphic.dash:
            values["stroke-dasharray"] = " ".join(_number(value) for value in graphic.dash)
            if graphic.dash_phase:
                values["stroke-dashoffset"] = _number(graphic.dash_phase)
    return values


def _image_element(graphic: Graphic, images: ImageSource | None) -> str:
    """An image over the unit square of its space (rows top down, so flipped into PDF's y-up)."""
    transform = _matrix(graphic.matrix) + " matrix(1 0 0 -1 0 1)"
    data = images(graphic.image) if images is not None and graphic.image is not None else None
    if data is None or graphic.image is None:
        # Not stored (over a limit, undecodable) or unreadable now: a light box where it was.
        return (
            f'<rect x="0" y="0" width="1" height="1" transform="{transform}" fill="#eeeeee" '
            f'stroke="{_PLACEHOLDER_COLOUR}" stroke-width="1" vector-effect="non-scaling-stroke"/>'
        )
    uri = f"data:{graphic.image.media_type};base64,{b64encode(data).decode('ascii')}"
    return (
        f'<image x="0" y="0" width="1" height="1" preserveAspectRatio="none" transform="{transform}" '
        f'xlink:href="{uri}"/>'
    )


def _graphic_element(graphic: Graphic, images: ImageSource | None) -> str | None:
    if graphic.kind == "image":
        element = _image_element(graphic, images)
    elif graphic.d:
        element = (
            f'<path d="{graphic.d}" transform="{_matrix(graphic.matrix)}"{_attributes(_paint(graphic))}/>'
        )
    else:
        return None
    # A clip path is in page space: it goes on groups around the element, whose own
    # transform would otherwise move the clip too.
    for index in graphic.clips:
        element = f'<g clip-path="url(#clip{index})">{element}</g>'
    return element


def _painted(page: PageResult, limit: int, images: ImageSource | None) -> list[str]:
    """Graphics and text in the page's painting order, one element a line.

    A graphic goes before a run when no more text was shown before it than before the run
    (``texts_before``). Consecutive graphics share a group that maps PDF's y-up space to SVG's;
    consecutive runs share a group with the default fill.
    """
    groups = {
        "graphics": f'<g transform="matrix(1 0 0 -1 0 {_number(page.height)})">',
        "text": '<g fill="#000000">',
    }
    parts: list[str] = []
    current: str | None = None

    def add(kind: str, element: str | None) -> None:
        nonlocal current
        if element is None:
            return
        if current != kind:
            if current is not None:
                parts.append("</g>")
            parts.append(groups[kind])
            current = kind
        parts.append(element)

    graphics = page.graphics[:limit]
    drawn = 0
    for run in page.runs[:limit]:
        while drawn < len(graphics) and graphics[drawn].texts_before <= run.texts_before:
            add("graphics", _graphic_element(graphics[drawn], images))
            drawn += 1
        add("text", _run_element(run, page.height))
    for graphic in graphics[drawn:]:
        add("graphics", _graphic_element(graphic, images))
    if current is not None:
        parts.append("</g>")
    return parts


def _clip_definitions(page: PageResult) -> list[str]:
    used = sorted({index for graphic in page.graphics for index in graphic.clips})
    if not used:
        return []
    # The clip paths are in page space: the user space of the groups that use them (see
    # _graphic_elements), inside the group that flips PDF's y axis.
    return [
        "<defs>",
        *(f'<clipPath id="clip{index}"><path d="{page.clips[index]}"/></clipPath>' for index in used),
        "</defs>",
    ]


RIGHT_TO_LEFT = {"direction": "rtl", "text-anchor": "end"}
"""A right-to-left run's attributes. SVG lays text out left to right unless told (a run opening with
a bracket or a digit would put its first word on the wrong side); right to left, the run's end is
its left edge, where the PDF placed it."""
RIGHT_TO_LEFT_ATTRIBUTES = "".join(f" {name}={quoteattr(value)}" for name, value in RIGHT_TO_LEFT.items())
""":data:`RIGHT_TO_LEFT` as written in a ``<text>`` start tag."""


def _run_element(run: TextRun, page_height: float) -> str | None:
    if not all(math.isfinite(value) for value in (run.x, run.y, run.size, run.angle)):
        return None
    # Forbidden characters go first (some, like U+001C, count as whitespace to str.split);
    # line breaks and tabs would render as spaces anyway, so make that explicit. One space at
    # either end is kept: it is a word boundary with the next run on the line (see
    # pagefan.domain.text_runs.run_text), and xml:space="preserve" draws it.
    cleaned = _XML_FORBIDDEN.sub("", run.text)
    words = cleaned.split()
    if not words or run.size <= 0:
        return None
    lead = " " if cleaned[:1].isspace() else ""
    trail = " " if cleaned[-1:].isspace() else ""
    text = escape(lead + " ".join(words) + trail)
    x, y = _number(run.x), _number(page_height - run.y)  # PDF y goes up, SVG y goes down
    size = _number(min(run.size, MAX_FONT_SIZE))
    values = {"x": x, "y": y, "font-size": size, **_font_attributes(run.font, cleaned)}
    if run.invisible:
        # OCR'd text over a scan: not painted, still selectable and searchable.
        values["fill-opacity"] = "0"
    elif run.colour != "#000000":
        values["fill"] = run.colour
    if run.angle:
        # PDF angles are counter-clockwise; on screen, with y down, that is a negative rotate().
        values["transform"] = f"rotate({_number(-run.angle)} {x} {y})"
    if right_to_left(cleaned):
        values.update(RIGHT_TO_LEFT)
    return f"<text{_attributes(values)}>{text}</text>"


def render_page_svg(
    page: PageResult, *, title: str, max_elements: int, images: ImageSource | None = None
) -> str:
    """Render one page as a standalone SVG 1.1 document.

    The viewBox is the page as displayed (after /Rotate) in PDF points, and width/height are
    the same numbers in ``pt``, so 1 SVG unit is 1 PDF point. On a white background the page's
    graphics are drawn in painting order (paths with their fill, stroke, dashes and clipping;
    images as ``data:`` URIs of the PNG or JPEG the PageWorker re-encoded, or a light box where
    an image is not stored), then each run as a ``<text>`` at its position, size, angle and
    colour, in a generic font family close to the PDF's font; invisible runs (an OCR layer) are
    transparent but still selectable. Graphics and text are drawn in the page's painting order.
    Pages with more runs (or
    graphics) than ``max_elements`` show the first ``max_elements`` and a note saying how many
    were left out, and which parameter sets the limit. A rotated page says its /Rotate in a
    ``pagefan:rotation`` attribute on the root (namespace ``urn:pagefan:svg``). Nothing is
    external: the only URIs are ``data:`` images.

    Args:
        page: The page's analysis.
        title: Text of the SVG's ``<title>``, e.g. "report.pdf — page 3".
        max_elements: Most text runs drawn, and most graphics.
        images: Gives a stored image's bytes; without it every image is drawn as a box.

    Returns:
        The SVG document (always well-formed XML).

    """
    width, height = page.display_size
    w, h = _number(width), _number(height)
    rotation = (
        f' xmlns:pagefan="{PAGEFAN_NAMESPACE}" pagefan:rotation="{page.rotation}"' if page.rotation else ""
    )
    xlink = ' xmlns:xlink="http://www.w3.org/1999/xlink"' if page.graphics else ""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg"{xlink} version="1.1" width="{w}pt" height="{h}pt" '
        # xml:space on the root covers every text, the note included: spaces are drawn as given.
        f'viewBox="0 0 {w} {h}" xml:space="preserve"{rotation}>',
        f"<title>{_xml_text(title)}</title>",
        *_clip_definitions(page),
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
    ]
    transform = _rotation_transform(page)
    limit = max(max_elements, 0)
    if transform:
        parts.append(f'<g transform="{transform}">')
    parts.extend(_painted(page, limit, images))
    if transform:
        parts.append("</g>")
    hidden_runs = max(len(page.runs) - limit, 0)
    hidden_graphics = max(len(page.graphics) - limit, 0)
    if hidden_runs or hidden_graphics:
        counts = []
        if hidden_runs:
            counts.append(f"{hidden_runs} more text run" + ("" if hidden_runs == 1 else "s"))
        if hidden_graphics:
            counts.append(f"{hidden_graphics} more graphic" + ("" if hidden_graphics == 1 else "s"))
        note = {
            "x": "6",
            "y": _number(max(height - 6, _NOTE_SIZE)),
            "font-size": _number(_NOTE_SIZE),
            "font-family": _SANS,
            "fill": _NOTE_COLOUR,
        }
        parts.append(
            f"<text{_attributes(note)}>{' and '.join(counts)} not shown (MaxSvgElements parameter)</text>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
