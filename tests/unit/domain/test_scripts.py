"""Right-to-left order and script fonts for the text cairo draws."""

from __future__ import annotations

import pytest

from pagefan.domain.pdf_render import visual_runs
from pagefan.domain.scripts import ARABIC_FAMILY, CJK_FAMILY, HEBREW_FAMILY, script_family, visual_order
from pagefan.domain.svg import render_page_svg
from pagefan.formats.page_result import PageResult, TextRun


@pytest.mark.parametrize(
    ("logical", "visual"),
    [
        ("hello world", "hello world"),
        ("שלום עולם", "םלוע םולש"),
        ("مرحبا بالعالم", "ملاعلاب ابحرم"),
        # Digits keep their order inside right-to-left text; a left-to-right line keeps its words.
        ("שלום 123 עולם", "םלוע 123 םולש"),
        ("see עברית here", "see תירבע here"),
        ("", ""),
    ],
)
def test_visual_order_is_the_left_to_right_order_of_the_glyphs(logical: str, visual: str) -> None:
    assert visual_order(logical) == visual


def test_a_run_gets_a_font_that_covers_its_script() -> None:
    assert script_family("日本語のテキスト") == CJK_FAMILY
    assert script_family("한국어") == CJK_FAMILY
    assert script_family("中文") == CJK_FAMILY
    assert script_family("مرحبا") == ARABIC_FAMILY
    assert script_family("שלום") == HEBREW_FAMILY
    assert script_family("plain Latin, Ελληνικά") is None


def test_the_svg_keeps_logical_order_and_only_cairo_gets_the_visual_one() -> None:
    page = PageResult(
        job_id="j",
        page_number=1,
        width=300,
        height=200,
        rotation=0,
        text="שלום עולם\n中文",
        words=["שלום", "עולם", "中文"],
        runs=[TextRun("שלום עולם", 20, 150, 12, "Helvetica"), TextRun("中文 & <x>", 20, 100, 12, "Times")],
        image_count=0,
    )
    svg = render_page_svg(page, title="t", max_elements=10)
    assert "שלום עולם</text>" in svg
    assert f"font-family=\"'{HEBREW_FAMILY}', Helvetica, Arial, sans-serif\"" in svg
    assert f"font-family=\"'{CJK_FAMILY}', 'Times New Roman', Times, serif\"" in svg
    for_cairo = visual_runs(svg)
    assert "םלוע םולש</text>" in for_cairo
    assert "中文 &amp; &lt;x&gt;</text>" in for_cairo  # escaping kept, left-to-right text untouched
