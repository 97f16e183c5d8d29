from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest

from pagefan.domain.combine import page_entry, write_document_json, write_document_text, write_documents
from pagefan.formats.document import DocumentInfo, OutlineEntry, SourceRef
from pagefan.formats.page_result import PageResult, TextRun
from pagefan.formats.versions import dumps

JOB = "job-42"
SOURCE = SourceRef(bucket="raw", key="in/report.pdf", version_id="v1", etag="abc", size=1234, sha256="f00")


def info(pages_total: int = 3) -> DocumentInfo:
    return DocumentInfo(
        job_id=JOB,
        source=SOURCE,
        pages_total=pages_total,
        metadata={"title": 'Quotes " and \\ backslashes', "author": "Zoë"},
        outline=[OutlineEntry("Part", 1, [OutlineEntry("Two", 2)]), OutlineEntry("Lost", None)],
    )


def result(number: int, text: str | None = None, job_id: str = JOB) -> PageResult:
    text = f"page {number} says hello\nline two\u2028€" if text is None else text
    return PageResult(
        job_id=job_id,
        page_number=number,
        width=612.0,
        height=792.0,
        rotation=90 if number == 2 else 0,
        text=text,
        words=text.split(),
        runs=[
            TextRun(text=text.splitlines()[0] if text else "", x=72.0, y=700.5, size=12.0, font="Helvetica")
        ],
        image_count=number,
    )


def write(pages: list[PageResult], pages_total: int = 3) -> tuple[str, int]:
    out = StringIO()
    count = write_document_json(job_id=JOB, info=info(pages_total), pages=iter(pages), out=out)
    return out.getvalue(), count


def test_document_json_is_exactly_the_dumped_whole() -> None:
    pages = [result(1), result(2), result(3)]
    body, count = write(pages)
    whole = {
        "format_version": 1,
        "job_id": JOB,
        "source": {
            "bucket": "raw",
            "key": "in/report.pdf",
            "version_id": "v1",
            "etag": "abc",
            "size": 1234,
            "sha256": "f00",
        },
        "metadata": {"title": 'Quotes " and \\ backslashes', "author": "Zoë"},
        "outline": [
            {
                "title": "Part",
                "page_number": 1,
                "children": [{"title": "Two", "page_number": 2, "children": []}],
            },
            {"title": "Lost", "page_number": None, "children": []},
        ],
        "pages_total": 3,
        "pages": [page_entry(page) for page in pages],
    }
    assert count == 3
    assert body.encode("utf-8") == dumps(whole)
    assert json.loads(body) == whole


def test_pages_leave_out_job_id_and_format_version() -> None:
    body, _ = write([result(1)], pages_total=1)
    [entry] = json.loads(body)["pages"]
    assert sorted(entry) == [
        "height",
        "image_count",
        "page_number",
        "rotation",
        "runs",
        "text",
        "width",
        "words",
    ]
    assert entry["runs"] == [
        {"text": "page 1 says hello", "x": 72.0, "y": 700.5, "size": 12.0, "font": "Helvetica", "angle": 0.0}
    ]


def test_top_level_key_order_is_sorted() -> None:
    body, _ = write([result(1)])
    keys = list(json.loads(body))
    assert keys == ["format_version", "job_id", "metadata", "outline", "pages", "pages_total", "source"]


def test_pages_are_streamed_one_at_a_time() -> None:
    out = StringIO()

    def pages() -> Iterator[PageResult]:
        for number in range(1, 4):
            # Each page must already be written before the next one is asked for.
            if number > 1:
                assert f'"page_number":{number - 1},' in out.getvalue()
            yield result(number)

    assert write_document_json(job_id=JOB, info=info(), pages=pages(), out=out) == 3
    assert [page["page_number"] for page in json.loads(out.getvalue())["pages"]] == [1, 2, 3]


def test_failed_pages_are_simply_absent() -> None:
    body, count = write([result(1), result(3)])
    document = json.loads(body)
    assert count == 2
    assert (document["pages_total"], [p["page_number"] for p in document["pages"]]) == (3, [1, 3])


def test_no_pages() -> None:
    body, count = write([], pages_total=0)
    assert count == 0
    assert json.loads(body)["pages"] == []


@pytest.mark.parametrize(
    "pages",
    [[result(2), result(1)], [result(1), result(1)], [result(1, job_id="someone-else")]],
)
def test_pages_out_of_order_or_from_another_job_are_refused(pages: list[PageResult]) -> None:
    with pytest.raises(ValueError):
        write(pages)


def test_info_of_another_job_is_refused() -> None:
    with pytest.raises(ValueError):
        write_document_json(job_id="other", info=info(), pages=[], out=StringIO())


def test_document_text_has_form_feeds_between_pages_only() -> None:
    out = StringIO()
    write_document_text([result(1, "one"), result(2, ""), result(3, "three\n")], out)
    assert out.getvalue() == "one\f\fthree\n"


def test_control_characters_in_a_page_never_split_it_in_document_text() -> None:
    # A PDF's text can hold a form feed (the page separator) and a NUL (which makes tools take
    # the file for binary); both become spaces there, while tabs and line breaks stay.
    out = StringIO()
    write_document_text([result(1, "a\fb\x00c\x1b\x7fd\te\r\nf"), result(2, "two")], out)
    assert out.getvalue() == "a b c  d\te\r\nf\ftwo"


def test_document_text_of_one_page_and_of_none() -> None:
    single, empty = StringIO(), StringIO()
    write_document_text(iter([result(1, "alone")]), single)
    write_document_text([], empty)
    assert (single.getvalue(), empty.getvalue()) == ("alone", "")


def test_one_pass_writes_both_files_exactly_as_the_two_writers() -> None:
    # GIVEN pages with control characters, an empty page and a failed (absent) page
    pages = [result(1, "a\fb\x00c"), result(2, ""), result(4)]
    json_alone, text_alone = StringIO(), StringIO()
    write_document_json(job_id=JOB, info=info(4), pages=iter(pages), out=json_alone)
    write_document_text(iter(pages), text_alone)

    # WHEN both files come from one pass over the pages
    json_out, text_out = StringIO(), StringIO()
    count = write_documents(job_id=JOB, info=info(4), pages=iter(pages), json_out=json_out, text_out=text_out)

    # THEN each is byte for byte what its own writer gives
    assert count == 3
    assert json_out.getvalue() == json_alone.getvalue()
    assert text_out.getvalue() == text_alone.getvalue() == "a b c\f\fpage 4 says hello\nline two\u2028€"


def test_one_pass_reads_each_page_once_and_holds_one_at_a_time() -> None:
    json_out, text_out = StringIO(), StringIO()
    asked: list[int] = []

    def pages() -> Iterator[PageResult]:
        for number in range(1, 4):
            # Each page is in both files before the next one is asked for.
            if number > 1:
                assert f'"page_number":{number - 1},' in json_out.getvalue()
                assert text_out.getvalue().endswith(f"page {number - 1} says hello\nline two\u2028€")
            asked.append(number)
            yield result(number)

    assert write_documents(job_id=JOB, info=info(), pages=pages(), json_out=json_out, text_out=text_out) == 3
    assert asked == [1, 2, 3]


def test_one_pass_refuses_what_the_json_writer_refuses() -> None:
    with pytest.raises(ValueError):
        write_documents(
            job_id=JOB, info=info(), pages=[result(2), result(1)], json_out=StringIO(), text_out=StringIO()
        )


def test_document_text_keeps_reading_order_within_each_page() -> None:
    from pagefan.domain.analysis import analyse_page
    from pagefan.domain.split import open_document, split_pages
    from tests.documents import make_sample_pdf, sample_words

    # GIVEN a document whose lines change font mid-line, with a rotated page and a margin note
    reader = open_document(make_sample_pdf(4, seed=9, mixed_fonts=True), max_bytes=10**9, max_pages=10)
    pages = [
        analyse_page(data, job_id=JOB, page_number=number, max_content_bytes=10**6)
        for number, data in split_pages(reader)
    ]
    out = StringIO()
    write_document_text(pages, out)
    # THEN each page's words come in the order they were written, pages split by form feeds
    chunks = out.getvalue().split("\f")
    assert [chunk.split() for chunk in chunks] == sample_words(4, 9, mixed_fonts=True)
    # and each page's lines run top to bottom (the margin note, drawn last, comes last)
    first_lines = chunks[0].splitlines()
    assert first_lines[0] == "Page 1 (p0001)"
    assert first_lines[-1].startswith("note: ")


def test_document_text_follows_the_drawing_order_like_pypdf(pdfs: Any) -> None:
    from pagefan.domain.analysis import analyse_page

    # A page that draws its bottom line first: pypdf reads in drawing order, and so does document.txt.
    content = b"BT /F1 12 Tf 72 100 Td (bottom) Tj ET BT /F1 12 Tf 72 700 Td (top) Tj ET"
    page = analyse_page(pdfs.one_page(content), job_id=JOB, page_number=1, max_content_bytes=10**6)
    out = StringIO()
    write_document_text([page], out)
    assert out.getvalue().split() == ["bottom", "top"]
