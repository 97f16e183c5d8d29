"""Generated one-page PDFs that draw graphics: the fixtures of the visual fidelity test and the bench.

Each fixture is built from raw PDF objects (see tests/pdf_bytes.py) and images that Pillow draws,
so nothing is downloaded and every byte is known. Together they cover what issue 14 lists: a
JPEG photo, a PNG-style image with an alpha mask, CMYK and grey images, an inline image, a table
with rules and fills, a vector diagram with curves, dashes and clipping, a rotated page, a reused
form XObject, coloured and styled text, an OCR-style invisible text layer over a scan,
annotations with appearance streams, and smooth shadings; and forms placed by their /Matrix, one
inside another.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable

from PIL import Image, ImageDraw

from tests.pdf_bytes import build_pdf, stream

_FONTS = (
    b"<< /F1 5 0 R /F2 6 0 R /F3 7 0 R /F4 8 0 R >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Italic /Encoding /WinAnsiEncoding >>",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
)
_FIRST_EXTRA = 9  # objects 1-8: catalog, pages, page, contents, four fonts


def _page_pdf(
    content: bytes,
    *,
    xobjects: dict[str, int] | None = None,
    extra: list[bytes] | None = None,
    page_extra: bytes = b"",
    resources_extra: bytes = b"",
    size: tuple[int, int] = (420, 300),
) -> bytes:
    """A one-page PDF: ``content`` with the four fonts and ``xobjects`` (name -> object number)."""
    names = b"".join(b"/%s %d 0 R " % (name.encode(), number) for name, number in (xobjects or {}).items())
    resources = (
        b"<< /Font "
        + _FONTS[0]
        + (b" /XObject << " + names + b">>" if names else b"")
        + resources_extra
        + b" >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources %s /Contents 4 0 R %s >>"
        % (size[0], size[1], resources, page_extra),
        stream(content),
        *_FONTS[1:],
        *(extra or []),
    ]
    return build_pdf(objects)


def _photo(width: int, height: int) -> Image.Image:
    """A photo-like RGB picture: a sky gradient, a sun, hills and a house."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        shade = int(90 + 130 * y / height)
        draw.line([(0, y), (width, y)], fill=(shade // 2, shade // 2 + 40, 255 - shade // 3))
    draw.ellipse([width * 0.7, height * 0.1, width * 0.85, height * 0.3], fill=(255, 220, 60))
    draw.polygon(
        [
            (0, height),
            (0, height * 0.6),
            (width * 0.4, height * 0.45),
            (width, height * 0.7),
            (width, height),
        ],
        fill=(40, 110, 40),
    )
    draw.rectangle([width * 0.2, height * 0.55, width * 0.35, height * 0.8], fill=(120, 50, 30))
    draw.polygon(
        [(width * 0.18, height * 0.55), (width * 0.275, height * 0.4), (width * 0.37, height * 0.55)],
        fill=(60, 20, 20),
    )
    return image


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _image_xobject(
    data: bytes, width: int, height: int, colour_space: bytes, *, bpc: int = 8, extra: bytes = b""
) -> bytes:
    return stream(
        data,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace %s /BitsPerComponent %d %s"
        % (width, height, colour_space, bpc, extra),
    )


def _text(x: float, y: float, text: bytes, *, font: bytes = b"/F1", size: float = 12) -> bytes:
    return b"BT %s %g Tf %g %g Td (%s) Tj ET\n" % (font, size, x, y, text)


def jpeg_photo() -> bytes:
    """A DCT-encoded colour photo with a caption."""
    photo = _photo(320, 200)
    content = b"q 300 0 0 187.5 60 80 cm /Im1 Do Q\n" + _text(
        60, 50, b"Figure 1: a landscape photographed at noon."
    )
    image = _image_xobject(_jpeg(photo), 320, 200, b"/DeviceRGB", extra=b"/Filter /DCTDecode")
    return _page_pdf(content, xobjects={"Im1": _FIRST_EXTRA}, extra=[image])


def png_alpha() -> bytes:
    """A Flate RGB image with an SMask (a soft-edged disc) over a striped background."""
    size = 160
    colour = Image.new("RGB", (size, size), (200, 30, 30))
    ImageDraw.Draw(colour).rectangle([0, 0, size // 2, size], fill=(30, 30, 200))
    alpha = Image.new("L", (size, size), 0)
    ImageDraw.Draw(alpha).ellipse([10, 10, size - 10, size - 10], fill=255)
    stripes = b"".join(b"0.9 0.8 0.2 rg %d 40 20 220 re f\n" % x for x in range(40, 400, 40))
    content = stripes + b"q 200 0 0 200 110 50 cm /Im1 Do Q\n" + _text(20, 20, b"A disc with an alpha mask.")
    image = _image_xobject(
        zlib.compress(colour.tobytes()),
        size,
        size,
        b"/DeviceRGB",
        extra=b"/Filter /FlateDecode /SMask %d 0 R" % (_FIRST_EXTRA + 1),
    )
    mask = _image_xobject(
        zlib.compress(alpha.tobytes()), size, size, b"/DeviceGray", extra=b"/Filter /FlateDecode"
    )
    return _page_pdf(content, xobjects={"Im1": _FIRST_EXTRA}, extra=[image, mask])


def cmyk_and_grey_images() -> bytes:
    """A CMYK image and a greyscale image side by side."""
    photo = _photo(120, 90)
    cmyk = photo.convert("CMYK")
    grey = photo.convert("L")
    content = b"q 180 0 0 135 20 100 cm /Im1 Do Q\nq 180 0 0 135 220 100 cm /Im2 Do Q\n" + _text(
        20, 70, b"CMYK on the left, grey on the right."
    )
    images = [
        _image_xobject(zlib.compress(cmyk.tobytes()), 120, 90, b"/DeviceCMYK", extra=b"/Filter /FlateDecode"),
        _image_xobject(zlib.compress(grey.tobytes()), 120, 90, b"/DeviceGray", extra=b"/Filter /FlateDecode"),
    ]
    return _page_pdf(content, xobjects={"Im1": _FIRST_EXTRA, "Im2": _FIRST_EXTRA + 1}, extra=images)


def inline_image() -> bytes:
    """An inline image (BI ... ID ... EI) in ASCIIHex, a checkerboard, beside some text."""
    pixels = bytearray()
    for y in range(8):
        for x in range(8):
            pixels += b"\x20\x20\x20" if (x + y) % 2 else b"\xe0\x60\x10"
    content = (
        b"q 160 0 0 160 40 90 cm\nBI /W 8 /H 8 /BPC 8 /CS /RGB /F /AHx ID\n"
        + pixels.hex().encode()
        + b">\nEI Q\n"
        + _text(230, 160, b"An inline checkerboard.")
    )
    return _page_pdf(content)


def table() -> bytes:
    """A three by four table: a filled header row, alternating cell fills, rules between cells."""
    parts = [b"0.2 0.3 0.6 rg 40 220 340 30 re f\n"]
    for row in range(1, 4):
        if row % 2 == 0:
            parts.append(b"0.9 0.9 0.95 rg 40 %d 340 30 re f\n" % (220 - 30 * row))
    parts.append(b"0 0 0 RG 0.8 w\n")
    for row in range(5):
        parts.append(b"40 %d m 380 %d l S\n" % (250 - 30 * row, 250 - 30 * row))
    for x in (40, 153, 266, 380):
        parts.append(b"%d 130 m %d 250 l S\n" % (x, x))
    parts.append(
        b"1 1 1 rg "
        + _text(48, 230, b"Item", font=b"/F2")
        + _text(161, 230, b"Count", font=b"/F2")
        + _text(274, 230, b"Price", font=b"/F2")
    )
    parts.append(b"0 0 0 rg\n")
    for row, (item, count, price) in enumerate(
        [(b"Apples", b"12", b"3.40"), (b"Pears", b"7", b"2.10"), (b"Plums", b"30", b"5.75")], start=1
    ):
        y = 230 - 30 * row
        parts.append(_text(48, y, item) + _text(161, y, count) + _text(274, y, price))
    parts.append(b"0.5 w 40 100 m 200 100 l S\n" + _text(40, 85, b"1 Prices as of today.", size=8))
    return _page_pdf(b"".join(parts))


def vector_diagram() -> bytes:
    """Curves, dashes, caps and joins, an even-odd star, and a clipped fill."""
    star = []
    for index in range(5):
        angle = math.pi / 2 + index * 4 * math.pi / 5
        star.append((320 + 60 * math.cos(angle), 180 + 60 * math.sin(angle)))
    star_path = b"%.2f %.2f m " % star[0] + b"".join(b"%.2f %.2f l " % point for point in star[1:]) + b"h"
    content = (
        b"0 0.5 0 RG 4 w 1 J 1 j 30 40 m 80 250 150 -20 200 200 c S\n"
        b"0.7 0 0 RG 2 w [8 4] 0 d 30 270 m 230 270 l S [] 0 d\n"
        b"0.8 0.2 0.8 rg " + star_path + b" f*\n"
        b"q 40 60 120 60 re W n 0.1 0.6 0.9 rg 100 90 60 0 360 0 0 0 re f\n"
        b"80 60 m 180 60 180 160 80 160 c 30 160 30 60 80 60 c f Q\n"
        b"0 0 0 RG 1 w 250 40 m 400 40 l 400 100 l 250 100 l h S\n" + _text(260, 60, b"Figure 2", font=b"/F2")
    )
    return _page_pdf(content)


def rotated_page() -> bytes:
    """A page with /Rotate 90: a framed box, a filled circle and a heading."""
    content = (
        b"0 0 0 RG 2 w 30 30 360 240 re S\n"
        b"0.9 0.4 0.1 rg 210 150 m 210 183 183 210 150 210 c 117 210 90 183 90 150 c "
        b"90 117 117 90 150 90 c 183 90 210 117 210 150 c f\n"
        + _text(240, 200, b"Rotated page", font=b"/F2", size=16)
    )
    return _page_pdf(content, page_extra=b"/Rotate 90")


def reused_form() -> bytes:
    """One form XObject (a badge: a filled rounded shape and a label) drawn four times."""
    form = stream(
        b"0.2 0.5 0.2 rg 0 0 80 40 re f 1 1 1 rg BT /F2 10 Tf 10 15 Td (BADGE) Tj ET\n",
        b"/Type /XObject /Subtype /Form /BBox [0 0 80 40] /Resources << /Font << /F2 6 0 R >> >>",
    )
    content = b"".join(
        b"q %g 0 0 %g %d %d cm /Fm1 Do Q\n" % (scale, scale, x, y)
        for scale, x, y in ((1, 30, 200), (1.5, 150, 190), (0.8, 300, 210), (2, 100, 60))
    )
    return _page_pdf(
        content + _text(260, 80, b"Four badges, one form."), xobjects={"Fm1": _FIRST_EXTRA}, extra=[form]
    )


def form_matrix() -> bytes:
    """A form scaled and moved by its /Matrix, holding a form with a /Matrix of its own, drawn twice.

    The outer form (a blue label) doubles its space; the inner one (an orange tag) scales its own
    by 1.5. The outer form is drawn at full size, then at three quarters of it.
    """
    first = _FIRST_EXTRA
    outer = stream(
        b"0.2 0.3 0.8 rg 0 0 90 36 re f 1 1 1 rg BT /F2 8 Tf 5 24 Td (Scaled) Tj ET\n"
        b"q 1 0 0 1 20 2 cm /In Do Q\n",
        b"/Type /XObject /Subtype /Form /BBox [0 0 90 36] /Matrix [2 0 0 2 10 5] "
        b"/Resources << /Font << /F2 6 0 R >> /XObject << /In %d 0 R >> >>" % (first + 1),
    )
    inner = stream(
        b"0.9 0.6 0.1 rg 0 0 40 12 re f 0 0 0 rg BT /F1 8 Tf 3 3 Td (inner) Tj ET\n",
        b"/Type /XObject /Subtype /Form /BBox [0 0 40 12] /Matrix [1.5 0 0 1.5 5 0] "
        b"/Resources << /Font << /F1 5 0 R >> >>",
    )
    content = (
        _text(30, 270, b"One form, scaled by its own matrix, drawn twice.")
        + b"q 1 0 0 1 20 180 cm /Fm1 Do Q\nq 0.75 0 0 0.75 230 40 cm /Fm1 Do Q\n"
    )
    return _page_pdf(content, xobjects={"Fm1": first}, extra=[outer, inner])


def styled_text() -> bytes:
    """Text in colours, weights, italics and a monospaced font, with a font change mid-line."""
    content = (
        b"BT /F2 20 Tf 0.7 0 0 rg 30 250 Td (A bold red heading) Tj ET\n"
        b"BT /F1 12 Tf 0 0 0.6 rg 30 210 Td (Blue text, then ) Tj /F3 12 Tf 0 0.5 0 rg (green italic) Tj "
        b"/F1 12 Tf 0 0 0 rg ( back to black.) Tj ET\n"
        b"BT /F4 11 Tf 0.4 g 30 180 Td (grey monospaced code();) Tj ET\n"
        b"BT /F1 14 Tf 0 0 0 rg 1 0 0 RG 1 Tr 30 140 Td (Outlined red text) Tj ET\n"
        b"BT /F3 16 Tf 0 0 0 1 k 30 100 Td (CMYK black italic) Tj ET\n"
    )
    return _page_pdf(content)


def ocr_layer() -> bytes:
    """A scanned page (a grey image with rendered text) under an invisible, selectable text layer."""
    scan = Image.new("L", (420, 300), 245)
    draw = ImageDraw.Draw(scan)
    lines = ["Scanned invoice 2024-117", "Total due: 1,204.50 EUR", "Thank you for your order."]
    for index, line in enumerate(lines):
        draw.text((40, 60 + 60 * index), line, fill=20, font_size=24)
    content = (
        b"q 420 0 0 300 0 0 cm /Im1 Do Q\nBT 3 Tr /F1 18 Tf\n"
        + b"".join(
            b"1 0 0 1 40 %d Tm (%s) Tj\n" % (300 - 60 - 60 * index - 18, line.encode())
            for index, line in enumerate(lines)
        )
        + b"ET\n"
    )
    image = _image_xobject(_jpeg(scan), 420, 300, b"/DeviceGray", extra=b"/Filter /DCTDecode")
    return _page_pdf(content, xobjects={"Im1": _FIRST_EXTRA}, extra=[image])


def annotations() -> bytes:
    """Page text plus a Square and a Stamp annotation drawn by their appearance streams, and a link."""
    square_ap = stream(
        b"0.9 0.1 0.1 RG 3 w 2 2 116 56 re S\n", b"/Type /XObject /Subtype /Form /BBox [0 0 120 60]"
    )
    stamp_ap = stream(
        b"0.1 0.4 0.8 rg 0 0 140 40 re f 1 1 1 rg BT /F2 18 Tf 12 13 Td (APPROVED) Tj ET\n",
        b"/Type /XObject /Subtype /Form /BBox [0 0 140 40] /Resources << /Font << /F2 6 0 R >> >>",
    )
    first = _FIRST_EXTRA
    annots = [
        b"<< /Type /Annot /Subtype /Square /Rect [40 150 160 210] /F 4 /AP << /N %d 0 R >> >>" % (first + 3),
        b"<< /Type /Annot /Subtype /Stamp /Rect [230 60 370 100] /F 4 /AP << /N %d 0 R >> >>" % (first + 4),
        b"<< /Type /Annot /Subtype /Link /Rect [40 240 200 260] /Border [0 0 0] "
        b"/A << /S /URI /URI (https://example.com/) >> >>",
    ]
    content = _text(40, 245, b"A link, a square note and a stamp.") + _text(180, 175, b"Reviewed.")
    return _page_pdf(
        content,
        extra=[*annots, square_ap, stamp_ap],
        page_extra=b"/Annots [%d 0 R %d 0 R %d 0 R]" % (first, first + 1, first + 2),
    )


def shading() -> bytes:
    """An axial red-to-blue shading painted through a clip (sh), and a radial one under a label."""
    axial = (
        b"<< /ShadingType 2 /ColorSpace /DeviceRGB /Coords [40 0 380 0] /Extend [true true] "
        b"/Function << /FunctionType 2 /Domain [0 1] /C0 [0.9 0.1 0.1] /C1 [0.1 0.1 0.9] /N 1 >> >>"
    )
    radial = (
        b"<< /ShadingType 3 /ColorSpace /DeviceGray /Coords [300 80 0 300 80 60] /Extend [false true] "
        b"/Function << /FunctionType 2 /Domain [0 1] /C0 [0.1] /C1 [0.9] /N 1 >> >>"
    )
    content = b"q 40 170 340 90 re W n /Sh1 sh Q\nq 240 30 120 110 re W n /Sh2 sh Q\n" + _text(
        40, 80, b"Two shadings: a gradient bar and a radial glow."
    )
    return _page_pdf(content, resources_extra=b" /Shading << /Sh1 " + axial + b" /Sh2 " + radial + b" >>")


FIXTURES: dict[str, Callable[[], bytes]] = {
    "jpeg-photo": jpeg_photo,
    "png-alpha": png_alpha,
    "cmyk-grey-images": cmyk_and_grey_images,
    "inline-image": inline_image,
    "table": table,
    "vector-diagram": vector_diagram,
    "rotated-page": rotated_page,
    "reused-form": reused_form,
    "form-matrix": form_matrix,
    "styled-text": styled_text,
    "ocr-layer": ocr_layer,
    "annotations": annotations,
    "shading": shading,
}
"""Fixture name -> function that builds its one-page PDF."""
