"""The pypdf graphics prototype (benchmarks/pypdf_graphics.py), weighed against pdfium by engine.py.

Its figures are only worth comparing if it reads the fixtures as pdfium does; these tests hold it to that,
and to the few operator rules it could get wrong quietly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pagefan.domain.graphics import GraphicsLimits, PageGraphics
from pagefan.domain.graphics import read_graphics as read_with_pdfium
from pagefan.formats.page_result import OmissionCode
from tests.graphics_fixtures import FIXTURES
from tests.pdf_bytes import build_pdf, stream

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))

from pypdf_graphics import read_graphics


def _read(pdf: bytes, reader: Callable[..., PageGraphics] = read_graphics) -> PageGraphics:
    return reader(pdf, left=0, bottom=0, width=200, height=200, limits=GraphicsLimits())


def _page(
    content: bytes, *, resources: bytes = b"", extra: list[bytes] | None = None, page: bytes = b""
) -> bytes:
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << %s >> /Contents 4 0 R %s >>"
            % (resources, page),
            stream(content),
            *(extra or []),
        ]
    )


@pytest.mark.parametrize("name", [name for name in FIXTURES if name != "shading"])
def test_each_fixture_reads_as_pdfium_reads_it(name: str) -> None:
    # GIVEN a fixture WHEN both engines read it THEN the same elements come out, in the same order and places
    pdf = FIXTURES[name]()
    ours, theirs = _read(pdf), _read(pdf, read_with_pdfium)

    def shape(found: PageGraphics) -> list[tuple[object, ...]]:
        return [
            (
                graphic.kind,
                graphic.matrix,
                graphic.fill,
                graphic.stroke,
                graphic.line_width,
                graphic.dash,
                graphic.even_odd,
                graphic.texts_before,
                graphic.image and (graphic.image.width, graphic.image.height, graphic.image.media_type),
            )
            for graphic in found.graphics
        ]

    assert shape(ours) == shape(theirs)


def test_a_shading_is_painted_in_its_average_colour_inside_its_clip() -> None:
    found = _read(FIXTURES["shading"]())

    axial = found.graphics[0]
    # Between (0.9, 0.1, 0.1) and (0.1, 0.1, 0.9): green is 25.5 of 255, which rounds either way with the
    # last bit of the float sum (Python 3.11 and 3.13 differ), so each channel is held to within one step.
    assert axial.kind == "path" and axial.fill is not None
    channels = [int(axial.fill[i : i + 2], 16) for i in (1, 3, 5)]
    assert all(abs(got - want) <= 1 for got, want in zip(channels, (128, 25.5, 128), strict=True)), axial.fill
    assert found.clips[axial.clips[0]] == "M40 170L380 170L380 260L40 260Z"
    assert [omission.code for omission in found.omitted] == [OmissionCode.SHADING_APPROXIMATED]


def test_an_operator_takes_its_operands_from_the_top_of_the_stack() -> None:
    found = _read(_page(b"1 0 0 rg 9 9 10 20 30 40 re f"))

    assert found.graphics[0].d == "M10 20L40 20L40 60L10 60Z"


def test_a_path_ends_at_its_painting_operator_even_when_it_cannot_be_drawn() -> None:
    # GIVEN a clip with a pattern colour that is not painted, then a plain fill
    found = _read(_page(b"q 0 0 100 100 re W n /Pattern cs /P0 scn 0 0 50 50 re f Q 0 g 60 60 10 10 re f"))

    assert [graphic.d for graphic in found.graphics] == ["M60 60L70 60L70 70L60 70Z"]
    assert found.graphics[0].clips == []
    assert found.clips == ["M0 0L100 0L100 100L0 100Z"]


def test_a_form_is_clipped_to_its_bbox_and_an_annotation_mapped_onto_its_rect() -> None:
    appearance = stream(b"0 0 1 rg 0 0 10 10 re f", b"/Type /XObject /Subtype /Form /BBox [0 0 10 10]")
    pdf = _page(
        b"",
        extra=[b"<< /Type /Annot /Subtype /Square /Rect [100 100 140 120] /AP << /N 6 0 R >> >>", appearance],
        page=b"/Annots [5 0 R]",
    )

    found = _read(pdf)

    assert found.graphics[0].matrix == [4.0, 0.0, 0.0, 2.0, 100.0, 100.0]
    assert found.clips == ["M100 100L140 100L140 120L100 120Z"]


def test_an_image_pypdf_cannot_decode_is_an_empty_box_and_the_page_is_still_read() -> None:
    # GIVEN a JBIG2 image (pypdf hands JBIG2 to the jbig2dec program, when there is one) of junk bytes
    image = stream(
        b"not jbig2 at all",
        b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray /BitsPerComponent 1 "
        b"/Filter /JBIG2Decode",
    )
    pdf = _page(
        b"q 50 0 0 50 0 0 cm /Im1 Do Q 0 g 60 60 10 10 re f",
        extra=[image],
        resources=b"/XObject << /Im1 5 0 R >>",
    )

    found = _read(pdf)

    assert [(graphic.kind, graphic.omitted) for graphic in found.graphics] == [
        ("image", OmissionCode.IMAGE_UNDECODABLE),
        ("path", None),
    ]
