from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pypdf import PageObject, PdfReader, PdfWriter

from pagefan.domain.analysis import analyse_page
from pagefan.domain.pdf_merge import merge_pdf
from pagefan.domain.pdf_render import (
    SvgRun,
    fit_runs,
    render_pdf_pages,
    render_pdf_part,
    svg_rotation,
    svg_to_pdf,
    visual_runs,
)
from pagefan.domain.svg import RIGHT_TO_LEFT_ATTRIBUTES, render_page_svg
from pagefan.errors import PageNotRendered, RendererUnavailable
from pagefan.formats.document import OutlineEntry
from pagefan.formats.page_result import PageResult, TextRun


def page(runs: list[TextRun], *, width: float, height: float, rotation: int = 0) -> PageResult:
    return PageResult("j", 1, width, height, rotation, "", [], runs, 0)


def page_size(pdf: bytes) -> tuple[float, float]:
    """The page's size as displayed: its MediaBox, turned by its /Rotate."""
    [only] = PdfReader(BytesIO(pdf)).pages
    return displayed_size(only)


def displayed_size(page: PageObject) -> tuple[float, float]:
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    return (height, width) if page.rotation % 180 else (width, height)


def blank_pages(count: int) -> list[bytes]:
    """Single-page PDFs whose page width says which page they are (100 + n points)."""
    pages = []
    for number in range(1, count + 1):
        writer = PdfWriter()
        writer.add_blank_page(100 + number, 200)
        out = BytesIO()
        writer.write(out)
        pages.append(out.getvalue())
    return pages


# --- svg_to_pdf ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "rotation", "expected"),
    [
        (612, 792, 0, (612, 792)),
        (595.28, 841.89, 0, (595.28, 841.89)),
        (612, 792, 90, (792, 612)),
        (100.5, 300.25, 0, (100.5, 300.25)),
    ],
)
def test_page_size_is_the_svg_size_in_points(
    width: float, height: float, rotation: int, expected: tuple[float, float]
) -> None:
    svg = render_page_svg(page([], width=width, height=height, rotation=rotation), title="t", max_elements=10)
    assert page_size(svg_to_pdf(svg)) == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_rotated_page_keeps_its_page_box_and_rotate(rotation: int) -> None:
    svg = render_page_svg(page([], width=612, height=792, rotation=rotation), title="t", max_elements=10)
    [rebuilt] = PdfReader(BytesIO(svg_to_pdf(svg))).pages
    assert (float(rebuilt.mediabox.width), float(rebuilt.mediabox.height)) == (612, 792)
    assert rebuilt.rotation == rotation


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_rotated_page_draws_its_runs_where_the_source_has_them(
    sample_pages: list[bytes], rotation: int
) -> None:
    # GIVEN sample page 1 turned by /Rotate, analysed
    writer = PdfWriter()
    writer.add_page(PdfReader(BytesIO(sample_pages[0])).pages[0]).rotate(rotation)
    turned = BytesIO()
    writer.write(turned)
    source = analyse_page(turned.getvalue(), job_id="j", page_number=1, max_content_bytes=10**6)
    # WHEN it is rebuilt through its SVG
    pdf = svg_to_pdf(render_page_svg(source, title="t", max_elements=1000))
    # THEN analysing the rebuilt page finds the same text, at the same places, in the same direction
    rebuilt = analyse_page(pdf, job_id="j", page_number=1, max_content_bytes=10**6)
    assert rebuilt.words == source.words
    assert len(rebuilt.runs) == len(source.runs)
    for got, want in zip(rebuilt.runs, source.runs, strict=True):
        assert (got.x, got.y, got.angle) == pytest.approx((want.x, want.y, want.angle), abs=0.05)


def test_rotation_is_read_from_the_svg_or_given() -> None:
    turned = render_page_svg(page([], width=100, height=200, rotation=270), title="t", max_elements=1)
    assert svg_rotation(turned) == 270
    assert svg_rotation(render_page_svg(page([], width=100, height=200), title="t", max_elements=1)) == 0
    # An explicit rotation wins over the attribute (0: keep the page as displayed).
    assert page_size(svg_to_pdf(turned, rotation=0)) == (200, 100)
    assert PdfReader(BytesIO(svg_to_pdf(turned, rotation=0))).pages[0].rotation == 0


def test_text_can_be_extracted_again(sample_pages: list[bytes], sample_source_words: list[list[str]]) -> None:
    # Page 1 has Helvetica, Times (roman and italic), Courier and accented words.
    result = analyse_page(sample_pages[0], job_id="j", page_number=1, max_content_bytes=10**6)
    pdf = svg_to_pdf(render_page_svg(result, title="t", max_elements=1000))
    assert PdfReader(BytesIO(pdf)).pages[0].extract_text().split() == sample_source_words[0]


def test_external_references_are_not_fetched(tmp_path: Any) -> None:
    # Our SVGs never contain references; even if one did, cairosvg's safe mode must not read it.
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text y="10">SECRET-FILE</text></svg>')
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100pt" height="100pt" viewBox="0 0 100 100">'
        f'<image width="50" height="50" xlink:href="file://{secret}"/><text x="5" y="90">ok</text></svg>'
    )
    text = PdfReader(BytesIO(svg_to_pdf(svg))).pages[0].extract_text()
    assert "SECRET-FILE" not in text
    assert "ok" in text


@pytest.mark.parametrize(
    "failure", [ImportError("No module named 'cairocffi'"), OSError("no library called cairo-2")]
)
def test_missing_cairo_is_renderer_unavailable(monkeypatch: Any, failure: Exception) -> None:
    import builtins

    real_import = builtins.__import__

    def without_cairo(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith(("cairosvg", "cairocffi")):
            raise failure
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "cairosvg", raising=False)
    monkeypatch.setattr(builtins, "__import__", without_cairo)
    with pytest.raises(RendererUnavailable) as caught:
        svg_to_pdf("<svg/>")
    message = str(caught.value)
    assert "CairoLayer (layers/cairo)" in message
    assert str(failure) in message


def test_domain_modules_do_not_import_cairo() -> None:
    # The SvgExporter imports these modules and has no cairo: importing must not load it.
    code = (
        "import sys, pagefan.domain.svg, pagefan.domain.pdf_render, pagefan.domain.pdf_merge, "
        "pagefan.domain.combine; "
        "loaded = [m for m in sys.modules if m.startswith(('cairo', 'cairosvg', 'cairocffi'))]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- merge_pdf ----------------------------------------------------------------------------


def test_the_merge_loads_neither_the_renderer_nor_cairo() -> None:
    # The merge is its own PdfExporter invocation: pypdf only.
    code = (
        "import sys, pagefan.domain.pdf_merge; "
        "loaded = [m for m in sys.modules if m.startswith(('cairo', 'pagefan.domain.pdf_render'))]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_merge_keeps_order_and_returns_count() -> None:
    out = BytesIO()
    assert merge_pdf(iter(blank_pages(4)), metadata={}, outline=[], out=out) == 4
    merged = PdfReader(BytesIO(out.getvalue()))
    assert [float(p.mediabox.width) for p in merged.pages] == [101, 102, 103, 104]


def test_merge_sets_metadata() -> None:
    out = BytesIO()
    metadata = {
        "title": "Report — Q3",
        "author": "Ada",
        "subject": "numbers",
        "keywords": "a, b",
        "creator": "Writer",
        "producer": "not copied",
        "custom": "not copied",
    }
    merge_pdf(blank_pages(1), metadata=metadata, outline=[], out=out)
    info = PdfReader(BytesIO(out.getvalue())).metadata
    assert info is not None
    assert (info.title, info.author, info.subject, info.creator) == (
        "Report — Q3",
        "Ada",
        "numbers",
        "Writer",
    )
    assert info["/Keywords"] == "a, b"
    assert "/Custom" not in info
    assert info.producer != "not copied"


def test_merge_rebuilds_the_outline_and_skips_pageless_entries() -> None:
    outline = [
        OutlineEntry("Part 1", 1, [OutlineEntry("Page 2", 2), OutlineEntry("Gone", 9)]),
        OutlineEntry("Nowhere", None, [OutlineEntry("Lifted", 3)]),
        OutlineEntry("Part 2", 3, [OutlineEntry("Deep", 3, [OutlineEntry("Deeper", 2)])]),
    ]
    out = BytesIO()
    merge_pdf(blank_pages(3), metadata={}, outline=outline, out=out)
    from pagefan.domain.split import document_outline

    reread = document_outline(PdfReader(BytesIO(out.getvalue())))
    assert reread == [
        OutlineEntry("Part 1", 1, [OutlineEntry("Page 2", 2)]),
        OutlineEntry("Lifted", 3),
        OutlineEntry("Part 2", 3, [OutlineEntry("Deep", 3, [OutlineEntry("Deeper", 2)])]),
    ]


def test_merge_of_nothing_is_an_empty_pdf() -> None:
    out = BytesIO()
    assert merge_pdf([], metadata={"title": "x"}, outline=[OutlineEntry("a", 1)], out=out) == 0
    assert len(PdfReader(BytesIO(out.getvalue())).pages) == 0


def test_whole_document_round_trip(
    sample_pages: list[bytes], sample_source_words: list[list[str]], sample_pdf: bytes
) -> None:
    from pagefan.domain.split import document_metadata, document_outline, open_document

    source = open_document(sample_pdf, max_bytes=10**9, max_pages=100)
    results = [
        analyse_page(data, job_id="j", page_number=number, max_content_bytes=10**6)
        for number, data in enumerate(sample_pages, start=1)
    ]
    out = BytesIO()
    count = merge_pdf(
        (svg_to_pdf(render_page_svg(r, title=f"page {r.page_number}", max_elements=1000)) for r in results),
        metadata=document_metadata(source),
        outline=document_outline(source),
        out=out,
    )
    rebuilt = PdfReader(BytesIO(out.getvalue()))
    assert count == len(rebuilt.pages) == 6
    assert [p.extract_text().split() for p in rebuilt.pages] == sample_source_words
    # Same page boxes and /Rotate as the source, so the same size as displayed (page 3 is
    # landscape because of /Rotate 90).
    assert [p.rotation for p in rebuilt.pages] == [p.rotation for p in source.pages] == [0, 0, 90, 0, 0, 0]
    expected = [(612, 792), (595.28, 841.89), (792, 612), (612, 792), (612, 792), (612, 792)]
    for page_number, (got, want) in enumerate(zip(rebuilt.pages, source.pages, strict=True), start=1):
        assert displayed_size(got) == pytest.approx(displayed_size(want), abs=0.01)
        assert displayed_size(got) == pytest.approx(expected[page_number - 1], abs=0.01)
        assert (float(got.mediabox.width), float(got.mediabox.height)) == pytest.approx(
            (float(want.mediabox.width), float(want.mediabox.height)), abs=0.01
        )
    assert document_outline(rebuilt) == document_outline(source)
    assert rebuilt.metadata is not None
    assert rebuilt.metadata.title == "pagefan sample"


# --- parts: render_pdf_part, then merge_pdf of the parts ------------------------------------


def _sample_svgs(sample_pages: list[bytes]) -> list[tuple[int, str]]:
    results = [
        analyse_page(data, job_id="j", page_number=number, max_content_bytes=10**6)
        for number, data in enumerate(sample_pages, start=1)
    ]
    return [
        (r.page_number, render_page_svg(r, title=f"page {r.page_number}", max_elements=1000)) for r in results
    ]


def test_a_part_holds_its_pages_only(sample_pages: list[bytes], sample_source_words: list[list[str]]) -> None:
    out = BytesIO()
    assert render_pdf_part(_sample_svgs(sample_pages)[2:5], out) == 3
    part = PdfReader(BytesIO(out.getvalue()))
    assert [p.extract_text().split() for p in part.pages] == sample_source_words[2:5]
    # Metadata and outline belong to the document: the merge applies them.
    assert part.outline == []
    assert (part.metadata or {}).get("/Title") is None


@pytest.mark.parametrize("pages_per_part", [1, 2, 4, 6])
def test_merged_parts_equal_the_pages_merged_one_by_one(
    sample_pdf: bytes, sample_pages: list[bytes], pages_per_part: int
) -> None:
    from pagefan.domain.split import document_metadata, document_outline, open_document

    source = open_document(sample_pdf, max_bytes=10**9, max_pages=100)
    metadata, outline = document_metadata(source), document_outline(source)
    svgs = _sample_svgs(sample_pages)
    parts = []
    for start in range(0, len(svgs), pages_per_part):
        part = BytesIO()
        render_pdf_part(svgs[start : start + pages_per_part], part)
        parts.append(part.getvalue())
    from_parts, from_pages = BytesIO(), BytesIO()
    assert merge_pdf(parts, metadata=metadata, outline=outline, out=from_parts) == 6
    merge_pdf(render_pdf_pages(svgs), metadata=metadata, outline=outline, out=from_pages)

    def seen(pdf: bytes) -> Any:
        reader = PdfReader(BytesIO(pdf))
        pages = [(displayed_size(p), p.rotation, p.extract_text()) for p in reader.pages]
        return pages, document_metadata(reader), document_outline(reader)

    assert seen(from_parts.getvalue()) == seen(from_pages.getvalue())
    assert seen(from_parts.getvalue())[2] == outline != []


def test_a_page_cairo_cannot_draw_is_named() -> None:
    # An SVG cairosvg cannot read (cut off): that page, and only that one, fails, by number.
    svgs = [(1, render_page_svg(page([], width=612, height=792), title="t", max_elements=10))]
    svgs.append((2, '<svg xmlns="http://www.w3.org/2000/svg" width="612pt" height="792pt"><text'))
    rendered = render_pdf_pages(svgs)
    assert next(rendered)  # page 1 is fine, and is drawn before page 2 is looked at
    with pytest.raises(PageNotRendered, match=r"^Page 2 could not be drawn as PDF \(") as caught:
        next(rendered)
    assert caught.value.__cause__ is not None


def test_a_hostile_font_size_is_drawn_and_leaves_cairo_able_to_draw() -> None:
    # A 10^12-point run makes FreeType fail inside cairo; the SVG caps it at the largest page side.
    huge = page(
        [TextRun("Huge", 72, 700, 1e12, "Helvetica"), TextRun("x", 300, 700, 12, "Helvetica")],
        width=612,
        height=792,
    )
    pdf = svg_to_pdf(render_page_svg(huge, title="t", max_elements=10))
    assert "x" in PdfReader(BytesIO(pdf)).pages[0].extract_text()
    ordinary = page([TextRun("after", 72, 700, 12, "Helvetica")], width=612, height=792)
    pdf = svg_to_pdf(render_page_svg(ordinary, title="t", max_elements=10))
    assert "after" in PdfReader(BytesIO(pdf)).pages[0].extract_text()


# --- fit_runs -----------------------------------------------------------------------------


def wide(run: SvgRun) -> float:
    """A substitute font 0.6 em a character wide."""
    return len(run.text) * run.size * 0.6


def fitted(runs: list[TextRun], measure: Any = wide) -> list[ET.Element]:
    svg = fit_runs(render_page_svg(page(runs, width=612, height=792), title="t", max_elements=100), measure)
    return list(ET.fromstring(svg.encode("utf-8")).iter("{http://www.w3.org/2000/svg}text"))


def test_a_run_too_wide_for_its_room_is_narrowed_to_end_before_the_next() -> None:
    # "Hello " (6 characters at 10 pt) measures 36 pt but the next run starts 30 pt further on.
    first, second = fitted([TextRun("Hello ", 72, 700, 10, "Helvetica"), TextRun("bold", 102, 700, 10, "X")])
    scale = (30 - 0.3 * 10) / 36
    assert first.get("transform") == f"translate(72 92) scale({scale:.4f} 1) translate(-72 -92)"
    assert second.get("transform") is None  # the last run of its line has all the room it needs
    assert (first.text, first.get("x"), first.get("y")) == ("Hello ", "72", "92")


def test_runs_with_room_on_other_lines_or_far_apart_are_left_alone() -> None:
    runs = [
        TextRun("fits", 72, 700, 10, "Helvetica"),  # 24 pt wide, 100 pt of room
        TextRun("next", 172, 700, 10, "Helvetica"),
        TextRun("other line", 72, 680, 10, "Helvetica"),  # the next run is on another line
        TextRun("overprint", 72, 660, 10, "Helvetica"),  # would need less than half its width
        TextRun("x", 80, 660, 10, "Helvetica"),
    ]
    assert [element.get("transform") for element in fitted(runs)] == [None] * 5


def test_a_turned_run_is_narrowed_along_its_own_direction() -> None:
    # Text reading upwards: the next run starts 30 pt higher on the page.
    first, _second = fitted(
        [TextRun("Hello ", 300, 100, 10, "Helvetica", 90), TextRun("bold", 300, 130, 10, "X", 90)]
    )
    scale = (30 - 0.3 * 10) / 36
    assert first.get("transform") == (
        f"rotate(-90 300 692) translate(300 692) scale({scale:.4f} 1) translate(-300 -692)"
    )


def test_cairo_measures_as_it_draws() -> None:
    # With the real measure, a run never overhangs: at most it is narrowed to fit.
    # Eight bold Ws at 12 pt are about 90 pt wide in any font; give them 80.
    runs = [TextRun("WWWWWWWW ", 72, 700, 12, "Helvetica-Bold"), TextRun("i", 152, 700, 12, "Helvetica")]
    first, _second = fitted(runs, None)
    assert "scale(" in (first.get("transform") or "")


def test_arabic_is_measured_by_its_joined_glyphs() -> None:
    # "السلام عليكم" at 12 pt in Noto Sans Arabic: 59 pt joined, 86 pt as isolated letters. With
    # 70 pt of room it fits as cairo draws it, and is left as wide as the source has it.
    runs = [TextRun("السلام عليكم", 72, 700, 12, "Helvetica"), TextRun("x", 142, 700, 12, "Helvetica")]
    first, _second = fitted(runs, None)
    assert first.get("transform") is None


DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


@pytest.mark.skipif(not DEJAVU.is_dir(), reason="the DejaVu fonts are not installed here")
def test_words_survive_substitute_fonts_wider_than_the_source(tmp_path: Path) -> None:
    # GIVEN cairo with DejaVu only (wider than Helvetica and Times, as in a cairo layer built
    # without the metric-compatible Liberation fonts) and lines that change font mid-line
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">'
        f"<fontconfig><dir>{DEJAVU}</dir><cachedir>{tmp_path}/cache</cachedir></fontconfig>"
    )
    code = """
import sys
from io import BytesIO
from pypdf import PdfReader
from pagefan.domain.analysis import analyse_page
from pagefan.domain.pdf_render import svg_to_pdf
from pagefan.domain.split import open_document, split_pages
from pagefan.domain.svg import RIGHT_TO_LEFT_ATTRIBUTES, render_page_svg
from tests.documents import make_sample_pdf, sample_words

reader = open_document(make_sample_pdf(4, seed=7, mixed_fonts=True), max_bytes=10**9, max_pages=10)
for number, data in split_pages(reader):
    page = analyse_page(data, job_id="j", page_number=number, max_content_bytes=10**6)
    pdf = svg_to_pdf(render_page_svg(page, title="t", max_elements=1000))
    words = PdfReader(BytesIO(pdf)).pages[0].extract_text().split()
    if words != sample_words(4, 7, mixed_fonts=True)[number - 1]:
        sys.exit(f"page {number}: {words}")
"""
    # WHEN each page is rebuilt THEN the rebuilt PDF still has every word, none glued to the next
    environment = {**os.environ, "FONTCONFIG_FILE": str(config)}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_cairo_gets_right_to_left_runs_in_visual_order_without_their_svg_direction() -> None:
    # GIVEN runs SVG lays out right to left, one a single letter (its visual order is its own)
    page = PageResult(
        "j",
        1,
        200,
        100,
        0,
        "",
        [],
        [TextRun("א", 20, 50, 12, "Helvetica"), TextRun("אב", 20, 70, 12, "Helvetica")],
        0,
    )
    svg = render_page_svg(page, title="t", max_elements=10)
    assert svg.count(RIGHT_TO_LEFT_ATTRIBUTES) == 2
    # WHEN the SVG is prepared for cairo, which would anchor a right-to-left run's end at its x
    drawn, _ = visual_runs(svg)
    # THEN each run starts at its left edge, in visual order
    assert RIGHT_TO_LEFT_ATTRIBUTES not in drawn
    assert ">א</text>" in drawn and ">בא</text>" in drawn
