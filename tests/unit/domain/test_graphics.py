"""A page's graphics: what the PageWorker reads with pdfium, the limits, the v2 page model, the SVG."""

from __future__ import annotations

import base64
import io
import json
import zlib
from typing import Any
from xml.etree import ElementTree

import pytest
from PIL import Image

from pagefan.domain.analysis import read_page
from pagefan.domain.graphics import GraphicsLimits
from pagefan.domain.pdf_render import _EMPTY_SVG, _fetch_nothing
from pagefan.domain.svg import render_page_svg
from pagefan.errors import FormatVersionError
from pagefan.formats.page_result import PageResult
from pagefan.schemas import validate_page_result
from tests import graphics_fixtures
from tests.pdf_bytes import build_pdf, stream

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"


def _read(pdf: bytes, limits: GraphicsLimits | None = None) -> Any:
    return read_page(pdf, job_id="job", page_number=1, max_content_bytes=10_000_000, limits=limits)


def _svg(pdf: bytes) -> ElementTree.Element:
    analysis = _read(pdf)
    images = {image.sha256: image.data for image in analysis.images}
    svg = render_page_svg(
        analysis.result, title="t", max_elements=1000, images=lambda ref: images.get(ref.sha256)
    )
    return ElementTree.fromstring(svg.encode())


def _one_page(content: bytes, extra: list[bytes], xobjects: bytes = b"") -> bytes:
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /XObject << "
            + xobjects
            + b" >> >> /Contents 4 0 R >>",
            stream(content),
            *extra,
        ]
    )


def test_table_rules_and_fills_are_paths_with_their_colours() -> None:
    page = _read(graphics_fixtures.table()).result
    fills = {graphic.fill for graphic in page.graphics if graphic.fill}
    strokes = [graphic for graphic in page.graphics if graphic.stroke]
    assert {"#334d99", "#e6e6f2"} <= fills  # header and alternate rows
    assert len(strokes) == 5 + 4 + 1  # row rules, column rules, the footnote rule
    assert all(graphic.stroke == "#000000" for graphic in strokes)


def test_curves_dashes_even_odd_fills_and_clipping_are_kept() -> None:
    page = _read(graphics_fixtures.vector_diagram()).result
    assert any("C" in graphic.d for graphic in page.graphics)
    dashed = [graphic for graphic in page.graphics if graphic.dash]
    assert [graphic.dash for graphic in dashed] == [[8.0, 4.0]]
    assert any(graphic.even_odd for graphic in page.graphics)
    clipped = [graphic for graphic in page.graphics if graphic.clips]
    assert clipped and page.clips
    round_capped = [graphic for graphic in page.graphics if graphic.line_cap == "round"]
    assert round_capped and round_capped[0].line_join == "round"


def test_a_reused_form_is_drawn_each_time_with_its_matrix() -> None:
    page = _read(graphics_fixtures.reused_form()).result
    # The form's text is placed with the matrix in force where each copy was drawn.
    assert [(run.x, run.y, run.size) for run in page.runs if run.text == "BADGE"] == [
        (40, 215, 10),
        (165, 212.5, 15),
        (308, 222, 8),
        (120, 90, 20),
    ]
    boxes = [graphic for graphic in page.graphics if graphic.fill == "#338033"]
    assert sorted((graphic.matrix[0], graphic.matrix[4], graphic.matrix[5]) for graphic in boxes) == [
        (0.8, 300, 210),
        (1, 30, 200),
        (1.5, 150, 190),
        (2, 100, 60),
    ]


def test_annotation_appearances_are_drawn_and_links_are_not() -> None:
    page = _read(graphics_fixtures.annotations()).result
    assert [graphic.stroke for graphic in page.graphics if graphic.stroke] == ["#e61a1a"]
    assert [graphic.fill for graphic in page.graphics if graphic.fill] == ["#1a66cc"]
    # The stamp's text is drawn and read (pypdf reads only the page's own content), after the page's text.
    stamp = [run for run in page.runs if run.text == "APPROVED"]
    assert [(run.x, run.y, run.size, run.font, run.colour) for run in stamp] == [
        (242, 73, 18, "Helvetica-Bold", "#ffffff")
    ]
    assert page.text.endswith("Reviewed.\nAPPROVED") and page.words[-1] == "APPROVED"
    root = _svg(graphics_fixtures.annotations())
    assert not [element for element in root.iter() if element.tag in (f"{SVG}a", f"{SVG}script")]


def test_images_are_stored_beside_the_result_and_embedded_as_checked_data_uris() -> None:
    analysis = _read(graphics_fixtures.jpeg_photo())
    [image] = analysis.images
    [graphic] = analysis.result.graphics
    assert graphic.image is not None and graphic.image.sha256 == image.sha256
    assert (graphic.image.width, graphic.image.height) == (320, 200)
    assert image.media_type == "image/jpeg" and image.data.startswith(b"\xff\xd8\xff")
    # The page result holds the reference, never the bytes.
    assert len(json.dumps(analysis.result.to_dict())) < 2000
    [element] = _svg(graphics_fixtures.jpeg_photo()).iter(f"{SVG}image")
    assert element.get(XLINK, "").startswith("data:image/jpeg;base64,")


def test_an_alpha_mask_is_applied_and_kept_as_png_transparency() -> None:
    analysis = _read(graphics_fixtures.png_alpha())
    [image] = analysis.images
    picture = Image.open(io.BytesIO(image.data))
    assert image.media_type == "image/png" and picture.mode == "RGBA"
    assert picture.getpixel((0, 0))[3] == 0 and picture.getpixel((80, 80))[3] == 255


@pytest.mark.parametrize("fixture", ["cmyk-grey-images", "inline-image", "ocr-layer"])
def test_cmyk_grey_and_inline_images_are_decoded(fixture: str) -> None:
    analysis = _read(graphics_fixtures.FIXTURES[fixture]())
    assert analysis.images
    assert all(graphic.image is not None for graphic in analysis.result.graphics if graphic.kind == "image")
    assert analysis.result.omitted == []


def test_text_keeps_its_colour_and_an_ocr_layer_stays_invisible_but_selectable() -> None:
    runs = _read(graphics_fixtures.styled_text()).result.runs
    assert [(run.text.strip(), run.colour) for run in runs[:4]] == [
        ("A bold red heading", "#b20000"),
        ("Blue text, then", "#000099"),
        ("green italic", "#008000"),
        ("back to black.", "#000000"),
    ]
    ocr = _read(graphics_fixtures.ocr_layer()).result
    assert ocr.runs and all(run.invisible for run in ocr.runs)
    texts = [element for element in _svg(graphics_fixtures.ocr_layer()).iter(f"{SVG}text")]
    assert "Total due: 1,204.50 EUR" in [element.text for element in texts]
    assert all(element.get("fill-opacity") == "0" for element in texts)


def test_graphics_and_text_keep_the_pages_painting_order() -> None:
    # GIVEN text, then a white box painted over it, then more text on the box
    pdf = graphics_fixtures._page_pdf(
        b"BT /F1 12 Tf 60 200 Td (covered by the box) Tj ET 0.9 0.9 0.9 rg 50 190 200 40 re f "
        b"BT /F2 12 Tf 60 210 Td (on the box) Tj ET 0 0 1 RG 50 185 m 250 185 l S"
    )
    page = _read(pdf).result
    assert [(run.text, run.texts_before) for run in page.runs] == [
        ("covered by the box", 0),
        ("on the box", 1),
    ]
    assert [graphic.texts_before for graphic in page.graphics] == [1, 2]
    # WHEN it is drawn THEN the SVG paints them in the same order
    root = ElementTree.fromstring(render_page_svg(page, title="t", max_elements=10))
    painted = [
        element.text or element.tag.rsplit("}", 1)[-1]
        for element in root.iter()
        if element.tag in (f"{SVG}text", f"{SVG}path")
    ]
    assert painted == ["covered by the box", "path", "on the box", "path"]


def test_a_shading_is_approximated_by_a_picture_of_its_colours_inside_its_clip() -> None:
    analysis = _read(graphics_fixtures.shading())
    bar, glow = analysis.result.graphics
    assert (bar.matrix, glow.matrix) == ([340, 0, 0, 90, 40, 170], [120, 0, 0, 110, 240, 30])
    assert bar.clips and glow.clips and bar.image is not None
    picture = Image.open(
        io.BytesIO({image.sha256: image.data for image in analysis.images}[bar.image.sha256])
    )
    # red at the left end of the bar, blue at the right: the gradient, not one colour
    left, right = (
        picture.getpixel((2, picture.height // 2)),
        picture.getpixel((picture.width - 3, picture.height // 2)),
    )
    assert left[0] > 180 > left[2] and right[2] > 180 > right[0]
    assert [omission.code for omission in analysis.result.omitted] == ["shading_approximated"]


def test_a_pixel_bomb_is_a_placeholder_with_its_reason_and_the_page_is_still_drawn() -> None:
    # GIVEN a 60,000 x 60,000 image declared in a few hundred bytes
    bomb = zlib.compress(b"\x00" * 1000)
    pdf = _one_page(
        b"q 100 0 0 100 50 50 cm /Im1 Do Q 0 0 1 rg 10 10 20 20 re f",
        [
            stream(
                bomb,
                b"/Type /XObject /Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceRGB "
                b"/BitsPerComponent 8 /Filter /FlateDecode",
            )
        ],
        b"/Im1 5 0 R",
    )
    # WHEN the page is read
    analysis = _read(pdf)
    # THEN the image is not decoded: a box stands in for it, the reason is recorded, the rest is drawn
    assert analysis.images == []
    image, square = analysis.result.graphics
    assert (image.image, image.omitted) == (None, "image_too_many_pixels")
    assert square.fill == "#0000ff"
    [omission] = analysis.result.omitted
    assert omission.code == "image_too_many_pixels" and "60,000 x 60,000" in omission.detail
    assert "(MaxImagePixels parameter" in omission.detail


def test_decoded_image_bytes_per_page_are_bounded() -> None:
    limits = GraphicsLimits(max_image_bytes=320 * 200 * 4 - 1)
    analysis = _read(graphics_fixtures.jpeg_photo(), limits)
    assert analysis.images == []
    assert [omission.code for omission in analysis.result.omitted] == ["image_bytes_per_page"]
    assert "(MaxPageImageBytes parameter)" in analysis.result.omitted[0].detail


def test_path_segments_per_page_are_bounded() -> None:
    analysis = _read(graphics_fixtures.table(), GraphicsLimits(max_path_segments=10))
    assert 0 < len(analysis.result.graphics) < 12
    assert [omission.code for omission in analysis.result.omitted] == ["path_limit"]
    assert "(MaxPagePathSegments parameter)" in analysis.result.omitted[0].detail
    assert analysis.result.runs  # the text is all there


def test_forms_nested_deeper_than_the_limit_are_left_out() -> None:
    assert _read(graphics_fixtures.reused_form(), GraphicsLimits(max_form_depth=1)).result.omitted == []
    deep = _read(graphics_fixtures.reused_form(), GraphicsLimits(max_form_depth=0)).result
    assert deep.graphics == []
    assert [omission.code for omission in deep.omitted] == ["form_depth"]
    assert "(MaxFormDepth parameter)" in deep.omitted[0].detail


def test_a_version_1_page_result_upgrades_to_a_page_without_graphics() -> None:
    v1 = {
        "format_version": 1,
        "job_id": "a" * 64,
        "page_number": 1,
        "width": 612,
        "height": 792,
        "rotation": 0,
        "text": "hello",
        "words": ["hello"],
        "runs": [{"text": "hello", "x": 72, "y": 700, "size": 12, "font": "Helvetica", "angle": 0}],
        "image_count": 0,
    }
    assert validate_page_result(v1)
    page = PageResult.from_dict(v1)
    assert (page.format_version, page.graphics, page.clips, page.omitted) == (2, [], [], [])
    assert (page.runs[0].colour, page.runs[0].invisible) == ("#000000", False)
    upgraded = json.loads(json.dumps(page.to_dict()))
    assert upgraded["format_version"] == 2
    assert validate_page_result(upgraded)
    assert page.to_v1_dict() == v1


@pytest.mark.parametrize("fixture", sorted(graphics_fixtures.FIXTURES))
def test_every_fixtures_page_result_validates_against_the_v2_schema(fixture: str) -> None:
    page = _read(graphics_fixtures.FIXTURES[fixture]()).result
    data = json.loads(json.dumps(page.to_dict()))
    assert validate_page_result(data)
    assert PageResult.from_dict(data) == page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("d", 'M0 0"/><script>alert(1)</script><path d="'),
        ("fill", "red;background:url(http://evil/)"),
        ("stroke", "url(#x)"),
    ],
)
def test_a_page_result_whose_graphics_would_inject_markup_is_rejected(field: str, value: str) -> None:
    data = json.loads(json.dumps(_read(graphics_fixtures.table()).result.to_dict()))
    data["graphics"][0][field] = value
    with pytest.raises(FormatVersionError, match="malformed graphics"):
        PageResult.from_dict(data)


def test_an_image_that_cannot_be_had_is_drawn_as_a_box() -> None:
    page = _read(graphics_fixtures.jpeg_photo()).result
    root = ElementTree.fromstring(render_page_svg(page, title="t", max_elements=10, images=lambda ref: None))
    assert list(root.iter(f"{SVG}image")) == []
    assert len(list(root.iter(f"{SVG}rect"))) == 2  # the background and the box


def test_cairo_reads_only_png_and_jpeg_data_uris() -> None:
    png = io.BytesIO()
    Image.new("RGB", (2, 2)).save(png, "PNG")
    data = png.getvalue()
    encoded = base64.b64encode(data).decode()
    assert _fetch_nothing(f"data:image/png;base64,{encoded}", "image/*") == data
    # An SVG (or anything else) smuggled in a data URI, or labelled as a PNG, is not read.
    svg = base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode()
    assert _fetch_nothing(f"data:image/svg+xml;base64,{svg}", "image/*") == _EMPTY_SVG
    assert _fetch_nothing(f"data:image/png;base64,{svg}", "image/*") == _EMPTY_SVG
    assert _fetch_nothing("file:///etc/passwd", "image/*") == _EMPTY_SVG
