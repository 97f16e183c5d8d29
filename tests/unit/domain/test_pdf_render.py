from __future__ import annotations

import subprocess
import sys
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from pagefan.domain.analysis import analyse_page
from pagefan.domain.pdf_render import merge_pdf, svg_to_pdf
from pagefan.domain.svg import render_page_svg
from pagefan.errors import RendererUnavailable
from pagefan.formats import OutlineEntry, PageResult, TextRun


def page(runs: list[TextRun], *, width: float, height: float, rotation: int = 0) -> PageResult:
    return PageResult("j", 1, width, height, rotation, "", [], runs, 0)


def page_size(pdf: bytes) -> tuple[float, float]:
    [only] = PdfReader(BytesIO(pdf)).pages
    return float(only.mediabox.width), float(only.mediabox.height)


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
        "import sys, pagefan.domain.svg, pagefan.domain.pdf_render, pagefan.domain.combine; "
        "loaded = [m for m in sys.modules if m.startswith(('cairo', 'cairosvg', 'cairocffi'))]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- merge_pdf ----------------------------------------------------------------------------


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
    # Same page sizes as the source, as displayed (page 3 is landscape because of /Rotate 90).
    assert [
        (round(float(p.mediabox.width), 1), round(float(p.mediabox.height), 1)) for p in rebuilt.pages
    ] == [
        (612, 792),
        (595.3, 841.9),
        (792, 612),
        (612, 792),
        (612, 792),
        (612, 792),
    ]
    assert document_outline(rebuilt) == document_outline(source)
    assert rebuilt.metadata is not None
    assert rebuilt.metadata.title == "pagefan sample"
