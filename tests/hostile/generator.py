"""Hostile and broken uploads, built here from pypdf and raw bytes (nothing is downloaded).

Each :class:`Hostile` is one class of input an attacker or a broken producer can put into the
raw bucket: its bytes, the S3 key it is uploaded under, and what pagefan must make of it,
either :class:`Completes` (odd but valid: the job completes with the right output) or
:class:`Fails` (the job fails at a stage, with a reason that says what is wrong). The files are
kept small: bombs are small compressed, big page counts share one page's resources.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property

from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject, NumberObject

from tests.documents import make_sample_pdf, sample_words
from tests.pdf_bytes import build_pdf as build_raw_pdf
from tests.pdf_bytes import stream

# --- expectations ------------------------------------------------------------------------


@dataclass(frozen=True)
class Completes:
    """The job must complete with ``pages`` pages and every one of ``texts`` in its text."""

    pages: int
    texts: tuple[str, ...] = ()
    rotations: tuple[int, ...] = ()


@dataclass(frozen=True)
class Fails:
    """The job must fail at ``stage`` with ``reason`` in its error.

    At the "pages" stage, ``failed_pages`` are the pages recorded FAILED (the others DONE), and
    ``code`` is the code every failed page's reason ends with, in parentheses.
    """

    stage: str
    reason: str
    failed_pages: tuple[int, ...] = ()
    code: str | None = None


@dataclass(frozen=True)
class Hostile:
    """One class of hostile input: what it is, its key, how to build it, the outcome it must get."""

    name: str
    key: str
    build: Callable[[], bytes] = field(repr=False)
    expect: Completes | Fails
    note: str
    # Text that must appear in no output of the job (payloads that must not leak through).
    never_in_outputs: tuple[str, ...] = ()

    @cached_property
    def data(self) -> bytes:
        """The file's bytes, built on first use."""
        return self.build()


# --- raw PDF assembly -----------------------------------------------------------------------


def build_pdf(objects: Sequence[bytes], *, root: int = 1, trailer_extra: bytes = b"") -> bytes:
    """Assemble objects numbered 1, 2, ... into a PDF whose header marks it binary, as writers do."""
    return build_raw_pdf(
        objects, root=root, trailer_extra=trailer_extra, header=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    )


def flate(content: bytes) -> bytes:
    """A /FlateDecode stream object's body."""
    return stream(zlib.compress(content, 9), b"/Filter /FlateDecode")


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def text_content(*lines: bytes, x: int = 72, y: int = 720, size: int = 12) -> bytes:
    """A content stream showing each (already escaped) literal string on its own line, in /F1."""
    shown = b"".join(b"(" + line + b") Tj T* " for line in lines)
    return b"BT /F1 %d Tf %d TL %d %d Td " % (size, size + 4, x, y) + shown + b"ET"


def one_page(
    content: bytes,
    *,
    mediabox: bytes = b"[0 0 612 792]",
    page_extra: bytes = b"",
    font: bytes = HELVETICA,
    fonts_extra: bytes = b"",
    resources_extra: bytes = b"",
    catalog_extra: bytes = b"",
    content_object: bytes | None = None,
    extra_objects: Sequence[bytes] = (),
    trailer_extra: bytes = b"",
) -> bytes:
    """A one-page PDF: 1 catalog, 2 pages, 3 page, 4 font /F1, 5 content; extras are 6, 7, ..."""
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox "
        + mediabox
        + b" /Resources << /Font << /F1 4 0 R "
        + fonts_extra
        + b">> "
        + resources_extra
        + b" >> /Contents 5 0 R "
        + page_extra
        + b">>"
    )
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            page,
            font,
            content_object if content_object is not None else stream(content),
            *extra_objects,
        ],
        trailer_extra=trailer_extra,
    )


def blank_pages(count: int, *, fan_out: int = 100) -> bytes:
    """A PDF of ``count`` blank Letter pages in a two-level page tree, sharing one content stream."""
    nodes = (count + fan_out - 1) // fan_out
    # 1 catalog, 2 root, 3 shared content, 4 .. 3+nodes intermediate nodes, then the pages.
    first_node, first_page = 4, 4 + nodes
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % (first_node + n) for n in range(nodes)), count),
        stream(b""),
    ]
    for node in range(nodes):
        pages = range(node * fan_out, min(count, (node + 1) * fan_out))
        kids = b" ".join(b"%d 0 R" % (first_page + page) for page in pages)
        objects.append(b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (kids, len(pages)))
    for page in range(count):
        objects.append(
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources << >> >>"
            % (first_node + page // fan_out)
        )
    return build_pdf(objects)


def _written(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- documents ------------------------------------------------------------------------------

SAMPLE_PAGES = 3


@cache
def sample() -> bytes:
    """A valid 3-page document (pagefan's sample generator), the base of several classes."""
    return make_sample_pdf(SAMPLE_PAGES, title="hostile sample")


def sample_texts() -> tuple[str, ...]:
    """The last word of each page of :func:`sample`: a completed job's text must hold them all."""
    return tuple(words[-1] for words in sample_words(SAMPLE_PAGES))


def _png() -> bytes:
    """A real 1x1 greyscale PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )


def _zip() -> bytes:
    """A ZIP archive laid out like a Word document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document>not a pdf</document>")
    return out.getvalue()


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(sample())))
    writer.encrypt(user_password, "owner-secret", algorithm="AES-256")
    return _written(writer)


def _broken_xref_recoverable() -> bytes:
    """Every xref offset and the startxref offset point at the wrong place; the objects are intact."""
    head, _, _ = sample().rpartition(b"startxref")
    body, _, table = head.partition(b"\nxref\n")
    garbled = bytes(
        ord("9") if chr(byte).isdigit() and index > 20 else byte for index, byte in enumerate(table)
    )
    return body + b"\nxref\n" + garbled + b"startxref\n123456789\n%%EOF\n"


def _page_tree_loop() -> bytes:
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ]
    )


def _nested(depth: int, opening: bytes, closing: bytes) -> bytes:
    return opening * depth + closing * depth


def _deeply_nested_page() -> bytes:
    """The page dictionary holds 50,000 nested arrays and 50,000 nested dictionaries."""
    nested = _nested(50_000, b"[", b"]") + b" /Deep " + _nested(50_000, b"<< /A ", b">>")
    return one_page(text_content(b"nested"), page_extra=b"/Nest " + nested)


def _deeply_nested_info() -> bytes:
    """Only the document information dictionary is nested: metadata is lost, the page is not."""
    info = b"<< /Title (nested info) /Deep " + _nested(50_000, b"<< /A ", b">>") + b" >>"
    return one_page(
        text_content(b"readable despite nested metadata"), extra_objects=[info], trailer_extra=b"/Info 6 0 R "
    )


def _deeply_nested_operands() -> bytes:
    """A content stream whose first operand is 100,000 arrays deep, before readable text."""
    content = _nested(100_000, b"[", b"]") + b" pop\n" + text_content(b"after the nesting")
    return one_page(b"", content_object=flate(content))


def _bomb(mebibytes: int) -> bytes:
    """A page whose content stream is ``mebibytes`` MiB of spaces, compressed to about 1 KB per MiB."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = b"".join(compressor.compress(chunk) for _ in range(mebibytes)) + compressor.flush()
    return one_page(b"", content_object=stream(body, b"/Filter /FlateDecode"))


def object_stream_bomb() -> bytes:
    """The page tree sits in an object stream that decompresses to 96 MiB (padding first)."""
    header = b"2 0 "
    compressor = zlib.compressobj(9)
    compressed = compressor.compress(
        header + b" " * (96 << 20) + b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"null",  # object 2 is in the object stream (object 4), as the xref stream says
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
        stream(
            compressed + compressor.flush(),
            b"/Type /ObjStm /N 1 /First %d /Filter /FlateDecode" % len(header),
        ),
    ]
    out = bytearray(b"%PDF-1.7\n")
    rows = [b"\x00\x00\x00\x00\xff\xff"]
    for number, body in enumerate(objects, start=1):
        rows.append(
            b"\x02" + (4).to_bytes(4, "big") + b"\x00"
            if number == 2
            else b"\x01" + len(out).to_bytes(4, "big") + b"\x00"
        )
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_offset = len(out)
    rows.append(b"\x01" + xref_offset.to_bytes(4, "big") + b"\x00")
    xref = stream(b"".join(rows), b"/Type /XRef /Size %d /W [1 4 1] /Root 1 0 R" % (len(objects) + 2))
    out += b"%d 0 obj\n" % (len(objects) + 1) + xref + b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_offset
    return bytes(out)


def repeated_page_tree(pages: int, per_node: int = 50_000) -> bytes:
    """``pages`` entries in the page tree, all the same page: a long document in a small file."""
    nodes = (pages + per_node - 1) // per_node
    kids = b" ".join(b"%d 0 R" % (4 + node) for node in range(nodes))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
        b"<< /Type /Page /MediaBox [0 0 612 792] >>",
    ]
    for node in range(nodes):
        count = min(per_node, pages - node * per_node)
        objects.append(
            b"<< /Type /Pages /Parent 2 0 R /Kids [" + b"3 0 R " * count + b"] /Count %d >>" % count
        )
    return build_pdf(objects)


# A form of path operators: 1.8 million tokens, within pypdf's 2 million per content stream.
FORM_OPERATORS = 600_000
# Draws of that form: within pypdf's 5,000 form invocations per text extraction.
FORM_DRAWS = 1_000


def millions_of_operators() -> bytes:
    """A page that pypdf parses for hours, within every limit but time: only a time budget stops it.

    A form of FORM_OPERATORS path operators, drawn FORM_DRAWS times: pypdf parses the form anew at
    each draw (about 10 s here), and finds no text, no run and no size past a limit, in 200 MB at
    most. So whatever the machine's speed, the page's time budget strikes first. The same operators
    in the page's own content would stop at pypdf's token limit after about 8 s here, and a budget
    of a few seconds would strike first only on a machine not much faster than this one.
    """
    form = stream(
        zlib.compress(b"0 0 m\n" * FORM_OPERATORS, 9),
        b"/Filter /FlateDecode /Type /XObject /Subtype /Form /BBox [0 0 10 10] "
        b"/Resources << /Font << /F1 4 0 R >> >>",
    )
    return one_page(
        b"",
        content_object=flate(b"/X Do " * FORM_DRAWS + text_content(b"after the operators")),
        resources_extra=b"/XObject << /X 6 0 R >>",
        extra_objects=[form],
    )


def many_runs(count: int) -> bytes:
    """A page of ``count`` text runs "r0", "r1", ..., each in its own text object, in a grid."""
    runs = b"".join(
        b"BT /F1 6 Tf %d %d Td (r%d) Tj ET " % (20 + 30 * (index % 19), 780 - 10 * (index // 19) % 770, index)
        for index in range(count)
    )
    return one_page(runs)


def _rotated() -> bytes:
    """Pages with /Rotate 0, 90, 180, 270, -90 (= 270) and 45 (invalid: shown upright)."""
    writer = PdfWriter()
    for rotate in ROTATES:
        page = PdfReader(io.BytesIO(one_page(text_content(b"rotated %d" % rotate)))).pages[0]
        writer.add_page(page)[NameObject("/Rotate")] = NumberObject(rotate)
    return _written(writer)


ROTATES = (0, 90, 180, 270, -90, 45)
MANY_RUNS = 1500


def _broken_fonts() -> bytes:
    """Fonts broken in five ways, and a font the page uses without declaring it."""
    fonts = (
        b"/F2 99 0 R "  # a reference to an object that does not exist
        b"/F3 6 0 R "  # a TrueType font with a garbage program and a garbage /ToUnicode
        b"/F4 (not a font) "  # a string where a dictionary belongs
        b"/F5 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Widths 12 /FirstChar (x) "
        b"/Encoding << /Differences [32 /space 65 /NoSuchGlyph (bad) 7] >> >> "
        b"/F6 << /Type /Font /Subtype /Type0 /BaseFont /Broken /Encoding /Identity-H "
        b"/DescendantFonts [null] >> "
    )
    content = (
        b"BT /F1 12 Tf 72 720 Td (plain line) Tj ET\n"
        b"BT /F2 12 Tf 72 700 Td (missing object) Tj ET\n"
        b"BT /F3 12 Tf 72 680 Td (garbage program) Tj ET\n"
        b"BT /F4 12 Tf 72 660 Td (string font) Tj ET\n"
        b"BT /F5 12 Tf 72 640 Td (bad widths) Tj ET\n"
        b"BT /F6 12 Tf 72 620 Td <0041> Tj ET\n"
        b"BT /F9 12 Tf 72 600 Td (undeclared font) Tj ET\n"
        b"BT /F1 12 Tf 72 580 Td (last line) Tj ET"
    )
    garbage_font = (
        b"<< /Type /Font /Subtype /TrueType /BaseFont /Garbage /FirstChar 32 /LastChar 126 "
        b"/Widths [600] /FontDescriptor 7 0 R /ToUnicode 8 0 R >>"
    )
    return one_page(
        content,
        fonts_extra=fonts,
        extra_objects=[
            garbage_font,
            b"<< /Type /FontDescriptor /FontName /Garbage /Flags 32 /FontFile2 9 0 R >>",
            stream(b"begincmap garbage <00> <zz> endbfchar \xff\xfe"),
            stream(b"\x00\x01\x00\x00not a truetype font" * 20),
        ],
    )


BROKEN_FONT_TEXTS = (
    "plain line",
    "missing object",
    "garbage program",
    "string font",
    "undeclared font",
    "last line",
)

# A ToUnicode CMap mapping every 2-byte code to the same UTF-16 code unit.
_UCS_CMAP = (
    b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def "
    b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def "
    b"1 begincodespacerange <0000> <FFFF> endcodespacerange "
    b"1 beginbfrange <0000> <FFFF> <0000> endbfrange "
    b"endcmap CMapName currentdict /CMap defineresource pop end end"
)


def unicode_page(*lines: str) -> bytes:
    """A page drawing ``lines`` in a Type0 font whose codes are UTF-16 code units (no font program).

    The ToUnicode CMap maps every 2-byte code to itself, so any BMP text (CJK, RTL, control
    characters, lone surrogates) can be put on a page without embedding a font.
    """
    shown = b"".join(
        b"<" + line.encode("utf-16-be", "surrogatepass").hex().encode() + b"> Tj T* " for line in lines
    )
    return one_page(
        b"BT /F1 14 Tf 18 TL 72 720 Td " + shown + b"ET",
        font=(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /NoEmbeddedFont /Encoding /Identity-H "
            b"/DescendantFonts [6 0 R] /ToUnicode 8 0 R >>"
        ),
        extra_objects=[
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /NoEmbeddedFont "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor 7 0 R /DW 1000 /CIDToGIDMap /Identity >>",
            b"<< /Type /FontDescriptor /FontName /NoEmbeddedFont /Flags 4 /FontBBox [0 -200 1000 900] "
            b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>",
            stream(_UCS_CMAP),
        ],
    )


def text_expansion_page(codes: int, expansion: int = 256) -> bytes:
    """A page whose ToUnicode map turns code <0001> into ``expansion`` letters, shown ``codes`` times.

    256 is the most pypdf accepts for one code; 200,000 codes in a 3 KB file are 51 million
    characters of text, which take pypdf about 4 s and 450 MB to produce.
    """
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Expand def "
        b"/CMapType 2 def 1 begincodespacerange <0000> <FFFF> endcodespacerange "
        b"1 beginbfchar <0001> <" + b"0041" * expansion + b"> endbfchar endcmap end end"
    )
    return one_page(
        b"",
        font=(
            b"<< /Type /Font /Subtype /Type0 /BaseFont /Expand /Encoding /Identity-H "
            b"/DescendantFonts [6 0 R] /ToUnicode 8 0 R >>"
        ),
        content_object=flate(b"BT /F1 12 Tf 72 700 Td <" + b"0001" * codes + b"> Tj ET"),
        extra_objects=[
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Expand "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor 7 0 R /DW 1000 >>",
            b"<< /Type /FontDescriptor /FontName /Expand /Flags 4 /FontBBox [0 0 1000 1000] "
            b"/ItalicAngle 0 /Ascent 900 /Descent -200 /CapHeight 700 /StemV 80 >>",
            stream(cmap),
        ],
    )


def _form_drawn_over_and_over(text_bytes: int, draws: int) -> bytes:
    """A form holding ``text_bytes`` letters, drawn ``draws`` times: the content limit counts it once."""
    form = stream(
        zlib.compress(b"BT /F1 12 Tf 0 0 Td (" + b"A" * text_bytes + b") Tj ET", 9),
        b"/Filter /FlateDecode /Type /XObject /Subtype /Form /BBox [0 0 10 10] "
        b"/Resources << /Font << /F1 4 0 R >> >>",
    )
    return one_page(
        b"",
        content_object=flate(b"/X Do " * draws),
        resources_extra=b"/XObject << /X 6 0 R >>",
        extra_objects=[form],
    )


# The Arabic lines join their letters, and the second has a lam-alef ligature (in السلام).
RTL = ("שלום עולם", "مرحبا بالعالم", "السلام عليكم")
CJK = ("日本語のテキスト", "中文文本", "한국어 텍스트")
MARKUP = ("a < b & c > d", "]]> <![CDATA[ x ]]>", '<script>alert("x")</script>', "&amp; &lt; &#0; &bogus;")
# Characters XML 1.0 forbids (C0 controls, U+FFFE, U+FFFF, a lone surrogate), and a few it
# allows that still make trouble in text (DEL, right-to-left override, byte order mark).
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\ufffe\uffff\ud800\u202e\ufeff"


def _actions(sentinel_url: str, marker_path: str) -> bytes:
    """JavaScript and Launch actions wherever a viewer runs them, URI and remote links, an image at a URL."""
    url = sentinel_url.encode()
    launch = (
        b"<< /S /Launch /F (/bin/sh) /Win << /F (cmd.exe) /P (/c calc.exe) >> /Unix (/usr/bin/touch %s) >>"
        % marker_path.encode()
    )
    javascript = (
        b'<< /S /JavaScript /JS (app.launchURL\\("%s/js"\\); this.exportDataObject\\({}\\);) >>' % url
    )
    link = b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 620] /A << /S /URI /URI (%s/uri) >> >>" % url
    remote = (
        b"<< /Type /Annot /Subtype /Link /Rect [72 560 300 580] "
        b"/A << /S /GoToR /F << /FS /URL /F (%s/remote.pdf) >> /D [0 /Fit] >> >>" % url
    )
    # An image whose data lives at a URL (/F), which a reader could go and fetch.
    external_image = (
        b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /F << /FS /URL /F (%s/image) >> /Length 0 >>\nstream\n\nendstream" % url
    )
    return one_page(
        text_content(b"actions are never run") + b" q 10 0 0 10 400 400 cm /Im1 Do Q",
        catalog_extra=(
            b"/OpenAction 6 0 R /AA << /WC 7 0 R >> /Names << /JavaScript << /Names [(x) 7 0 R] >> >> "
        ),
        page_extra=b"/AA << /O 6 0 R /C 7 0 R >> /Annots [8 0 R 9 0 R] ",
        resources_extra=b"/XObject << /Im1 10 0 R >>",
        extra_objects=[launch, javascript, link, remote, external_image],
    )


EMBEDDED_PAYLOAD = "EMBEDDED-PAYLOAD-7f3a"


def _embedded_files() -> bytes:
    """A document-level attachment and a file attachment annotation holding a payload."""
    payload = b"MZ\x90\x00" + EMBEDDED_PAYLOAD.encode() + b"\x00" * 64
    return one_page(
        text_content(b"this page carries attachments"),
        catalog_extra=b"/Names << /EmbeddedFiles << /Names [(invoice.exe) 7 0 R] >> >> ",
        page_extra=b"/Annots [8 0 R] ",
        extra_objects=[
            stream(payload, b"/Type /EmbeddedFile /Subtype /application#2Foctet-stream"),
            b"<< /Type /Filespec /F (invoice.exe) /UF (invoice.exe) /EF << /F 6 0 R >> >>",
            b"<< /Type /Annot /Subtype /FileAttachment /Rect [72 500 90 520] /FS 7 0 R "
            b"/Contents (open me) >>",
        ],
    )


def _self_drawing_form() -> bytes:
    """A form XObject that draws itself and its twin, which draws it back."""
    form = stream(
        b"BT /F1 12 Tf 0 0 Td (inside the form) Tj ET /X1 Do /X2 Do",
        b"/Type /XObject /Subtype /Form /BBox [0 0 100 100] "
        b"/Resources << /XObject << /X1 6 0 R /X2 7 0 R >> /Font << /F1 4 0 R >> >>",
    )
    twin = form.replace(b"/X1 6 0 R /X2 7 0 R", b"/X1 7 0 R /X2 6 0 R")
    return one_page(
        text_content(b"before the form") + b" /X1 Do",
        resources_extra=b"/XObject << /X1 6 0 R >>",
        extra_objects=[form, twin],
    )


def _pixel_bomb() -> bytes:
    """A 60,000 x 60,000 RGB image (10.8 GB decoded) declared in a few hundred bytes, beside text."""
    image = stream(
        zlib.compress(b"\x00" * 3000),
        b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceRGB "
        b"/BitsPerComponent 8 /Filter /FlateDecode",
    )
    return one_page(
        text_content(b"a pixel bomb below") + b" q 300 0 0 300 72 300 cm /Im1 Do Q",
        resources_extra=b"/XObject << /Im1 6 0 R >>",
        extra_objects=[image],
    )


def _deeply_nested_forms(depth: int = 40) -> bytes:
    """Forms nested ``depth`` deep, each drawing a square and the next form."""
    forms = []
    for level in range(depth):
        inner = b" /Fm Do" if level + 1 < depth else b""
        resources = b"/Resources << /XObject << /Fm %d 0 R >> >>" % (7 + level) if level + 1 < depth else b""
        forms.append(
            stream(
                b"0 0 1 rg 0 0 10 10 re f 1 0 0 1 2 2 cm" + inner,
                b"/Type /XObject /Subtype /Form /BBox [0 0 600 600] " + resources,
            )
        )
    return one_page(
        text_content(b"forms nested forty deep") + b" q 1 0 0 1 72 300 cm /Fm Do Q",
        resources_extra=b"/XObject << /Fm 6 0 R >>",
        extra_objects=forms,
    )


def _self_referencing_length() -> bytes:
    """The content stream's /Length is a reference to object 6, which is a reference to itself."""
    content = text_content(b"length loops")
    body = b"<< /Length 6 0 R >>\nstream\n" + content + b"\nendstream"
    return one_page(b"", content_object=body, extra_objects=[b"6 0 R"])


def _corrupt_compressed_content() -> bytes:
    """The content stream says /FlateDecode but holds no zlib data at all."""
    return one_page(b"", content_object=stream(b"\x00garbage, not zlib" * 8, b"/Filter /FlateDecode"))


def _one_bad_page_among_good() -> bytes:
    """Four pages of a valid document, page 3 replaced by the millions-of-operators page."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_sample_pdf(4, title="one bad page"))))
    writer.insert_page(PdfReader(io.BytesIO(millions_of_operators())).pages[0], index=2)
    writer.remove_page(3)
    return _written(writer)


def _too_large(max_upload_bytes: int) -> bytes:
    """The valid sample, padded with a trailing comment to one MiB past ``max_upload_bytes``."""
    document = sample()
    return document + b"%" + b"p" * (max_upload_bytes + (1 << 20) - len(document)) + b"\n"


# --- the catalogue ----------------------------------------------------------------------------

# 900 characters, 1,000 bytes of UTF-8 (S3 allows 1,024).
LONG_KEY = ("long/" * 60 + "é" * 100 + "x" * 496 + ".pdf")[:900]
# The class run end to end only on request (tests/hostile/test_page_limit.py): 5,000 pages
# take about ten minutes through the local runtime on two cores.
AT_MAX_PAGES = "pages_at_max_pages"


def hostile_inputs(
    *, sentinel_url: str, marker_path: str, max_upload_bytes: int, max_pages: int
) -> list[Hostile]:
    """Every hostile class, for an account with these limits (files are built on first use).

    Args:
        sentinel_url: An http://127.0.0.1 address that must never be requested.
        marker_path: A file that a Launch action would create if anything ran it.
        max_upload_bytes: The account's MaxUploadBytes (one upload goes just past it).
        max_pages: The account's MaxPages (one document is exactly at it, one just past it).

    Returns:
        The classes in a fixed order; names and keys are unique.

    """
    words = sample_texts()

    def keyed(name: str, key: str, note: str) -> Hostile:
        return Hostile(name, key, sample, Completes(SAMPLE_PAGES, words), note)

    def page_failure(reason: str, code: str) -> Fails:
        return Fails(
            "pages", f"1 of 1 pages could not be processed. First failure: page 1: {reason}", (1,), code
        )

    return [
        Hostile(
            "png_named_pdf",
            "scan.pdf",
            _png,
            Fails(
                "split",
                "The file is not a PDF: it does not start with the PDF header '%PDF-'. "
                "It looks like a PNG image.",
            ),
            "a PNG image saved as .pdf",
        ),
        Hostile(
            "zip_named_pdf",
            "report.docx.pdf",
            _zip,
            Fails(
                "split",
                "It looks like a ZIP archive (Word, Excel and PowerPoint files are ZIP archives too).",
            ),
            "a ZIP archive (a Word document) saved as .pdf",
        ),
        Hostile("empty", "empty.pdf", lambda: b"", Fails("split", "The file is empty (0 bytes)."), "0 bytes"),
        Hostile(
            "truncated",
            "truncated.pdf",
            lambda: sample()[: len(sample()) * 6 // 10],
            Fails(
                "split",
                "The PDF is damaged and cannot be read: it looks truncated, "
                "as its end-of-file marker is missing",
            ),
            "the first 60 % of a valid PDF",
        ),
        Hostile(
            "broken_xref_recoverable",
            "broken-xref.pdf",
            _broken_xref_recoverable,
            Completes(SAMPLE_PAGES, words),
            "every xref and startxref offset wrong, objects intact: rebuilt by scanning, as viewers do",
        ),
        Hostile(
            "broken_xref_unrecoverable",
            "garbage-xref.pdf",
            lambda: b"%PDF-1.7\nxref\nthis is not a table\ntrailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n",
            Fails(
                "split",
                "The PDF is damaged and cannot be read: "
                "its structure (cross-reference table or objects) is broken.",
            ),
            "a garbage xref and no object to recover",
        ),
        Hostile(
            "encrypted_user_password",
            "locked.pdf",
            lambda: _encrypted("secret"),
            Fails(
                "split",
                "The PDF is protected by a password. Remove the password (save an unprotected copy) "
                "and upload it again.",
            ),
            "AES-256, opening needs a password",
        ),
        Hostile(
            "encrypted_empty_user_password",
            "owner-only.pdf",
            lambda: _encrypted(""),
            Completes(SAMPLE_PAGES, words),
            "AES-256 with an owner password only: opens with the empty user password",
        ),
        Hostile(
            "page_tree_loop",
            "loop.pdf",
            _page_tree_loop,
            Fails(
                "split",
                "The PDF's page tree refers back to itself (cyclic page references), "
                "so its pages cannot be listed.",
            ),
            "a /Pages node whose kid is its own parent",
        ),
        Hostile(
            "deeply_nested_page_dictionary",
            "nested-page.pdf",
            _deeply_nested_page,
            Fails("split", "The PDF's pages cannot be read"),
            "50,000 nested arrays and 50,000 nested dictionaries in the page dictionary",
        ),
        Hostile(
            "deeply_nested_info",
            "nested-info.pdf",
            _deeply_nested_info,
            Completes(1, ("readable despite nested metadata",)),
            "an info dictionary 50,000 dictionaries deep: the metadata is dropped, the page is read",
        ),
        Hostile(
            "deeply_nested_operands",
            "nested-operands.pdf",
            _deeply_nested_operands,
            page_failure(
                "The text of page 1 cannot be extracted: "
                "its content nests arrays, dictionaries or forms too deeply.",
                "unreadable_text",
            ),
            "a content stream operand 100,000 arrays deep",
        ),
        Hostile(
            "decompression_bomb",
            "bomb.pdf",
            lambda: _bomb(128),
            page_failure("Page 1 was not analysed: its content is larger than", "content_too_large"),
            "a 128 KB content stream that inflates to 128 MiB",
        ),
        Hostile(
            "object_stream_bomb",
            "objstm-bomb.pdf",
            object_stream_bomb,
            Fails("split", "The PDF goes past one of pagefan's safety limits while its pages are listed"),
            "the page tree in an object stream that inflates to 96 MiB",
        ),
        Hostile(
            "text_expansion_bomb",
            "expansion.pdf",
            lambda: text_expansion_page(20_000),
            page_failure(
                "Page 1 was not analysed: its text is 5,120,000 characters long", "content_too_large"
            ),
            "a 3 KB page whose font maps one code to 256 letters, shown 20,000 times",
        ),
        Hostile(
            "form_drawn_over_and_over",
            "form-loop.pdf",
            lambda: _form_drawn_over_and_over(100_000, 20),
            page_failure("Page 1 was not analysed: its text is 2,000,", "content_too_large"),
            "a form of 100,000 letters drawn 20 times: 2 million letters from 1 KB of content",
        ),
        Hostile(
            "millions_of_operators",
            "operators.pdf",
            millions_of_operators,
            page_failure("Page 1 took longer than its", "time_budget"),
            f"a form of {FORM_OPERATORS:,} path operators drawn {FORM_DRAWS:,} times: hours of parsing, "
            "within every limit but time",
        ),
        Hostile(
            "many_text_runs",
            "many-runs.pdf",
            lambda: many_runs(MANY_RUNS),
            Completes(1, ("r0", f"r{MANY_RUNS - 1}")),
            f"{MANY_RUNS:,} text runs on one page: more than MaxSvgElements draws",
        ),
        Hostile(
            "zero_mediabox",
            "zero-box.pdf",
            lambda: one_page(text_content(b"no room"), mediabox=b"[0 0 0 0]"),
            page_failure("Page 1 has an empty or invalid page size.", "damaged_page"),
            "MediaBox [0 0 0 0]",
        ),
        Hostile(
            "enormous_mediabox",
            "huge-box.pdf",
            lambda: one_page(
                text_content(b"a very large page"),
                mediabox=b"[-1000000000 -1000000000 1000000000 1000000000]",
            ),
            Completes(1, ("a very large page",)),
            "MediaBox 2,000,000,000 points on a side",
        ),
        Hostile(
            "inverted_mediabox",
            "inverted-box.pdf",
            lambda: one_page(text_content(b"corners swapped"), mediabox=b"[612 792 0 0]"),
            Completes(1, ("corners swapped",)),
            "MediaBox corners listed top-right first",
        ),
        Hostile(
            "rotated_pages",
            "rotated.pdf",
            _rotated,
            Completes(len(ROTATES), tuple(f"rotated {r}" for r in ROTATES), (0, 90, 180, 270, 270, 0)),
            "/Rotate 0, 90, 180, 270, -90 and 45",
        ),
        Hostile(
            "broken_and_missing_fonts",
            "fonts.pdf",
            _broken_fonts,
            Completes(1, BROKEN_FONT_TEXTS),
            "fonts missing, garbage, a string, half-defined, and one used without being declared",
        ),
        Hostile(
            "javascript_and_launch_actions",
            "actions.pdf",
            lambda: _actions(sentinel_url, marker_path),
            Completes(1, ("actions are never run",)),
            "OpenAction JavaScript, Launch actions, URI and GoToR links, an image stored at a URL",
            never_in_outputs=("JavaScript", "/Launch", "app.launchURL", sentinel_url),
        ),
        Hostile(
            "embedded_files",
            "attachments.pdf",
            _embedded_files,
            Completes(1, ("this page carries attachments",)),
            "an EmbeddedFiles name tree and a FileAttachment annotation",
            never_in_outputs=(EMBEDDED_PAYLOAD, "invoice.exe"),
        ),
        Hostile(
            "rtl_and_cjk_text",
            "rtl-cjk.pdf",
            # Producers write right-to-left text in visual order (the first glyph is the leftmost).
            lambda: unicode_page(*(line[::-1] for line in RTL), *CJK),
            Completes(1, (*RTL, *CJK)),
            "Hebrew and Arabic (in visual order, as producers write them), Japanese, Chinese, Korean",
        ),
        Hostile(
            "markup_and_control_characters",
            "markup.pdf",
            lambda: unicode_page(*MARKUP, f"ctl{CONTROL}end", "tail line"),
            Completes(1, (*MARKUP, "tail line")),
            "<, &, ]]>, <script>, entity lookalikes, C0 controls, U+FFFE/U+FFFF, a lone surrogate, RLO",
        ),
        Hostile(
            "pixel_bomb",
            "pixel-bomb.pdf",
            _pixel_bomb,
            Completes(1, ("a pixel bomb below",)),
            "a 60,000 x 60,000 image declared in a few hundred bytes: drawn as an empty box, never decoded",
        ),
        Hostile(
            "deeply_nested_forms",
            "nested-forms.pdf",
            _deeply_nested_forms,
            Completes(1, ("forms nested forty deep",)),
            "forms nested 40 deep: the first MaxFormDepth (12) levels are drawn",
        ),
        Hostile(
            "self_drawing_form",
            "recursive-form.pdf",
            _self_drawing_form,
            Completes(1, ("before the form", "inside the form")),
            "a form XObject that draws itself and its twin",
        ),
        Hostile(
            "self_referencing_length",
            "length-loop.pdf",
            _self_referencing_length,
            Fails("split", "Page 1 of the PDF is damaged and cannot be copied"),
            "a stream /Length that refers to an object that refers to itself",
        ),
        Hostile(
            "corrupt_compressed_content",
            "corrupt-content.pdf",
            _corrupt_compressed_content,
            Completes(1),
            "content stream marked /FlateDecode that is not zlib data: a blank page, as viewers show it",
        ),
        Hostile(
            "one_bad_page_among_good",
            "one-bad-page.pdf",
            _one_bad_page_among_good,
            Fails(
                "pages",
                "1 of 4 pages could not be processed. First failure: page 3: Page 3 took longer than its",
                (3,),
                "time_budget",
            ),
            "page 3 of 4 is the millions-of-operators page",
        ),
        Hostile(
            AT_MAX_PAGES,
            "at-limit.pdf",
            lambda: blank_pages(max_pages),
            Completes(max_pages),
            f"{max_pages:,} blank pages: exactly MaxPages",
        ),
        Hostile(
            "pages_over_max_pages",
            "over-limit.pdf",
            lambda: blank_pages(max_pages + 1),
            Fails(
                "split",
                f"The PDF has {max_pages + 1} pages; pagefan accepts documents of up to {max_pages} pages "
                "(MaxPages parameter).",
            ),
            f"{max_pages + 1:,} blank pages: one past MaxPages",
        ),
        Hostile(
            "page_tree_of_200000_pages",
            "200k-pages.pdf",
            lambda: repeated_page_tree(200_000),
            Fails(
                "split",
                f"The PDF has more than {max_pages} pages; "
                f"pagefan accepts documents of up to {max_pages} pages (MaxPages parameter).",
            ),
            "one page listed 200,000 times in 1.2 MB: past pypdf's own 100,000-entry limit",
        ),
        Hostile(
            "over_max_upload_bytes",
            "too-big.pdf",
            lambda: _too_large(max_upload_bytes),
            Fails("split", "(MaxUploadBytes parameter)"),
            "a valid PDF padded to one MiB past MaxUploadBytes",
        ),
        keyed("key_traversal", "../../etc/passwd.pdf", "a key that climbs out of its folder"),
        keyed("key_unicode_and_spaces", "répertoire/naïve file ü.pdf", "a key with spaces and accents"),
        keyed("key_url_specials", "a+b %2B c&d=e;f#g?h 100%.pdf", "a key full of URL-encoding specials"),
        keyed("key_very_long", LONG_KEY, "a 900-character key (1,000 bytes of UTF-8)"),
    ]
