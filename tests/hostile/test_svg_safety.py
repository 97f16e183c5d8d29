"""SVG output is well-formed XML whatever the PDF's text holds, and cairo never fetches anything.

The second half renders SVGs that reference a sentinel HTTP server on 127.0.0.1 in every way
SVG and CSS allow (our SVGs never do: this is the defence behind that) and checks that the
server saw no request, then that it was listening all along.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from io import BytesIO
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from pagefan.domain.pdf_render import svg_to_pdf
from pagefan.domain.svg import FONT_FAMILIES, render_page_svg
from pagefan.formats.page_result import PageResult, TextRun
from tests.hostile.generator import CONTROL, MARKUP
from tests.hostile.sentinel import Sentinel, SentinelServer, probe

# Any code point, lone surrogates and the XML-forbidden ones included, plus known troublemakers.
_ANY_CHARACTER = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
_HOSTILE_TEXT = st.one_of(
    st.text(_ANY_CHARACTER, max_size=40),
    st.lists(
        st.sampled_from([*MARKUP, *CONTROL, "]]>", "<!--", "-->", "<?xml", "&#x0;", '"', "'"]), max_size=8
    ).map("".join),
)
_ALLOWED_TAGS = {"svg", "title", "rect", "g", "text"}


def _page(texts: list[str], fonts: list[str], rotation: int) -> PageResult:
    runs = [
        TextRun(text=text, x=10.0 + index, y=700.0 - 12 * index, size=10.0, font=font, angle=0.0)
        for index, (text, font) in enumerate(zip(texts, fonts, strict=False))
    ]
    return PageResult(
        job_id="j",
        page_number=1,
        width=612.0,
        height=792.0,
        rotation=rotation,
        text="\n".join(texts),
        words=[],
        runs=runs,
        image_count=0,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    texts=st.lists(_HOSTILE_TEXT, min_size=1, max_size=6),
    fonts=st.lists(_HOSTILE_TEXT, min_size=6, max_size=6),
    title=_HOSTILE_TEXT,
    rotation=st.sampled_from([0, 90, 180, 270]),
)
def test_any_text_gives_well_formed_svg_with_nothing_but_drawing_elements(
    texts: list[str], fonts: list[str], title: str, rotation: int
) -> None:
    svg = render_page_svg(_page(texts, fonts, rotation), title=title, max_elements=4)
    root = ElementTree.fromstring(svg.encode("utf-8"))
    assert {element.tag.rsplit("}", 1)[-1] for element in root.iter()} <= _ALLOWED_TAGS
    assert not [name for element in root.iter() for name in element.attrib if "href" in name]
    # The font name never reaches the SVG: only generic families do
    # (a run in Arabic, Hebrew or a CJK script gets a font that covers it in front of them).
    assert {
        element.get("font-family") for element in root.iter() if element.get("font-family")
    } <= FONT_FAMILIES


@settings(max_examples=25, deadline=None)
@given(texts=st.lists(_HOSTILE_TEXT, min_size=1, max_size=4), title=_HOSTILE_TEXT)
def test_cairo_renders_any_such_svg(texts: list[str], title: str) -> None:
    svg = render_page_svg(_page(texts, ["Helvetica"] * len(texts), 0), title=title, max_elements=10)
    assert len(PdfReader(BytesIO(svg_to_pdf(svg))).pages) == 1


def _references(url: str) -> dict[str, str]:
    """SVG documents that each reference ``url`` one way."""
    head = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100pt" height="100pt" viewBox="0 0 100 100">'
    )
    tail = '<text x="5" y="90">drawn</text></svg>'
    bodies = {
        "image_xlink_href": f'<image width="50" height="50" xlink:href="{url}/image.png"/>',
        "image_href": f'<image width="50" height="50" href="{url}/image.svg"/>',
        "css_import": f'<style>@import url("{url}/import.css");</style>',
        "css_font_face": (
            f"<style>@font-face {{ font-family: Remote; src: url({url}/font.ttf); }}"
            " text { font-family: Remote; }</style>"
        ),
        "use_external": f'<use xlink:href="{url}/sprite.svg#icon"/>',
        "fill_paint_server": f'<rect width="10" height="10" style="fill: url({url}/paint.svg#gradient)"/>',
        "fe_image": (
            f'<filter id="f"><feImage xlink:href="{url}/filter.png"/></filter>'
            '<rect width="10" height="10" filter="url(#f)"/>'
        ),
        "tref": f'<text x="5" y="20"><tref xlink:href="{url}/text.svg#t"/></text>',
        "link": f'<a xlink:href="{url}/link"><text x="5" y="40">link</text></a>',
        "mask_and_clip": (
            f'<rect width="10" height="10" mask="url({url}/mask.svg#m)" clip-path="url({url}/clip.svg#c)"/>'
        ),
        "pattern_href": (
            f'<defs><pattern id="p" xlink:href="{url}/pattern.svg#q"/></defs>'
            '<rect width="10" height="10" fill="url(#p)"/>'
        ),
    }
    documents = {name: head + body + tail for name, body in bodies.items()}
    documents["xml_stylesheet"] = (
        f'<?xml version="1.0"?><?xml-stylesheet type="text/css" href="{url}/pi.css"?>' + head + tail
    )
    return documents


@pytest.fixture(scope="module")
def sentinel() -> Iterator[Sentinel]:
    with SentinelServer(lifetime=120) as running:
        yield running


# cairosvg gives up on a <tref> whose target it cannot find (the fetch gave it an empty SVG).
_REFUSED = {"tref": "No tag with id"}


@pytest.mark.parametrize("kind", list(_references("http://127.0.0.1:9")))
def test_cairo_fetches_nothing_an_svg_references(sentinel: Sentinel, kind: str) -> None:
    svg = _references(sentinel.url)[kind]
    if kind in _REFUSED:
        with pytest.raises(TypeError, match=_REFUSED[kind]):
            svg_to_pdf(svg)
    else:
        assert "drawn" in PdfReader(BytesIO(svg_to_pdf(svg))).pages[0].extract_text()
    assert sentinel.requests == []


def test_the_references_are_real_an_unguarded_cairosvg_fetches_them() -> None:
    # The control: cairosvg with unsafe=True and its default fetcher does request these URLs,
    # so the test above would see a request if pagefan's renderer made one.
    import cairosvg

    with SentinelServer(lifetime=60) as other:
        for kind in ("image_xlink_href", "image_href", "use_external"):
            with contextlib.suppress(Exception):  # what comes back is not a valid image or SVG
                cairosvg.surface.PDFSurface.convert(
                    bytestring=_references(other.url)[kind].encode(), unsafe=True
                )
        fetched = sorted(request.path for request in other.requests)
    assert fetched == ["/image.png", "/image.svg", "/sprite.svg"]


def test_an_external_entity_is_refused_not_resolved(sentinel: Sentinel) -> None:
    svg = (
        f'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY remote SYSTEM "{sentinel.url}/entity">]>'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="10pt"><text y="5">&remote;</text></svg>'
    )
    with pytest.raises(Exception, match=r"(?i)entit"):
        svg_to_pdf(svg)
    assert sentinel.requests == []


def test_the_sentinel_was_listening_all_along(sentinel: Sentinel) -> None:
    # Runs last in this module: without it, a sentinel that never listened would pass the above.
    probe(sentinel)
    assert [request.path for request in sentinel.requests] == ["/probe"]
