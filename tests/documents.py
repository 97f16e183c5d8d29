"""Deterministic sample PDFs for the tests and the benchmarks; nothing under src/ imports them.

samples/sample.pdf, which `make demo` and the sample events use, is one of them (samples/README.md).

The PDFs are written with pypdf alone: content streams are hand-written and use only the
standard 14 fonts (no embedded font files), so the bytes depend on nothing but the arguments.
The words drawn on each page come from :func:`sample_words`, which the generator itself uses,
so a test can compare what the pipeline extracted with what was written.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import (
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
)

LETTER = (612.0, 792.0)
A4 = (595.28, 841.89)

_MARGIN = 72.0

# Resource name -> /BaseFont of the standard 14 fonts the samples use.
_FONTS = {
    "/F1": "Helvetica",
    "/F2": "Helvetica-Bold",
    "/F3": "Times-Roman",
    "/F4": "Times-Italic",
    "/F5": "Courier",
}
# The other text fonts of the standard 14, added only to mixed-font samples (so the default
# samples keep their bytes).
_MIXED_FONTS = {
    "/F6": "Helvetica-Oblique",
    "/F7": "Helvetica-BoldOblique",
    "/F8": "Times-Bold",
    "/F9": "Times-BoldItalic",
    "/F10": "Courier-Bold",
    "/F11": "Courier-Oblique",
    "/F12": "Courier-BoldOblique",
}
_MIXED_SIZES = (9.0, 10.0, 11.0, 12.0, 13.0)
_MARGIN_NOTE_WORDS = 5

# Plain words plus a few WinAnsi accented ones, so text fidelity covers more than ASCII.
_VOCABULARY = (
    "amber",
    "anchor",
    "arrow",
    "autumn",
    "balance",
    "basket",
    "beacon",
    "border",
    "bridge",
    "canyon",
    "carbon",
    "castle",
    "cedar",
    "channel",
    "circle",
    "copper",
    "cotton",
    "crystal",
    "delta",
    "desert",
    "dragon",
    "echo",
    "ember",
    "engine",
    "falcon",
    "feather",
    "field",
    "forest",
    "fountain",
    "garden",
    "glacier",
    "granite",
    "harbor",
    "harvest",
    "horizon",
    "island",
    "ivory",
    "jasmine",
    "journal",
    "kernel",
    "lantern",
    "ledger",
    "linen",
    "marble",
    "meadow",
    "meridian",
    "mirror",
    "motion",
    "needle",
    "nickel",
    "number",
    "orbit",
    "orchard",
    "paper",
    "pebble",
    "pepper",
    "planet",
    "prairie",
    "quarry",
    "quartz",
    "radius",
    "ribbon",
    "river",
    "saddle",
    "signal",
    "silver",
    "summit",
    "tangent",
    "thunder",
    "timber",
    "tunnel",
    "valley",
    "velvet",
    "vector",
    "violet",
    "walnut",
    "window",
    "winter",
    "yellow",
    "zenith",
    "café",
    "naïve",
    "façade",
    "résumé",
    "über",
)
_CODE_WORDS = ("status", "=", "ok;", "retry", "count", "+=", "1;", "return", "page;", "null")

_NORMAL_WORDS_PER_PAGE = 120
_TEXT_HEAVY_WORDS_PER_PAGE = 450
_MAX_WORDS_PER_PAGE = 2000
_ITALIC_WORDS = 8
_CODE_LINE_WORDS = 6
_PAGES_PER_PART = 3


@dataclass(frozen=True)
class _Block:
    """One typeset block of a sample page: a heading, a paragraph or a code line.

    ``styles`` (mixed-font samples only) gives each word its own font and size: the block is
    then set as lines that change font in the middle, without repositioning (``Tf`` between
    ``Tj``), the way many PDF writers set bold or italic words in running text. ``angle`` 90
    draws the block as one line reading upwards in the left margin.
    """

    font: str
    size: float
    words: list[str]
    styles: tuple[tuple[str, float], ...] = ()
    angle: int = 0


def _body_size(words_per_page: int) -> float:
    # Smaller type for denser pages, so even the text-heavy variant fits on a Letter page.
    if words_per_page <= 200:
        return 11.0
    if words_per_page <= 600:
        return 9.0
    if words_per_page <= 1000:
        return 7.0
    return 5.0


def _words_per_page(text_heavy: bool, words_per_page: int | None) -> int:
    if words_per_page is None:
        return _TEXT_HEAVY_WORDS_PER_PAGE if text_heavy else _NORMAL_WORDS_PER_PAGE
    if not 0 <= words_per_page <= _MAX_WORDS_PER_PAGE:
        raise ValueError(f"words_per_page must be between 0 and {_MAX_WORDS_PER_PAGE}, not {words_per_page}")
    return words_per_page


def _page_blocks(page: int, *, seed: int, body_words: int, mixed_fonts: bool = False) -> list[_Block]:
    """Plan the blocks of one page: the single source of truth for what the page shows."""
    # A string seed is hashed with SHA-512 by random.Random, so it is stable across runs and
    # interpreters (unlike hash()), and each page gets its own, distinct word sequence.
    rng = random.Random(f"pagefan-sample:{seed}:{page}")
    size = _body_size(body_words)
    # The "(pNNNN)" tag is unique to the page, so tests can tell pages apart by one word.
    blocks = [_Block("/F2", 18.0, ["Page", str(page), f"(p{page:04d})"])]
    italic = min(_ITALIC_WORDS, body_words // 4)
    code = min(_CODE_LINE_WORDS, body_words // 4)
    prose = body_words - italic - code
    first = prose * 3 // 5
    blocks.append(_Block("/F3", size, [rng.choice(_VOCABULARY) for _ in range(first)]))
    if italic:
        blocks.append(_Block("/F4", size - 1, [rng.choice(_VOCABULARY) for _ in range(italic)]))
    if code:
        blocks.append(_Block("/F5", size - 1, [rng.choice(_CODE_WORDS) for _ in range(code)]))
    blocks.append(_Block("/F1", size, [rng.choice(_VOCABULARY) for _ in range(prose - first)]))
    if mixed_fonts:
        blocks = [blocks[0], *(_mixed(block, rng) for block in blocks[1:])]
        note = [rng.choice(_VOCABULARY) for _ in range(_MARGIN_NOTE_WORDS)]
        blocks.append(_Block("/F6", 8.0, ["note:", *note], angle=90))
    return [block for block in blocks if block.words]


def _mixed(block: _Block, rng: random.Random) -> _Block:
    """The same words, each in a font and size of its own (runs of one to three words)."""
    fonts = sorted({*_FONTS, *_MIXED_FONTS})
    styles: list[tuple[str, float]] = []
    while len(styles) < len(block.words):
        style = (rng.choice(fonts), rng.choice(_MIXED_SIZES))
        styles.extend([style] * rng.randint(1, 3))
    return _Block(block.font, block.size, block.words, tuple(styles[: len(block.words)]))


def sample_words(
    pages: int = 5,
    seed: int = 0,
    *,
    text_heavy: bool = False,
    words_per_page: int | None = None,
    mixed_fonts: bool = False,
) -> list[list[str]]:
    """Return the words :func:`make_sample_pdf` draws on each page, in reading order.

    Args:
        pages: Number of pages.
        seed: Seed of the word choice; the same seed gives the same words.
        text_heavy: Draw about 450 body words per page instead of about 120.
        words_per_page: Exact number of body words per page (overrides ``text_heavy``).
        mixed_fonts: The words of a mixed-font sample (the margin note comes last).

    Returns:
        One list of words per page; page 1 first.

    """
    body_words = _words_per_page(text_heavy, words_per_page)
    return [
        [
            word
            for block in _page_blocks(page, seed=seed, body_words=body_words, mixed_fonts=mixed_fonts)
            for word in block.words
        ]
        for page in range(1, pages + 1)
    ]


def _pdf_string(text: str) -> bytes:
    """Encode ``text`` as a PDF literal string in WinAnsiEncoding (cp1252)."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _char_width(font: str) -> float:
    # Courier is 0.6 em wide; 0.55 em is a generous average for the proportional fonts,
    # so estimated lines never overrun the right margin.
    return 0.6 if font == "/F5" else 0.55


def _wrap(words: list[str], font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current: list[str] = []
    length = 0
    max_chars = max(1, int(width / (size * _char_width(font))))
    for word in words:
        extra = len(word) + (1 if current else 0)
        if current and length + extra > max_chars:
            lines.append(" ".join(current))
            current, length = [], 0
            extra = len(word)
        current.append(word)
        length += extra
    if current:
        lines.append(" ".join(current))
    return lines


def _mixed_lines(block: _Block, width: float) -> list[list[tuple[str, float, str]]]:
    """Wrap a mixed-font block: lines of (font, size, text) pieces, one piece per font change."""
    largest = max(size for _font, size in block.styles)
    max_chars = max(1, int(width / (largest * 0.6)))
    lines: list[list[tuple[str, float, str]]] = []
    line: list[tuple[str, float, str]] = []
    length = 0
    for word, (font, size) in zip(block.words, block.styles, strict=True):
        if line and length + 1 + len(word) > max_chars:
            lines.append(line)
            line, length = [], 0
        # The space between two words goes at the end of the first one's piece.
        if line:
            last_font, last_size, last_text = line[-1]
            line[-1] = (last_font, last_size, last_text + " ")
            length += 1
        if line and line[-1][:2] == (font, size):
            line[-1] = (font, size, line[-1][2] + word)
        else:
            line.append((font, size, word))
        length += len(word)
    if line:
        lines.append(line)
    return lines


def _block_content(block: _Block, y: float, width: float) -> tuple[list[bytes], float]:
    """Content of one mixed-font or margin block and the baseline of its last line."""
    if block.angle:
        # One line reading upwards, its baseline 20 pt left of the text column.
        x = _MARGIN - 20
        start = _MARGIN + 36
        note = _pdf_string(" ".join(block.words))
        return [
            f"BT {block.font} {block.size:g} Tf 0 1 -1 0 {x:g} {start:g} Tm ".encode() + note + b" Tj ET"
        ], y
    leading = round(max(size for _font, size in block.styles) * 1.3, 2)
    out = [f"BT {leading:g} TL {_MARGIN:g} {y:.2f} Td".encode()]
    lines = _mixed_lines(block, width - 2 * _MARGIN)
    current: tuple[str, float] | None = None
    for index, line in enumerate(lines):
        if index:
            out.append(b"T*")
        for font, size, text in line:
            if (font, size) != current:
                out.append(f"{font} {size:g} Tf".encode())
                current = (font, size)
            out.append(_pdf_string(text) + b" Tj")
    out.append(b"ET")
    return out, y - leading * (len(lines) - 1)


def _page_content(blocks: list[_Block], width: float, height: float, with_image: bool) -> bytes:
    """Typeset ``blocks`` top to bottom; each block is one BT..ET using Td then T* per line."""
    out: list[bytes] = []
    if with_image:
        # A small grey square in the top right corner: gives the page one Image XObject.
        left, bottom = width - _MARGIN - 36, height - _MARGIN - 30
        out.append(f"q 36 0 0 36 {left:.2f} {bottom:.2f} cm /Im1 Do Q".encode())
    y = height - _MARGIN
    for block in blocks:
        if block.styles or block.angle:
            y -= max((size for _font, size in block.styles), default=block.size)
            content, y = _block_content(block, y, width)
            out.extend(content)
            y -= block.size * 0.8
            continue
        leading = round(block.size * 1.3, 2)
        y -= block.size
        lines = _wrap(block.words, block.font, block.size, width - 2 * _MARGIN)
        out.append(f"BT {block.font} {block.size:g} Tf {leading:g} TL {_MARGIN:g} {y:.2f} Td".encode())
        for index, line in enumerate(lines):
            prefix = b"" if index == 0 else b"T* "
            out.append(prefix + _pdf_string(line) + b" Tj")
        out.append(b"ET")
        y -= leading * (len(lines) - 1) + block.size * 0.8
    return b"\n".join(out) + b"\n"


def _page_geometry(page: int, pages: int) -> tuple[tuple[float, float], int]:
    """Page size and /Rotate: from 4 pages on, page 2 is A4 and page 3 is rotated 90 degrees."""
    if pages >= 4 and page == 2:
        return A4, 0
    if pages >= 4 and page == 3:
        return LETTER, 90
    return LETTER, 0


def _shared_resources(writer: PdfWriter, mixed_fonts: bool) -> tuple[DictionaryObject, IndirectObject]:
    """Font dictionary and a tiny image, added once and shared by every page like real documents do."""
    fonts = DictionaryObject()
    for resource, base_font in {**_FONTS, **(_MIXED_FONTS if mixed_fonts else {})}.items():
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(f"/{base_font}"),
                NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
            }
        )
        # pypdf has no public "add an indirect object" call; _add_object is what its own docs use.
        fonts[NameObject(resource)] = writer._add_object(font)
    image = StreamObject()
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(2),
            NameObject("/Height"): NumberObject(2),
            NameObject("/ColorSpace"): NameObject("/DeviceGray"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    image.set_data(bytes([64, 160, 160, 64]))
    return fonts, writer._add_object(image)


def _add_outline(writer: PdfWriter, pages: int) -> None:
    """One part per three pages (top level) with one bookmark per page nested under it."""
    for first in range(1, pages + 1, _PAGES_PER_PART):
        last = min(first + _PAGES_PER_PART - 1, pages)
        part = writer.add_outline_item(
            title=f"Part {(first - 1) // _PAGES_PER_PART + 1} — pages {first} to {last}",
            page_number=first - 1,
        )
        for page in range(first, last + 1):
            writer.add_outline_item(title=f"Page {page}", page_number=page - 1, parent=part)


def make_sample_pdf(
    pages: int = 5,
    *,
    title: str = "pagefan sample",
    author: str = "pagefan",
    seed: int = 0,
    text_heavy: bool = False,
    words_per_page: int | None = None,
    mixed_fonts: bool = False,
) -> bytes:
    """Build a deterministic multi-page PDF with headings, paragraphs, an outline and metadata.

    Each page has a Helvetica-Bold heading "Page N (pNNNN)", then Times-Roman, Times-Italic,
    Courier and Helvetica text (the words of :func:`sample_words`). Page 1 draws one small
    image. From 4 pages on, page 2 is A4 (the others Letter) and page 3 has /Rotate 90.
    The same arguments always give the same bytes.

    With ``mixed_fonts``, the same words are set in all twelve text fonts of the standard 14
    at sizes 9 to 13 pt, changing font and size in the middle of lines, and each page ends
    with a note of a few words reading upwards in the left margin (text at 90 degrees).

    Args:
        pages: Number of pages (at least 1).
        title: The document's /Title.
        author: The document's /Author.
        seed: Seed of the word choice.
        text_heavy: About 450 body words per page (for benchmarks) instead of about 120.
        words_per_page: Exact number of body words per page (overrides ``text_heavy``).
        mixed_fonts: Mix fonts and sizes within lines and add a rotated margin note.

    Returns:
        The PDF file's bytes.

    """
    if pages < 1:
        raise ValueError(f"a sample needs at least one page, not {pages}")
    body_words = _words_per_page(text_heavy, words_per_page)
    writer = PdfWriter()
    fonts, image = _shared_resources(writer, mixed_fonts)
    for page_number in range(1, pages + 1):
        (width, height), rotation = _page_geometry(page_number, pages)
        page = writer.add_blank_page(width, height)
        resources = DictionaryObject({NameObject("/Font"): fonts})
        if page_number == 1:
            resources[NameObject("/XObject")] = DictionaryObject({NameObject("/Im1"): image})
        page[NameObject("/Resources")] = resources
        content = StreamObject()
        blocks = _page_blocks(page_number, seed=seed, body_words=body_words, mixed_fonts=mixed_fonts)
        content.set_data(_page_content(blocks, width, height, with_image=page_number == 1))
        # zlib output is deterministic for the same input and level, so compression keeps
        # the bytes reproducible while making the sample look like a real document.
        page[NameObject("/Contents")] = writer._add_object(content.flate_encode())
        if rotation:
            page.rotate(rotation)
    _add_outline(writer, pages)
    writer.add_metadata(
        {
            "/Title": title,
            "/Author": author,
            "/Subject": f"{pages}-page sample document",
            "/Keywords": "pagefan, sample",
            "/Creator": "tests.documents",
        }
    )
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def write_sample(
    path: str | Path,
    pages: int = 6,
    *,
    title: str = "pagefan sample",
    author: str = "pagefan",
    seed: int = 0,
    text_heavy: bool = False,
    words_per_page: int | None = None,
    mixed_fonts: bool = False,
) -> Path:
    """Write a :func:`make_sample_pdf` document to ``path`` and return the path.

    Args:
        path: Where to write the PDF (parent folders must exist).
        pages: Number of pages.
        title: The document's /Title.
        author: The document's /Author.
        seed: Seed of the word choice.
        text_heavy: About 450 body words per page instead of about 120.
        words_per_page: Exact number of body words per page (overrides ``text_heavy``).
        mixed_fonts: Mix fonts and sizes within lines and add a rotated margin note.

    Returns:
        The written path.

    """
    target = Path(path)
    target.write_bytes(
        make_sample_pdf(
            pages,
            title=title,
            author=author,
            seed=seed,
            text_heavy=text_heavy,
            words_per_page=words_per_page,
            mixed_fonts=mixed_fonts,
        )
    )
    return target


__all__ = ["A4", "LETTER", "make_sample_pdf", "sample_words", "write_sample"]
