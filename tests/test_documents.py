from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.documents import A4, LETTER, make_sample_pdf, sample_words, write_sample

REPO = Path(__file__).resolve().parents[1]


SAMPLE_PAGES = 6


@pytest.fixture(scope="module")
def sample_pdf() -> bytes:
    return make_sample_pdf(SAMPLE_PAGES)


@pytest.fixture(scope="module")
def sample_source_words() -> list[list[str]]:
    return sample_words(SAMPLE_PAGES)


def test_same_arguments_give_identical_bytes() -> None:
    assert make_sample_pdf(6) == make_sample_pdf(6)
    assert make_sample_pdf(3, seed=7, text_heavy=True) == make_sample_pdf(3, seed=7, text_heavy=True)


def test_seed_changes_the_words() -> None:
    assert make_sample_pdf(2, seed=1) != make_sample_pdf(2, seed=2)
    assert sample_words(2, 1) != sample_words(2, 2)


def test_drawn_words_are_the_sample_words(sample_pdf: bytes, sample_source_words: list[list[str]]) -> None:
    reader = PdfReader(BytesIO(sample_pdf))
    extracted = [page.extract_text().split() for page in reader.pages]
    assert extracted == sample_source_words


def test_every_page_has_its_own_tag_word(sample_source_words: list[list[str]]) -> None:
    for number, words in enumerate(sample_source_words, start=1):
        assert words[:3] == ["Page", str(number), f"(p{number:04d})"]
        tag = f"(p{number:04d})"
        assert all(tag not in other for index, other in enumerate(sample_source_words, 1) if index != number)


def test_geometry_rotation_and_sizes(sample_pdf: bytes) -> None:
    pages = PdfReader(BytesIO(sample_pdf)).pages
    sizes = [(float(p.mediabox.width), float(p.mediabox.height)) for p in pages]
    assert sizes[1] == pytest.approx(A4)
    assert [size for index, size in enumerate(sizes) if index != 1] == [LETTER] * 5
    assert [p.rotation for p in pages] == [0, 0, 90, 0, 0, 0]


def test_small_samples_are_plain_letter_pages() -> None:
    pages = PdfReader(BytesIO(make_sample_pdf(3))).pages
    assert [(float(p.mediabox.width), float(p.mediabox.height), p.rotation) for p in pages] == [
        (612.0, 792.0, 0)
    ] * 3


def test_metadata_and_nested_outline(sample_pdf: bytes) -> None:
    reader = PdfReader(BytesIO(sample_pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == "pagefan sample"
    assert reader.metadata.author == "pagefan"
    assert reader.metadata.subject == "6-page sample document"
    outline = reader.outline
    # pypdf lists a parent, then its children as a nested list.
    assert [item.title for item in outline if not isinstance(item, list)] == [
        "Part 1 — pages 1 to 3",
        "Part 2 — pages 4 to 6",
    ]
    children = outline[1]
    assert isinstance(children, list)
    assert [reader.get_destination_page_number(child) for child in children] == [0, 1, 2]


def test_custom_title_and_author() -> None:
    reader = PdfReader(BytesIO(make_sample_pdf(1, title="Quarterly report", author="Ada")))
    assert reader.metadata is not None
    assert (reader.metadata.title, reader.metadata.author) == ("Quarterly report", "Ada")


def test_text_heavy_and_exact_word_counts() -> None:
    heavy = sample_words(2, 0, text_heavy=True)
    assert all(len(words) >= 400 for words in heavy)
    exact = sample_words(2, 0, words_per_page=50)
    assert [len(words) for words in exact] == [53, 53]  # 50 body words plus the 3-word heading


def test_text_heavy_page_still_extracts_exactly() -> None:
    reader = PdfReader(BytesIO(make_sample_pdf(1, text_heavy=True)))
    assert reader.pages[0].extract_text().split() == sample_words(1, 0, text_heavy=True)[0]


def test_page_one_draws_one_image(sample_pdf: bytes) -> None:
    first = PdfReader(BytesIO(sample_pdf)).pages[0]
    xobjects = first["/Resources"]["/XObject"]
    assert [xobjects[name]["/Subtype"] for name in xobjects] == ["/Image"]


@pytest.mark.parametrize("arguments", [{"pages": 0}, {"pages": 1, "words_per_page": -1}])
def test_rejects_impossible_arguments(arguments: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        make_sample_pdf(**arguments)


def test_write_sample(tmp_path: Path) -> None:
    path = write_sample(tmp_path / "s.pdf", pages=2, seed=3)
    assert path.read_bytes() == make_sample_pdf(2, seed=3)


def test_committed_sample_is_reproducible() -> None:
    # samples/README.md says how it is made; this keeps the file and the recipe in step.
    committed = REPO / "samples" / "sample.pdf"
    assert committed.read_bytes() == make_sample_pdf(6)
    assert committed.stat().st_size < 30_000


def test_mixed_fonts_sample_draws_its_words_in_many_fonts() -> None:
    pdf = make_sample_pdf(4, seed=5, mixed_fonts=True)
    assert pdf == make_sample_pdf(4, seed=5, mixed_fonts=True)
    reader = PdfReader(BytesIO(pdf))
    words = sample_words(4, 5, mixed_fonts=True)
    assert [page.extract_text().split() for page in reader.pages] == words
    # The body words are those of the plain sample; the margin note comes last.
    plain = sample_words(4, 5)
    assert all(mixed[: len(flat)] == flat for mixed, flat in zip(words, plain, strict=True))
    assert all(mixed[len(flat)] == "note:" for mixed, flat in zip(words, plain, strict=True))
    fonts = {str(font["/BaseFont"]) for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert len(fonts) == 12
    assert [page.rotation for page in reader.pages] == [0, 0, 90, 0]


def test_mixed_fonts_change_font_within_lines() -> None:
    content = PdfReader(BytesIO(make_sample_pdf(1, mixed_fonts=True))).pages[0].get_contents()
    assert content is not None
    lines = content.get_data().split(b"T*")
    # Some line (between two T*) sets at least three fonts.
    assert max(line.count(b" Tf") for line in lines) >= 3
