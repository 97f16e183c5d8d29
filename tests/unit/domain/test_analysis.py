from __future__ import annotations

import json
import time
import zlib
from typing import Any

import pytest
from pypdf import PageObject
from pypdf.errors import LimitReachedError
from pypdf.generic import DecodedStreamObject

from pagefan.domain import content_limits, stand_in_fonts
from pagefan.domain.analysis import analyse_page
from pagefan.domain.text_runs import clean_text, font_name, run_text
from pagefan.errors import PageFailed
from pagefan.formats.page_result import PageResult, TextRun
from pagefan.formats.versions import dumps
from tests.hostile.generator import many_runs, text_expansion_page

LIMIT = 1_000_000
IMAGE = (
    b"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray "
    b"/BitsPerComponent 8 /Length 1 >>\nstream\n\x00\nendstream"
)


def analyse(data: bytes, max_content_bytes: int = LIMIT) -> PageResult:
    return analyse_page(data, job_id="job-1", page_number=7, max_content_bytes=max_content_bytes)


def failure(data: bytes, max_content_bytes: int = LIMIT) -> PageFailed:
    with pytest.raises(PageFailed) as caught:
        analyse(data, max_content_bytes)
    return caught.value


def only_run(result: PageResult) -> TextRun:
    assert len(result.runs) == 1, result.runs
    return result.runs[0]


# --- runs ---------------------------------------------------------------------------------


def test_run_position_size_and_font(pdfs: Any) -> None:
    result = analyse(pdfs.one_page(b"BT /F1 12 Tf 72 700 Td (Hello world) Tj ET"))
    run = only_run(result)
    assert run.text == "Hello world"
    assert (run.x, run.y, run.size, run.angle) == pytest.approx((72, 700, 12, 0), abs=0.01)
    assert run.font == "Helvetica"
    assert (result.job_id, result.page_number) == ("job-1", 7)


def test_subset_prefix_is_dropped(pdfs: Any) -> None:
    result = analyse(pdfs.one_page(b"BT /F1 9 Tf 10 10 Td (x) Tj ET", base_font=b"ABCDEF+Helvetica-Bold"))
    assert only_run(result).font == "Helvetica-Bold"


def test_ctm_scales_and_moves_the_run(pdfs: Any) -> None:
    # cm doubles everything and moves the origin: (36, 350) in text space is (82, 720) on the page.
    result = analyse(pdfs.one_page(b"q 2 0 0 2 10 20 cm BT /F1 6 Tf 36 350 Td (Scaled) Tj ET Q"))
    run = only_run(result)
    assert (run.x, run.y, run.size) == pytest.approx((82, 720, 12), abs=0.01)


def test_text_matrix_gives_the_size(pdfs: Any) -> None:
    result = analyse(pdfs.one_page(b"BT /F1 1 Tf 14 0 0 14 100 500 Tm (Big) Tj ET"))
    run = only_run(result)
    assert (run.x, run.y, run.size) == pytest.approx((100, 500, 14), abs=0.01)


@pytest.mark.parametrize(
    ("matrix", "angle"),
    [(b"0 1 -1 0", 90), (b"-1 0 0 -1", 180), (b"0 -1 1 0", -90), (b"0.8660254 0.5 -0.5 0.8660254", 30)],
)
def test_text_direction_angle(pdfs: Any, matrix: bytes, angle: float) -> None:
    result = analyse(pdfs.one_page(b"BT /F1 12 Tf " + matrix + b" 300 400 Tm (Turned) Tj ET"))
    run = only_run(result)
    assert run.angle == pytest.approx(angle, abs=0.01)
    assert (run.x, run.y, run.size) == pytest.approx((300, 400, 12), abs=0.01)


def test_lines_become_runs_in_reading_order(pdfs: Any) -> None:
    content = b"BT /F1 12 Tf 14 TL 72 700 Td (line one) Tj T* (line two) Tj 0 -14 Td (three) Tj ET"
    result = analyse(pdfs.one_page(content))
    assert [(run.text, run.y) for run in result.runs] == [
        ("line one", 700),
        ("line two", 686),
        ("three", 672),
    ]
    assert result.words == ["line", "one", "line", "two", "three"]


def test_whitespace_only_runs_are_dropped(pdfs: Any) -> None:
    content = b"BT /F1 12 Tf 72 700 Td (   ) Tj ET BT /F1 12 Tf 72 600 Td (kept) Tj ET"
    assert [run.text for run in analyse(pdfs.one_page(content)).runs] == ["kept"]


def test_positions_are_relative_to_the_media_box_corner(pdfs: Any) -> None:
    data = pdfs.one_page(b"BT /F1 12 Tf 150 250 Td (Offset) Tj ET", mediabox=b"[100 200 400 600]")
    result = analyse(data)
    assert (result.width, result.height) == (300, 400)
    run = only_run(result)
    assert (run.x, run.y) == pytest.approx((50, 50), abs=0.01)


def two_fonts(pdfs: Any, content: bytes) -> bytes:
    """A Letter page with /F1 Helvetica and /F2 Times-Bold (standard 14: pypdf knows their widths)."""
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
    return pdfs.build(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 4 0 R /F2 6 0 R >> >> /Contents 5 0 R >>",
            font % b"Helvetica",
            pdfs.stream(content),
            font % b"Times-Bold",
        ]
    )


# Advance of Helvetica "Hello " at 10 pt, from its AFM widths: (722 + 556 + 222 + 222 + 556 + 278) / 100.
HELLO_SPACE = 25.56


def test_a_run_after_a_font_change_starts_where_the_line_stopped(pdfs: Any) -> None:
    # GIVEN a line that changes font in the middle, without moving the text position
    content = b"BT /F1 10 Tf 72 700 Td (Hello ) Tj /F2 10 Tf (bold) Tj /F1 10 Tf ( world) Tj ET"
    result = analyse(two_fonts(pdfs, content))
    # THEN each run starts where the previous one's glyphs ended, not back at the line start
    assert [(run.text, run.font) for run in result.runs] == [
        ("Hello ", "Helvetica"),
        ("bold", "Times-Bold"),
        (" world", "Helvetica"),
    ]
    bold = (556 + 500 + 278 + 556) / 100  # Times-Bold b o l d at 10 pt
    assert [run.x for run in result.runs] == pytest.approx([72, 72 + HELLO_SPACE, 72 + HELLO_SPACE + bold])
    assert {run.y for run in result.runs} == {700}
    assert result.words == ["Hello", "bold", "world"]


def test_an_explicitly_placed_run_keeps_its_position(pdfs: Any) -> None:
    content = b"BT /F1 10 Tf 72 700 Td (Hello) Tj /F2 10 Tf 200 0 Td (there) Tj ET"
    assert [run.x for run in analyse(two_fonts(pdfs, content)).runs] == pytest.approx([72, 272])


def test_a_new_line_starts_at_its_own_position(pdfs: Any) -> None:
    content = b"BT 14 TL /F1 10 Tf 72 700 Td (Hello ) Tj /F2 10 Tf (bold) Tj T* (next) Tj ET"
    runs = analyse(two_fonts(pdfs, content)).runs
    assert [(run.text, run.x, run.y) for run in runs] == [
        ("Hello ", 72, 700),
        ("bold", pytest.approx(72 + HELLO_SPACE), 700),
        ("next", 72, 686),
    ]


def test_a_font_change_in_turned_text_follows_the_text_direction(pdfs: Any) -> None:
    # Text reading upwards (90 degrees): the second run is further up, not further right.
    content = b"BT /F1 10 Tf 0 1 -1 0 300 100 Tm (Hello ) Tj /F2 10 Tf (bold) Tj ET"
    runs = analyse(two_fonts(pdfs, content)).runs
    assert [(run.x, run.y, run.angle) for run in runs] == [
        (300, 100, 90),
        (300, pytest.approx(100 + HELLO_SPACE), 90),
    ]


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("plain", "plain"),
        ("two  spaced\twords", "two spaced words"),
        ("ends with a space ", "ends with a space "),
        (" starts with one", " starts with one"),
        ("line end\n", "line end"),
        ("  both \t", " both "),
        (" \n\t ", ""),
        ("", ""),
    ],
)
def test_run_text_keeps_word_boundaries_at_its_ends(raw: str, stored: str) -> None:
    assert run_text(raw) == stored


# --- geometry -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rotate", "expected"),
    [(None, 0), (b"90", 90), (b"180", 180), (b"-90", 270), (b"450", 90), (b"45", 0), (b"(x)", 0)],
)
def test_rotation_is_normalised(pdfs: Any, rotate: bytes | None, expected: int) -> None:
    result = analyse(pdfs.one_page(b"BT /F1 12 Tf 72 700 Td (R) Tj ET", rotate=rotate))
    assert result.rotation == expected
    # Width and height stay those of the MediaBox, before rotation.
    assert (result.width, result.height) == (612, 792)


def test_sample_pages(sample_pages: list[bytes], sample_source_words: list[list[str]]) -> None:
    results = [
        analyse_page(data, job_id="j", page_number=number, max_content_bytes=LIMIT)
        for number, data in enumerate(sample_pages, start=1)
    ]
    assert [result.words for result in results] == sample_source_words
    assert [(result.width, result.height, result.rotation) for result in results] == [
        (612, 792, 0),
        (595.28, 841.89, 0),
        (612, 792, 90),
        (612, 792, 0),
        (612, 792, 0),
        (612, 792, 0),
    ]
    assert [result.image_count for result in results] == [1, 0, 0, 0, 0, 0]
    heading = results[2].runs[0]
    assert (heading.text, heading.font, heading.size, heading.x) == (
        "Page 3 (p0003)",
        "Helvetica-Bold",
        18,
        72,
    )
    assert {run.font for run in results[0].runs} == {
        "Helvetica",
        "Helvetica-Bold",
        "Times-Roman",
        "Times-Italic",
        "Courier",
    }
    # Every result serialises the way the worker stores it.
    assert PageResult.from_json(dumps(results[0].to_dict())) == results[0]


# --- images -------------------------------------------------------------------------------


def test_image_count_includes_nested_forms_once_each(pdfs: Any) -> None:
    form = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] "
        b"/Resources << /XObject << /Again 6 0 R /Inner 8 0 R >> >> /Length 0 >>\nstream\n\nendstream"
    )
    inner = (
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] "
        b"/Resources << /XObject << /Deep 9 0 R /Loop 7 0 R >> >> /Length 0 >>\nstream\n\nendstream"
    )
    data = pdfs.one_page(
        b"/Im1 Do /Fm1 Do",
        resources=b"/XObject << /Im1 6 0 R /Fm1 7 0 R /Same 6 0 R >>",
        extra_objects=[IMAGE, form, inner, IMAGE],
    )
    # Objects 6 and 9 are images (6 is listed three times); 7 and 8 are forms that loop.
    assert analyse(data).image_count == 2


def test_page_without_resources(pdfs: Any) -> None:
    data = pdfs.build(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
        ]
    )
    result = analyse(data)
    assert (result.text, result.words, result.runs, result.image_count) == ("", [], [], 0)


# --- missing fonts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declared",
    [
        pytest.param(b"", id="never declared"),
        pytest.param(b"/F2 99 0 R", id="dangling reference"),
        pytest.param(b"/F2 (not a font)", id="a string"),
        pytest.param(b"/F2 null", id="null"),
    ],
)
def test_text_in_a_missing_font_reads_as_viewers_show_it(pdfs: Any, declared: bytes) -> None:
    # Viewers draw such text in a default font; pypdf alone would read it as U+FFFD.
    content = b"BT /F2 12 Tf 72 700 Td (missing font) Tj ET BT /F1 12 Tf 72 680 Td (known) Tj ET"
    data = pdfs.one_page(content).replace(
        b"/Font << /F1 4 0 R >>", b"/Font << /F1 4 0 R " + declared + b" >>"
    )
    result = analyse(data)
    assert result.words == ["missing", "font", "known"]
    assert [run.font for run in result.runs] == ["Helvetica", "Helvetica"]


def test_a_font_selected_through_an_escaped_name_gets_its_stand_in(pdfs: Any) -> None:
    data = pdfs.one_page(b"BT /F#32 12 Tf 72 700 Td (escaped name) Tj ET")
    assert analyse(data).words == ["escaped", "name"]


@pytest.mark.parametrize(
    "hostile",
    [b"/" + b"1" * 300_000, b"/F " + b"1" * 300_000 + b"x", b"/F 1 " * 100_000],
    ids=["a name of digits", "a number without end", "selections without Tf"],
)
def test_looking_for_font_selections_takes_linear_time(hostile: bytes) -> None:
    # A regular expression cannot be interrupted by the time budget: it must never backtrack.
    content = DecodedStreamObject()
    content.set_data(hostile + b" BT /F1 12 Tf 72 700 Td (after) Tj ET")
    started = time.monotonic()
    assert stand_in_fonts._selected_fonts([content]) == {"/F1"}
    # Linear, the scan takes milliseconds (40 at most here); backtracking, about an hour. The bound
    # sits hundreds of times above the one and below the other: no machine's load decides it.
    assert time.monotonic() - started < 30


def test_a_form_s_missing_font_gets_a_stand_in_too(pdfs: Any) -> None:
    form = pdfs.stream(
        b"BT /G1 10 Tf 0 0 Td (in the form) Tj ET",
        b"/Type /XObject /Subtype /Form /BBox [0 0 100 100] /Resources << /Font << /G1 99 0 R >> >>",
    )
    data = pdfs.one_page(
        b"q 1 0 0 1 72 500 cm /Fm Do Q", resources=b"/XObject << /Fm 6 0 R >>", extra_objects=[form]
    )
    assert analyse(data).words == ["in", "the", "form"]


# --- failures -----------------------------------------------------------------------------


def test_decompression_bomb_is_content_too_large(pdfs: Any) -> None:
    bomb = zlib.compress(b"0 0 m " * 2_000_000, 9)  # 12 MB of content in about 20 KB
    data = pdfs.one_page(bomb, content_dict=b"/Filter /FlateDecode")
    rejection = failure(data)
    assert rejection.code == "content_too_large"
    assert "1,000,000 bytes once decompressed (MaxPageContentBytes parameter)" in str(rejection)


def test_content_over_the_limit_across_streams_and_forms(pdfs: Any) -> None:
    content = b"".join(b"BT /F1 12 Tf 72 %d Td (Hi) Tj ET\n" % (700 - 14 * line) for line in range(20))
    form = pdfs.stream(content, b"/Type /XObject /Subtype /Form /BBox [0 0 10 10]")
    data = pdfs.one_page(content, resources=b"/XObject << /Fm 6 0 R >>", extra_objects=[form])
    # The budget covers the page's content and every form it can draw, byte for byte.
    total = 2 * len(content)
    assert analyse(data, max_content_bytes=total).words == ["Hi"] * 20
    assert failure(data, max_content_bytes=total - 1).code == "content_too_large"


def test_pypdf_limits_during_extraction_are_content_too_large(pdfs: Any, monkeypatch: Any) -> None:
    def limited(*args: Any, **kwargs: Any) -> str:
        raise LimitReachedError("Reached maximum number of tokens per stream.")

    monkeypatch.setattr(PageObject, "extract_text", limited)
    rejection = failure(pdfs.one_page(b"BT ET"))
    assert rejection.code == "content_too_large"
    assert "safety limit" in str(rejection)


def test_extraction_crash_is_unreadable_text(pdfs: Any, monkeypatch: Any) -> None:
    def broken(*args: Any, **kwargs: Any) -> str:
        raise KeyError("/Widths")

    monkeypatch.setattr(PageObject, "extract_text", broken)
    rejection = failure(pdfs.one_page(b"BT ET"))
    assert rejection.code == "unreadable_text"
    assert "page 7" in str(rejection)


def test_text_past_the_page_limit_is_content_too_large() -> None:
    # 5,120,000 letters from 80 KB of content: a font maps each code to 256 letters.
    rejection = failure(text_expansion_page(20_000))
    assert rejection.code == "content_too_large"
    assert str(rejection).startswith(
        "Page 7 was not analysed: its text is 5,120,000 characters long, more than the 1,000,000"
    )


def test_runs_past_the_page_limit_are_content_too_large(monkeypatch: Any) -> None:
    # The real limit (100,000) takes pypdf about 8 s to reach; the check is the same at 50.
    monkeypatch.setattr(content_limits, "MAX_PAGE_RUNS", 50)
    assert len(analyse(many_runs(50)).runs) == 50
    rejection = failure(many_runs(51))
    assert rejection.code == "content_too_large"
    assert "it places 51 separate pieces of text, more than the 50" in str(rejection)


def test_content_nested_too_deeply_is_unreadable_text(pdfs: Any) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000 + b" pop BT /F1 12 Tf 72 700 Td (after) Tj ET"
    rejection = failure(pdfs.one_page(zlib.compress(nested), content_dict=b"/Filter /FlateDecode"))
    assert (rejection.code, str(rejection)) == (
        "unreadable_text",
        "The text of page 7 cannot be extracted: its content nests arrays, dictionaries or forms too deeply.",
    )


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\nnothing here", b"\x89PNG\r\n\x1a\n"])
def test_unreadable_file_is_damaged_page(data: bytes) -> None:
    assert failure(data).code == "damaged_page"


def test_two_pages_are_not_a_page(sample_pdf: bytes) -> None:
    rejection = failure(sample_pdf)
    assert rejection.code == "damaged_page"
    assert "exactly one page" in str(rejection)


@pytest.mark.parametrize("mediabox", [b"[0 0 0 0]", b"[10 10 10 500]"])
def test_empty_page_size_is_damaged_page(pdfs: Any, mediabox: bytes) -> None:
    assert failure(pdfs.one_page(b"", mediabox=mediabox)).code == "damaged_page"


# --- helpers ------------------------------------------------------------------------------


def test_clean_text_makes_any_extraction_utf8_safe() -> None:
    assert clean_text("a\ud800b") == "a\ufffdb"
    assert clean_text("\ud83d\ude00") == "\U0001f600"  # a valid pair becomes its character
    json.dumps(clean_text("x\udfff"), ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(
    ("font", "expected"),
    [
        ({"/BaseFont": "/XYZABC+Times-Bold"}, "Times-Bold"),
        ({"/BaseFont": "/Arial,Bold"}, "Arial,Bold"),
        ({"/Name": "/T3Font"}, "T3Font"),
        ({}, "unknown"),
        (None, "unknown"),
    ],
)
def test_font_name(font: dict[str, str] | None, expected: str) -> None:
    from pypdf.generic import DictionaryObject, NameObject

    dictionary = (
        None if font is None else DictionaryObject({NameObject(k): NameObject(v) for k, v in font.items()})
    )
    assert font_name(dictionary) == expected


def test_corrupt_stream_repair_is_bounded_by_the_budget(pdfs: Any) -> None:
    # A zlib stream with a broken tail makes pypdf repair it byte by byte; the budget caps that work.
    corrupt = zlib.compress(b"BT /F1 12 Tf 72 700 Td (Hi) Tj ET\n")[:-4] + bytes(range(256)) * 40
    data = pdfs.one_page(corrupt, content_dict=b"/Filter /FlateDecode")
    assert failure(data, max_content_bytes=1000).code == "content_too_large"


def test_text_width_falls_back_to_half_an_em_without_font_metrics() -> None:
    from pagefan.domain.text_runs import _text_width_function

    assert _text_width_function(None)("abcd") == 2.0
    assert _text_width_function("not a font dictionary")("ab") == 1.0
