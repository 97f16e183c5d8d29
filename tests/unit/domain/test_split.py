from __future__ import annotations

import inspect
from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter

from pagefan.domain.split import (
    describe_content,
    document_metadata,
    document_outline,
    open_document,
    split_pages,
)
from pagefan.errors import DocumentRejected
from pagefan.formats.document import OutlineEntry
from tests.documents import make_sample_pdf
from tests.hostile.generator import object_stream_bomb, repeated_page_tree

BIG = 10**9
CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"


def reject(data: bytes, *, max_bytes: int = BIG, max_pages: int = BIG) -> DocumentRejected:
    with pytest.raises(DocumentRejected) as caught:
        open_document(data, max_bytes=max_bytes, max_pages=max_pages)
    return caught.value


def encrypted(source: bytes, user_password: str, algorithm: str) -> bytes:
    writer = PdfWriter(clone_from=BytesIO(source))
    writer.encrypt(user_password, "owner-secret", algorithm=algorithm)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# --- open_document: accepted documents ----------------------------------------------------


def test_opens_a_pdf(sample_pdf: bytes) -> None:
    reader = open_document(sample_pdf, max_bytes=len(sample_pdf), max_pages=6)
    assert len(reader.pages) == 6


def test_header_may_follow_junk_within_1024_bytes(sample_pdf: bytes) -> None:
    reader = open_document(b"\x00junk" * 200 + sample_pdf, max_bytes=BIG, max_pages=BIG)
    assert reader.pages[0].extract_text().startswith("Page 1")


def test_header_after_1024_bytes_is_not_a_pdf(sample_pdf: bytes) -> None:
    assert reject(b" " * 1024 + sample_pdf).code == "not_a_pdf"


def test_the_name_does_not_matter_only_bytes() -> None:
    # A PNG saved as report.pdf: open_document never sees the name, only these bytes.
    rejection = reject(b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert rejection.code == "not_a_pdf"
    assert "PNG image" in str(rejection)


# --- open_document: each rejection ---------------------------------------------------------


def test_empty() -> None:
    rejection = reject(b"")
    assert (rejection.code, str(rejection)) == ("empty", "The file is empty (0 bytes).")


def test_too_large_says_size_and_limit(sample_pdf: bytes) -> None:
    rejection = reject(b"%PDF-1.7\n" + bytes(3 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert rejection.code == "too_large"
    assert "3.0 MB" in str(rejection)
    assert "2.0 MB" in str(rejection)
    assert "(MaxUploadBytes parameter)" in str(rejection)


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG image"),
        (b"GIF89a\x01\x00", "GIF image"),
        (b"PK\x03\x04\x14\x00", "ZIP archive"),
        (b"\n<!DOCTYPE html><html><body>Not found</body></html>", "HTML page"),
        (b"Dear team,\nplease find the report attached.\n", "plain text"),
    ],
)
def test_not_a_pdf_says_what_it_looks_like(data: bytes, looks_like: str) -> None:
    rejection = reject(data)
    assert rejection.code == "not_a_pdf"
    assert looks_like in str(rejection)


def test_unknown_binary_is_described_as_nothing() -> None:
    assert describe_content(bytes(range(256))) is None
    assert "looks like" not in str(reject(bytes(range(256))))


def test_truncated_is_damaged(sample_pdf: bytes) -> None:
    rejection = reject(sample_pdf[: len(sample_pdf) // 2])
    assert rejection.code == "damaged"
    assert "truncated" in str(rejection)


def test_broken_xref_without_objects_is_damaged() -> None:
    # The xref is garbage and there is no object for pypdf's recovery scan to find.
    data = b"%PDF-1.7\nxref\nthis is not a table\ntrailer\n<< /Root 1 0 R >>\nstartxref\n9\n%%EOF\n"
    rejection = reject(data)
    assert rejection.code == "damaged"
    assert "Detail:" in str(rejection)


def test_missing_startxref_is_damaged(sample_pdf: bytes) -> None:
    assert reject(sample_pdf.replace(b"startxref", b"startxxef")).code == "damaged"


def test_wrong_xref_offsets_are_recovered(sample_pdf: bytes) -> None:
    # strict=False: pypdf rebuilds the table by scanning, as viewers do; the document opens.
    head, _, _ = sample_pdf.rpartition(b"startxref")
    reader = open_document(head + b"startxref\n99999\n%%EOF\n", max_bytes=BIG, max_pages=BIG)
    assert len(reader.pages) == 6


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-128", "AES-256"])
def test_user_password_is_encrypted(algorithm: str) -> None:
    rejection = reject(encrypted(make_sample_pdf(2), "secret", algorithm))
    assert rejection.code == "encrypted"
    assert "password" in str(rejection)


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_empty_user_password_opens_and_splits_to_plain_pages(algorithm: str) -> None:
    source = make_sample_pdf(2)
    reader = open_document(encrypted(source, "", algorithm), max_bytes=BIG, max_pages=BIG)
    pages = list(split_pages(reader))
    assert len(pages) == 2
    single = PdfReader(BytesIO(pages[1][1]))
    assert not single.is_encrypted
    assert single.pages[0].extract_text() == PdfReader(BytesIO(source)).pages[1].extract_text()


def test_unsupported_security_handler_is_encrypted(pdfs: Any) -> None:
    data = pdfs.build(
        [CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>", b"<< /Filter /Adobe.PubSec /V 4 /R 4 >>"],
        trailer_extra=b"/Encrypt 3 0 R /ID [<01> <01>] ",
    )
    rejection = reject(data)
    assert rejection.code == "encrypted"
    assert "cannot open" in str(rejection)


@pytest.mark.parametrize(
    "pages_objects",
    [
        # 2 -> 3 -> 2
        [
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>",
        ],
        # 2 -> 2
        [b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"],
    ],
)
def test_looped_page_tree(pdfs: Any, pages_objects: list[bytes]) -> None:
    rejection = reject(pdfs.build([CATALOG, *pages_objects]))
    assert rejection.code == "page_tree_loop"
    assert "cyclic page references" in str(rejection)


def test_no_pages(pdfs: Any) -> None:
    rejection = reject(pdfs.build([CATALOG, b"<< /Type /Pages /Kids [] /Count 0 >>"]))
    assert (rejection.code, str(rejection)) == ("no_pages", "The PDF has no pages.")


def test_too_many_pages_says_count_and_limit(sample_pdf: bytes) -> None:
    rejection = reject(sample_pdf, max_pages=5)
    assert rejection.code == "too_many_pages"
    assert "6 pages" in str(rejection)
    assert "5 pages" in str(rejection)


def test_pages_are_counted_not_read_from_count(pdfs: Any) -> None:
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>"
    lying_high = pdfs.build([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 999999 >>", page])
    assert len(open_document(lying_high, max_bytes=BIG, max_pages=5).pages) == 1
    lying_low = pdfs.build([CATALOG, b"<< /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 1 >>", page])
    assert reject(lying_low, max_pages=2).code == "too_many_pages"


# --- metadata ----------------------------------------------------------------------------


def test_metadata_keys_are_plain_and_lower_case(sample_pdf: bytes) -> None:
    reader = open_document(sample_pdf, max_bytes=BIG, max_pages=BIG)
    assert document_metadata(reader) == {
        "title": "pagefan sample",
        "author": "pagefan",
        "subject": "6-page sample document",
        "keywords": "pagefan, sample",
        "creator": "tests.documents",
        "producer": "pypdf",
    }


def test_metadata_survives_garbage(pdfs: Any) -> None:
    data = pdfs.build(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
            b"<< /Title (Caf\\351 \\000report) /Author <FEFF004100640061> /Nested << /A 1 >> "
            b"/Pages 42 /List [1 2] /Subject 5 0 R /MissingRef 99 0 R >>",
            b"(from a reference)",
        ],
        trailer_extra=b"/Info 4 0 R ",
    )
    metadata = document_metadata(open_document(data, max_bytes=BIG, max_pages=BIG))
    assert metadata["title"] == "Café  report"  # the NUL became a space
    assert metadata["author"] == "Ada"
    assert metadata["subject"] == "from a reference"
    assert metadata["pages"] == "42"
    assert "nested" not in metadata
    assert "list" not in metadata
    assert all(isinstance(value, str) for value in metadata.values())


def test_a_metadata_key_without_a_name_is_skipped(pdfs: Any) -> None:
    # "/" is the empty name; "//x" loses every slash. document.json's schema wants named keys.
    data = pdfs.build(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
            b"<< / (nameless) /Title (kept) >>",
        ],
        trailer_extra=b"/Info 4 0 R ",
    )
    assert document_metadata(open_document(data, max_bytes=BIG, max_pages=BIG)) == {"title": "kept"}


def test_no_info_dictionary(pdfs: Any) -> None:
    data = pdfs.one_page(b"")
    assert document_metadata(open_document(data, max_bytes=BIG, max_pages=BIG)) == {}


# --- outline ------------------------------------------------------------------------------


def test_outline_is_nested_with_one_based_pages(sample_pdf: bytes) -> None:
    outline = document_outline(open_document(sample_pdf, max_bytes=BIG, max_pages=BIG))
    assert outline == [
        OutlineEntry(
            "Part 1 — pages 1 to 3",
            1,
            [OutlineEntry("Page 1", 1), OutlineEntry("Page 2", 2), OutlineEntry("Page 3", 3)],
        ),
        OutlineEntry(
            "Part 2 — pages 4 to 6",
            4,
            [OutlineEntry("Page 4", 4), OutlineEntry("Page 5", 5), OutlineEntry("Page 6", 6)],
        ),
    ]


def outline_pdf(pdfs: Any, items: list[bytes], first: int = 5) -> bytes:
    """Two pages (objects 3 and 4) and an outline whose items start at object ``first``."""
    return pdfs.build(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Outlines 6 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>",
            b"<< /Type /Page /MediaBox [0 0 1 1] >>",  # object 5: a page that is not in the tree
            b"<< /Type /Outlines /First %d 0 R /Count %d >>" % (first + 2, len(items)),
            *items,
        ]
    )


def test_outline_with_unresolvable_targets(pdfs: Any) -> None:
    data = outline_pdf(
        pdfs,
        [
            b"<< /Title (Good) /Parent 6 0 R /Dest [4 0 R /Fit] /Next 8 0 R >>",
            b"<< /Title (Orphan page) /Parent 6 0 R /Dest [5 0 R /Fit] /Next 9 0 R >>",
            b"<< /Title (No target) /Parent 6 0 R /Dest [99 0 R /Fit] >>",
        ],
    )
    outline = document_outline(open_document(data, max_bytes=BIG, max_pages=BIG))
    assert [(entry.title, entry.page_number) for entry in outline] == [
        ("Good", 2),
        ("Orphan page", None),
        ("No target", None),
    ]


def test_broken_outline_does_not_fail(pdfs: Any) -> None:
    data = outline_pdf(pdfs, [b"[1 2 3]", b"(not an outline item)"])
    assert document_outline(open_document(data, max_bytes=BIG, max_pages=BIG)) == []


def test_looped_outline_is_bounded(pdfs: Any) -> None:
    data = outline_pdf(
        pdfs,
        [
            b"<< /Title (A) /Parent 6 0 R /Dest [3 0 R /Fit] /Next 8 0 R /First 8 0 R >>",
            b"<< /Title (B) /Parent 7 0 R /Dest [4 0 R /Fit] /Next 7 0 R /First 7 0 R >>",
        ],
    )
    outline = document_outline(open_document(data, max_bytes=BIG, max_pages=BIG))
    assert outline[0].title == "A"
    assert outline[0].page_number == 1


# --- split_pages ---------------------------------------------------------------------------


def test_split_is_lazy_and_numbered_from_one(sample_pdf: bytes) -> None:
    pages = split_pages(open_document(sample_pdf, max_bytes=BIG, max_pages=BIG))
    assert inspect.isgenerator(pages)
    number, first = next(pages)
    assert number == 1
    assert PdfReader(BytesIO(first)).pages[0].extract_text().startswith("Page 1")
    assert [number for number, _ in pages] == [2, 3, 4, 5, 6]


def test_each_page_keeps_box_rotation_resources_and_content(
    sample_pdf: bytes, sample_pages: list[bytes]
) -> None:
    source = PdfReader(BytesIO(sample_pdf))
    for original, data in zip(source.pages, sample_pages, strict=True):
        single = PdfReader(BytesIO(data))
        assert len(single.pages) == 1
        page = single.pages[0]
        assert list(page.mediabox) == list(original.mediabox)
        assert page.rotation == original.rotation
        assert sorted(page["/Resources"]["/Font"]) == ["/F1", "/F2", "/F3", "/F4", "/F5"]
        assert page.get_contents().get_data() == original.get_contents().get_data()  # type: ignore[union-attr]
        assert page.extract_text() == original.extract_text()


def test_inherited_attributes_are_kept(pdfs: Any) -> None:
    data = pdfs.build(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 200 300] /Rotate 270 "
            b"/Resources << /Font << /F1 4 0 R >> >> >>",
            b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R >>",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            pdfs.stream(b"BT /F1 12 Tf 10 10 Td (inherited) Tj ET"),
        ]
    )
    [(_, single)] = split_pages(open_document(data, max_bytes=BIG, max_pages=BIG))
    page = PdfReader(BytesIO(single)).pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height), page.rotation) == (200, 300, 270)
    assert page.extract_text() == "inherited"


def test_links_to_other_pages_do_not_drag_them_along(pdfs: Any) -> None:
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    data = pdfs.build(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents 6 0 R "
            b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Dest [4 0 R /Fit] >>] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources << /Font << /F1 5 0 R >> >> "
            b"/Contents 7 0 R >>",
            font,
            pdfs.stream(b"BT /F1 12 Tf 10 10 Td (first) Tj ET"),
            pdfs.stream(b"BT /F1 12 Tf 10 10 Td (second-page-secret) Tj ET"),
        ]
    )
    first = next(split_pages(open_document(data, max_bytes=BIG, max_pages=BIG)))[1]
    assert b"second-page-secret" not in first
    assert PdfReader(BytesIO(first)).pages[0].extract_text() == "first"


# Page trees of 100,000 entries and more: seconds of parsing each.
@pytest.mark.slow
def test_a_page_tree_past_pypdfs_own_limit_is_too_many_pages() -> None:
    # 200,000 entries in 1.2 MB: pypdf stops listing at 100,000; our own walk stops at the limit.
    rejection = reject(repeated_page_tree(200_000), max_pages=5000)
    assert (rejection.code, str(rejection)) == (
        "too_many_pages",
        "The PDF has more than 5000 pages; "
        "pagefan accepts documents of up to 5000 pages (MaxPages parameter).",
    )


@pytest.mark.slow
def test_a_page_tree_past_pypdfs_own_limit_but_within_ours_is_refused_as_past_a_safety_limit() -> None:
    rejection = reject(repeated_page_tree(200_000), max_pages=BIG)
    assert rejection.code == "damaged"
    assert "safety limits while its pages are listed" in str(rejection)


def test_a_bomb_in_an_object_stream_is_refused_as_past_a_safety_limit() -> None:
    rejection = reject(object_stream_bomb())
    assert rejection.code == "damaged"
    assert str(rejection).startswith(
        "The PDF goes past one of pagefan's safety limits while its pages are listed"
    )
    assert "decompression bomb" in str(rejection)


def test_a_stream_longer_than_pypdfs_75_mb_default_is_split_and_analysed(pdfs: Any) -> None:
    # A 76 MiB image (a large uncompressed scan) in a file under the default 100 MB MaxUploadBytes.
    from pagefan.domain.analysis import analyse_page

    image = pdfs.stream(
        bytes(76 * 1024 * 1024),
        b"/Type /XObject /Subtype /Image /Width 8192 /Height 9728 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8",
    )
    data = pdfs.one_page(
        b"q 100 0 0 100 0 0 cm /Im1 Do Q BT /F1 12 Tf 72 700 Td (scan) Tj ET",
        resources=b"/XObject << /Im1 6 0 R >>",
        extra_objects=[image],
    )
    [(number, page)] = list(split_pages(open_document(data, max_bytes=100 * 1024 * 1024, max_pages=5)))
    assert number == 1 and len(page) > 76 * 1024 * 1024
    result = analyse_page(page, job_id="j", page_number=1, max_content_bytes=1024 * 1024)
    assert (result.words, result.image_count) == (["scan"], 1)


def test_absurdly_deep_page_tree_is_damaged_not_a_crash(pdfs: Any) -> None:
    depth = 300
    nodes = [b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (number + 1) for number in range(2, depth + 2)]
    leaf = b"<< /Type /Page /MediaBox [0 0 10 10] >>"
    rejection = reject(pdfs.build([CATALOG, *nodes, leaf]))
    assert rejection.code == "damaged"


def test_visible_annotation_appearances_are_kept_and_nothing_else_of_them(pdfs: Any) -> None:
    # GIVEN a page with a stamp (an appearance, an action, a popup and a link to page 2), a hidden
    # square, and a link with a destination on page 2
    appearance = pdfs.stream(b"0 0 1 rg 0 0 40 20 re f", b"/Type /XObject /Subtype /Form /BBox [0 0 40 20]")
    data = pdfs.build(
        [
            CATALOG,
            b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 6 0 R /Annots ["
            b"<< /Type /Annot /Subtype /Stamp /Rect [10 10 50 30] /F 4 /AP << /N 5 0 R >> "
            b"/A << /S /JavaScript /JS (app.alert(1)) >> /Popup << /Parent 4 0 R >> /P 4 0 R >> "
            b"<< /Type /Annot /Subtype /Square /Rect [60 10 100 30] /F 2 /AP << /N 5 0 R >> >> "
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] /Dest [4 0 R /Fit] >>] >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 7 0 R >>",
            appearance,
            pdfs.stream(b""),
            pdfs.stream(b"BT /F1 12 Tf 10 10 Td (second-page-secret) Tj ET"),
        ]
    )
    # WHEN the first page is split off
    first = next(split_pages(open_document(data, max_bytes=BIG, max_pages=BIG)))[1]
    # THEN it keeps the stamp's appearance in a new annotation that holds nothing else
    page = PdfReader(BytesIO(first)).pages[0]
    [annotation] = [entry.get_object() for entry in page["/Annots"]]
    assert set(annotation) == {"/Type", "/Subtype", "/Rect", "/F", "/AP", "/P"}
    assert annotation["/Subtype"] == "/Stamp"
    assert annotation["/AP"]["/N"].get_object().get_data() == b"0 0 1 rg 0 0 40 20 re f"
    assert b"second-page-secret" not in first and b"JavaScript" not in first
