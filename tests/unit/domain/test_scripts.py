"""Right-to-left order, mirrored brackets, Arabic joining and script fonts for the text cairo draws."""

from __future__ import annotations

import unicodedata
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagefan.domain.pdf_render import visual_runs
from pagefan.domain.scripts import (
    ARABIC_FAMILY,
    CJK_FAMILY,
    HEBREW_FAMILY,
    MIRRORS,
    Cluster,
    arabic_forms,
    right_to_left,
    script_family,
    visual_clusters,
    visual_order,
)
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
        # Brackets in right-to-left text are drawn as their mirror images (rule L4)...
        ("(שלום) עולם", "םלוע (םולש)"),
        ("«שלום» [עולם]", "[םלוע] «םולש»"),
        ("(مرحبا)", "(ابحرم)"),
        # ...but not inside a left-to-right stretch of it, nor in left-to-right text.
        ("שלום (abc) עולם", "םלוע (abc) םולש"),
        ("שלום x(1)y עולם", "םלוע x(1)y םולש"),
        ("a (b) c", "a (b) c"),
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
    for_cairo, stand_ins = visual_runs(svg)
    assert "םלוע םולש</text>" in for_cairo
    assert "中文 &amp; &lt;x&gt;</text>" in for_cairo  # escaping kept, left-to-right text untouched
    assert stand_ins == {}  # Hebrew letters are drawn as they are, only reordered


def test_glyphs_drawn_for_other_text_than_their_own_get_stand_ins_found_nowhere_else() -> None:
    # GIVEN a page whose text already holds the first private-use character a stand-in could be
    taken = "\U000f0000"
    page = PageResult(
        job_id="j",
        page_number=1,
        width=300,
        height=200,
        rotation=0,
        text="",
        words=[],
        runs=[TextRun("(لا) لا", 20, 150, 12, "Helvetica"), TextRun(f"odd {taken}", 20, 100, 12, "Times")],
        image_count=0,
    )
    svg = render_page_svg(page, title="t", max_elements=10)
    # WHEN it is prepared for cairo
    for_cairo, stand_ins = visual_runs(svg)
    # THEN the lam-alef (drawn twice) and the two mirrored brackets get one stand-in each, and the
    # page's own private-use character is none of them
    assert sorted(stand_ins.values()) == [Cluster("(", ")"), Cluster(")", "("), Cluster("\ufefb", "ال")]
    assert taken not in stand_ins
    drawn = {cluster: char for char, cluster in stand_ins.items()}
    # visual order: lam-alef, space, "(" drawn for the closing ")", lam-alef, ")" drawn for the opening "("
    lam_alef, left, right = drawn[Cluster("\ufefb", "ال")], drawn[Cluster("(", ")")], drawn[Cluster(")", "(")]
    assert f">{lam_alef} {left}{lam_alef}{right}</text>" in for_cairo
    assert f"odd {taken}</text>" in for_cairo


def test_each_mirror_pair_is_bidi_mirrored_and_names_the_other_side() -> None:
    sides = {"LEFT": "RIGHT", "RIGHT": "LEFT", "LESS": "GREATER", "GREATER": "LESS"}
    for char, mirror in MIRRORS.items():
        assert unicodedata.mirrored(char) and unicodedata.mirrored(mirror), f"U+{ord(char):04X}"
        assert MIRRORS[mirror] == char
        words = unicodedata.name(char).replace("-", " - ").split()
        assert " ".join(sides.get(word, word) for word in words).replace(" - ", "-") == unicodedata.name(
            mirror
        )


def test_arabic_letters_take_the_form_their_neighbours_give_them() -> None:
    # مرحبا: meem initial, reh final (reh joins only to the right), hah initial, beh medial, alef final
    assert arabic_forms("مرحبا") == [
        Cluster("\ufee3", "م"),
        Cluster("\ufeae", "ر"),
        Cluster("\ufea3", "ح"),
        Cluster("\ufe92", "ب"),
        Cluster("\ufe8e", "\u0627"),  # alef
    ]


def test_lam_and_alef_are_one_ligature_glyph_standing_for_both() -> None:
    # السلام: alef isolated, lam initial, seen medial, lam-alef final, meem isolated
    assert arabic_forms("السلام") == [
        Cluster("\ufe8d", "\u0627"),  # alef
        Cluster("\ufedf", "ل"),
        Cluster("\ufeb4", "س"),
        Cluster("\ufefc", "لا"),
        Cluster("\ufee1", "م"),
    ]
    # with hamza above and madda too
    assert [cluster.drawn for cluster in arabic_forms("لأ لآ لإ")] == ["\ufef7", " ", "\ufef5", " ", "\ufef9"]


def test_harakat_stay_and_letters_join_across_them() -> None:
    clusters = arabic_forms("بِسْمِ")
    assert [cluster.text for cluster in clusters] == list("بِسْمِ")
    # beh initial, seen medial, meem final: the vowel marks between them do not break the word
    assert [cluster.drawn for cluster in clusters if not unicodedata.combining(cluster.text)] == [
        "\ufe91",
        "\ufeb4",
        "\ufee2",
    ]


def test_a_joiner_the_shaper_uses_is_kept_with_the_letter_before_it() -> None:
    assert arabic_forms("م\u200dم") == [Cluster("\ufee3", "م\u200d"), Cluster("\ufee2", "م")]


def test_text_without_arabic_is_not_shaped() -> None:
    assert arabic_forms("שלום (abc) 中文") == [Cluster(char, char) for char in "שלום (abc) 中文"]


def test_the_clusters_cairo_draws_carry_the_text_in_the_order_readers_expect() -> None:
    # Visual order; a mirrored bracket keeps its own character as its text; the lam-alef's two
    # letters are given in visual order, as poppler spreads a glyph's text left to right.
    assert visual_clusters("(سلام)") == [
        Cluster("(", ")"),
        Cluster("\ufee1", "م"),
        Cluster("\ufefc", "ال"),
        Cluster("\ufeb3", "س"),
        Cluster(")", "("),
    ]


_ARABIC_TEXT = st.text(
    st.sampled_from(
        list("ابتثجحخدذرزسشصضطظعغفقكلمنهويءأإآةى") + list("\u064e\u0650\u0651\u0652 .(),-1a\u200d")
    ),
    max_size=30,
)


@given(_ARABIC_TEXT)
def test_shaping_keeps_every_character_of_the_text(text: str) -> None:
    clusters = arabic_forms(text)
    # In logical order, the clusters' texts are the text itself; each glyph is a form of its text.
    assert "".join(cluster.text for cluster in clusters) == text
    for cluster in clusters:
        assert unicodedata.normalize("NFKC", cluster.drawn) == unicodedata.normalize(
            "NFKC", cluster.text.replace("\u200d", "")
        ) or (cluster.drawn, cluster.text) == ("\u200d", "\u200d")
    # In visual order, the same characters, each once.
    assert Counter("".join(cluster.text for cluster in visual_clusters(text))) == Counter(text)


def test_with_no_private_use_character_free_a_cluster_is_drawn_as_its_text() -> None:
    every = "".join(map(chr, range(0xF0000, 0xFFFFE)))
    page = PageResult(
        job_id="j",
        page_number=1,
        width=300,
        height=200,
        rotation=0,
        text="",
        words=[],
        runs=[TextRun("(لا)", 20, 150, 12, "Helvetica"), TextRun(every, 20, 100, 12, "Times")],
        image_count=0,
    )
    for_cairo, stand_ins = visual_runs(render_page_svg(page, title="t", max_elements=10))
    # unjoined and unmirrored, but in visual order: as cairo drew it before it could join or mirror
    assert stand_ins == {}
    assert ">)ال(</text>" in for_cairo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("שלום", True),
        ("(שלום)", True),
        ("2024 שלום", True),
        ("السلام", True),
        ("a שלום", False),
        ("2024", False),
    ],
)
def test_a_run_reads_right_to_left_when_its_first_strong_letter_does(text: str, expected: bool) -> None:
    assert right_to_left(text) is expected


def test_a_right_to_left_line_that_opens_with_a_number_draws_it_at_the_right() -> None:
    assert visual_order("2024 שלום") == "םולש 2024"
