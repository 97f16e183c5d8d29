"""Draw a page's text runs as a standalone SVG 1.1 document, at their true positions and sizes.

Shared by the SvgExporter and the PdfExporter (which converts this SVG with cairo), so it stays
plain string work: no cairo, no XML library. Everything taken from the PDF is text, escaped and
stripped of characters XML 1.0 forbids, so the output is always well-formed and never carries
markup, references or SVG from the input.
"""

from __future__ import annotations

import math
import re
from xml.sax.saxutils import escape, quoteattr

from pagefan.formats import PageResult, TextRun

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

_FRAME_COLOUR = "#b0b0b0"
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


def _font_attributes(font: str) -> dict[str, str]:
    """Map a PDF font name to SVG font attributes with a generic family list.

    The PDF's own font name is never written to the SVG: it is untrusted text, and a viewer
    would rarely have the font anyway.

    Args:
        font: The run's font name, e.g. "Times-BoldItalic" or "Arial-BoldMT".

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


def _run_element(run: TextRun, page_height: float) -> str | None:
    if not all(math.isfinite(value) for value in (run.x, run.y, run.size, run.angle)):
        return None
    # Forbidden characters go first (some, like U+001C, count as whitespace to str.split);
    # line breaks and tabs would render as spaces anyway, so make that explicit. One space at
    # either end is kept: it is a word boundary with the next run on the line (see
    # pagefan.domain.analysis.run_text), and xml:space="preserve" draws it.
    cleaned = _XML_FORBIDDEN.sub("", run.text)
    words = cleaned.split()
    if not words or run.size <= 0:
        return None
    lead = " " if cleaned[:1].isspace() else ""
    trail = " " if cleaned[-1:].isspace() else ""
    text = escape(lead + " ".join(words) + trail)
    x, y = _number(run.x), _number(page_height - run.y)  # PDF y goes up, SVG y goes down
    size = _number(min(run.size, MAX_FONT_SIZE))
    values = {"x": x, "y": y, "font-size": size, **_font_attributes(run.font)}
    if run.angle:
        # PDF angles are counter-clockwise; on screen, with y down, that is a negative rotate().
        values["transform"] = f"rotate({_number(-run.angle)} {x} {y})"
    return f"<text{_attributes(values)}>{text}</text>"


def render_page_svg(page: PageResult, *, title: str, max_elements: int) -> str:
    """Render one page as a standalone SVG 1.1 document.

    The viewBox is the page as displayed (after /Rotate) in PDF points, and width/height are
    the same numbers in ``pt``, so 1 SVG unit is 1 PDF point. The page gets a white background
    and a thin frame; each run is a ``<text>`` at its position, size and angle, in a generic
    font family close to the PDF's font. Pages with more runs than ``max_elements`` show the
    first ``max_elements`` and a note saying how many were left out. A rotated page says its
    /Rotate in a ``pagefan:rotation`` attribute on the root (namespace ``urn:pagefan:svg``).

    Args:
        page: The page's analysis.
        title: Text of the SVG's ``<title>``, e.g. "report.pdf — page 3".
        max_elements: Most text runs drawn.

    Returns:
        The SVG document (always well-formed XML).

    """
    width, height = page.display_size
    w, h = _number(width), _number(height)
    rotation = (
        f' xmlns:pagefan="{PAGEFAN_NAMESPACE}" pagefan:rotation="{page.rotation}"' if page.rotation else ""
    )
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w}pt" height="{h}pt" '
        # xml:space on the root covers every text, the note included: spaces are drawn as given.
        f'viewBox="0 0 {w} {h}" xml:space="preserve"{rotation}>',
        f"<title>{_xml_text(title)}</title>",
        f'<rect x="0" y="0" width="{w}" height="{h}" fill="#ffffff"/>',
        f'<rect x="0.25" y="0.25" width="{_number(max(width - 0.5, 0))}" '
        f'height="{_number(max(height - 0.5, 0))}" fill="none" stroke="{_FRAME_COLOUR}" stroke-width="0.5"/>',
    ]
    transform = _rotation_transform(page)
    group = {"fill": "#000000"}
    if transform:
        group["transform"] = transform
    parts.append(f"<g{_attributes(group)}>")
    limit = max(max_elements, 0)
    for run in page.runs[:limit]:
        element = _run_element(run, page.height)
        if element:
            parts.append(element)
    parts.append("</g>")
    hidden = len(page.runs) - limit
    if hidden > 0:
        noun = "text run" if hidden == 1 else "text runs"
        note = {
            "x": "6",
            "y": _number(max(height - 6, _NOTE_SIZE)),
            "font-size": _number(_NOTE_SIZE),
            "font-family": _SANS,
            "fill": _NOTE_COLOUR,
        }
        parts.append(f"<text{_attributes(note)}>{hidden} more {noun} not shown</text>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
