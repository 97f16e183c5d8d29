"""Output fidelity end to end: generated documents through the local runtime, each output against its source.

Three documents whose words are known (tests.documents.sample_words) go through the real
template, state machine and handlers in one emulated account. The words recovered from
document.json, document.txt, the page SVGs and the rebuilt PDF are scored against the source's
words (see :func:`word_similarity`), and page sizes are compared with the source's as displayed.
Scores print as one line per document and check (``pytest -rA`` shows them) and are recorded as
properties (in the JUnit XML, with ``--junitxml``).
"""

from __future__ import annotations

import difflib
import io
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from pypdf import PageObject, PdfReader, PdfWriter

from pagefan import layout
from pagefan.domain.analysis import analyse_page
from pagefan.domain.split import document_metadata, document_outline
from pagefan.formats.jobs_table import JobRecord, JobStatus
from pagefan.schemas import validate_document, validate_page_result
from tests.documents import make_sample_pdf, sample_words
from tests.integration.pipeline import pipeline

MIN_SIMILARITY = 0.95
MAX_SIZE_DEVIATION = 0.5  # points
SVG = "{http://www.w3.org/2000/svg}"


def _with_blank_page(pdf: bytes) -> bytes:
    """The document plus a last page without any text (outline and metadata kept)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# name -> (source PDF, its words page by page)
DOCUMENTS: dict[str, tuple[bytes, list[list[str]]]] = {
    # 6 pages: Letter, an A4 page (2), a page with /Rotate 90 (3), an image, a nested outline.
    "sample-6-pages": (make_sample_pdf(6), sample_words(6)),
    # About 900 words a page in 7 pt type, then a page without text.
    "text-heavy": (
        _with_blank_page(make_sample_pdf(3, seed=11, words_per_page=900)),
        [*sample_words(3, 11, words_per_page=900), []],
    ),
    # All twelve standard text fonts at 9-13 pt, changing within lines; a rotated page; a note
    # reading upwards in each page's margin.
    "mixed-fonts": (make_sample_pdf(4, seed=7, mixed_fonts=True), sample_words(4, 7, mixed_fonts=True)),
}


def word_similarity(expected: list[list[str]], actual: list[list[str]]) -> float:
    """How closely ``actual`` reproduces ``expected``, page by page: 1.0 when identical, 0.0 when disjoint.

    For each page, difflib's SequenceMatcher (autojunk off, so frequent words are not ignored)
    finds the longest blocks of words that match in order. The score is 2*M/T, where M is the
    number of matched words summed over all pages and T the number of words on both sides:
    SequenceMatcher's own ratio, taken over the whole document while keeping page boundaries.

    Order-sensitive on purpose: a word lost, added, changed, split in two, glued to its
    neighbour or moved out of reading order all cost the same, and a word moved to another page
    counts as lost on one and added on the other. A bag-of-words F1 would not notice a page
    read in the wrong order, which is exactly what document.txt must get right. A page present
    on one side only counts in full.
    """
    matched = total = 0
    for page in range(max(len(expected), len(actual))):
        want = expected[page] if page < len(expected) else []
        got = actual[page] if page < len(actual) else []
        total += len(want) + len(got)
        blocks = difflib.SequenceMatcher(None, want, got, autojunk=False).get_matching_blocks()
        matched += sum(block.size for block in blocks)
    return 1.0 if total == 0 else 2 * matched / total


def svg_words(svg: str) -> list[str]:
    """The words a reader of the SVG sees: text elements in order, a new line between baselines.

    Runs that share a baseline (same y and transform) are concatenated as they are: a word
    boundary between them is the space at the end of one or the start of the other. Runs on
    different baselines are different lines, hence different words.
    """
    root = ET.fromstring(svg.encode("utf-8"))
    text, previous = "", None
    for element in root.iter(f"{SVG}text"):
        baseline = (element.get("y"), element.get("transform"))
        if previous is not None and baseline != previous:
            text += "\n"
        text += element.text or ""
        previous = baseline
    return text.split()


def displayed_size(width: float, height: float, rotation: int) -> tuple[float, float]:
    """A page's size as a viewer shows it: width and height swapped for /Rotate 90 and 270."""
    return (height, width) if rotation % 180 else (width, height)


def pdf_page_size(page: PageObject) -> tuple[float, float]:
    return displayed_size(float(page.mediabox.width), float(page.mediabox.height), page.rotation)


@dataclass
class Processed:
    """One document and everything the pipeline made of it."""

    name: str
    source: bytes
    words: list[list[str]]
    record: JobRecord
    document: dict[str, Any]
    page_results: list[dict[str, Any]]
    text: str
    svgs: list[str]
    pdf: bytes

    @property
    def source_reader(self) -> PdfReader:
        return PdfReader(io.BytesIO(self.source))

    @property
    def rebuilt(self) -> PdfReader:
        return PdfReader(io.BytesIO(self.pdf))


@pytest.fixture(scope="module")
def processed(
    tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None
) -> Iterator[dict[str, Processed]]:
    """Every document run through one deployed stack (uploaded together, processed in parallel)."""
    # Parts of 2 pages: the rebuilt PDF is merged from several PdfExporter invocations, as large
    # documents' are, so every check below holds across part boundaries too.
    with pipeline(
        tmp_path_factory.mktemp("fidelity"), workers=4, parameters={"PdfPagesPerPart": "2"}
    ) as stack:
        uploads = {}
        for name, (pdf, _words) in DOCUMENTS.items():
            path = stack.account.work_dir / f"{name}.pdf"
            path.write_bytes(pdf)
            uploads[name] = stack.client.upload(path, key=f"in/{name}.pdf")
        results = {}
        for name, upload in uploads.items():
            record = stack.client.wait(upload.job_id, timeout=120)
            assert record is not None and record.status == JobStatus.COMPLETED, (name, record)
            outputs = record.outputs
            svg_keys = stack.keys("ResultsBucketName", outputs["svg_prefix"])
            result_keys = [
                key
                for key in stack.keys(
                    "WorkBucketName", layout.page_result_key(record.job_id, 1).rsplit("/", 1)[0]
                )
                if key.endswith(".json")  # the page results, not the images beside them
            ]
            pdf, words = DOCUMENTS[name]
            results[name] = Processed(
                name=name,
                source=pdf,
                words=words,
                record=record,
                document=json.loads(stack.read("ResultsBucketName", outputs["document_json"])),
                page_results=[json.loads(stack.read("WorkBucketName", key)) for key in result_keys],
                text=stack.read("ResultsBucketName", outputs["document_text"]).decode("utf-8"),
                svgs=[stack.read("ResultsBucketName", key).decode("utf-8") for key in svg_keys],
                pdf=stack.read("ResultsBucketName", outputs["document_pdf"]),
            )
        yield results


NAMES = list(DOCUMENTS)


@pytest.mark.parametrize("name", NAMES)
def test_document_json_and_page_results_match_their_schemas(
    processed: dict[str, Processed], name: str
) -> None:
    document = processed[name]
    assert validate_document(document.document) is True
    assert len(document.page_results) == len(document.words)
    for page_result in document.page_results:
        assert validate_page_result(page_result) is True


@pytest.mark.parametrize("name", NAMES)
def test_words_survive_every_output(processed: dict[str, Processed], name: str, record_property: Any) -> None:
    document = processed[name]
    recovered = {
        "document.json": [page["words"] for page in document.document["pages"]],
        "document.txt": [chunk.split() for chunk in document.text.split("\f")],
        "svg": [svg_words(svg) for svg in document.svgs],
        "pdf": [page.extract_text().split() for page in document.rebuilt.pages],
    }
    scores = {output: word_similarity(document.words, words) for output, words in recovered.items()}
    for output, score in scores.items():
        record_property(f"similarity {output}", round(score, 4))
    words = sum(len(page) for page in document.words)
    summary = ", ".join(f"{output} {score:.4f}" for output, score in scores.items())
    print(f"fidelity {name} ({len(document.words)} pages, {words} words): {summary}")
    assert all(score >= MIN_SIMILARITY for score in scores.values()), scores
    # document.json's words are its text's words, page by page.
    assert [page["text"].split() for page in document.document["pages"]] == recovered["document.json"]


@pytest.mark.parametrize("name", NAMES)
def test_page_sizes_match_the_source_as_displayed(
    processed: dict[str, Processed], name: str, record_property: Any
) -> None:
    # A person sees a page's MediaBox turned by its /Rotate: that is the size compared everywhere.
    document = processed[name]
    source = [pdf_page_size(page) for page in document.source_reader.pages]
    in_json = [
        displayed_size(page["width"], page["height"], page["rotation"]) for page in document.document["pages"]
    ]
    in_svg = []
    for svg in document.svgs:
        root = ET.fromstring(svg.encode("utf-8"))
        _x, _y, width, height = (float(value) for value in root.get("viewBox", "").split())
        assert (root.get("width"), root.get("height")) == (
            f"{root.get('viewBox', '').split()[2]}pt",
            f"{root.get('viewBox', '').split()[3]}pt",
        )
        in_svg.append((width, height))
    in_pdf = [pdf_page_size(page) for page in document.rebuilt.pages]
    deviation = 0.0
    for sizes in (in_json, in_svg, in_pdf):
        assert len(sizes) == len(source)
        deviation = max(
            deviation,
            *(
                abs(a - b)
                for got, want in zip(sizes, source, strict=True)
                for a, b in zip(got, want, strict=True)
            ),
        )
    record_property("page size max deviation (pt)", round(deviation, 4))
    print(f"fidelity {name}: page sizes {sorted(set(source))}, max deviation {deviation:.3f} pt")
    assert deviation <= MAX_SIZE_DEVIATION
    # The rebuilt pages also keep the source's page boxes and /Rotate themselves.
    for got, want in zip(document.rebuilt.pages, document.source_reader.pages, strict=True):
        assert got.rotation == want.rotation
        assert abs(float(got.mediabox.width) - float(want.mediabox.width)) <= MAX_SIZE_DEVIATION
        assert abs(float(got.mediabox.height) - float(want.mediabox.height)) <= MAX_SIZE_DEVIATION


@pytest.mark.parametrize("name", NAMES)
def test_svgs_are_well_formed_titled_pages(processed: dict[str, Processed], name: str) -> None:
    document = processed[name]
    assert len(document.svgs) == len(document.words)
    total = len(document.words)
    for number, svg in enumerate(document.svgs, start=1):
        root = ET.fromstring(svg.encode("utf-8"))  # well-formed, or this raises
        assert root.tag == f"{SVG}svg"
        title = root.findtext(f"{SVG}title") or ""
        assert f"{name}.pdf" in title and f"page {number} of {total}" in title
        # A white page, text or not, and no frame the source never had.
        assert [rect.get("fill") for rect in root.findall(f"{SVG}rect")] == ["#ffffff"]
        assert "not shown" not in svg
        families = {element.get("font-family") for element in root.iter(f"{SVG}text")}
        assert families <= {
            "Helvetica, Arial, sans-serif",
            "'Times New Roman', Times, serif",
            "'Courier New', Courier, monospace",
        }
        if not document.words[number - 1]:
            assert list(root.iter(f"{SVG}text")) == []


@pytest.mark.parametrize("name", NAMES)
def test_rebuilt_pdf_keeps_outline_metadata_and_line_positions(
    processed: dict[str, Processed], name: str, record_property: Any
) -> None:
    document = processed[name]
    source, rebuilt = document.source_reader, document.rebuilt
    assert len(rebuilt.pages) == len(source.pages)
    assert document_outline(rebuilt) == document_outline(source)
    assert document_outline(source)  # every sample has one
    source_info, rebuilt_info = document_metadata(source), document_metadata(rebuilt)
    for key in ("title", "author", "subject"):
        assert rebuilt_info[key] == source_info[key]
    # Every line starts where it starts in the source: the first run on each baseline of the
    # rebuilt page lies on a run of the source page (cairo places each line with its own matrix).
    worst = 0.0
    for number, page_json in enumerate(document.document["pages"], start=1):
        writer = PdfWriter()
        writer.add_page(rebuilt.pages[number - 1])
        single = io.BytesIO()
        writer.write(single)
        again = analyse_page(single.getvalue(), job_id="j", page_number=number, max_content_bytes=10**7)
        starts: dict[tuple[float, float], Any] = {}
        for run in again.runs:
            key = (round(run.y, 1), run.angle)
            if key not in starts or run.x < starts[key].x:
                starts[key] = run
        for run in starts.values():
            worst = max(
                worst, min(math.hypot(run.x - other["x"], run.y - other["y"]) for other in page_json["runs"])
            )
    record_property("line start max deviation (pt)", round(worst, 4))
    print(f"fidelity {name}: line starts in the rebuilt PDF, max deviation {worst:.3f} pt")
    assert worst <= MAX_SIZE_DEVIATION


@pytest.mark.parametrize("name", NAMES)
def test_document_text_keeps_reading_order_with_a_form_feed_between_pages(
    processed: dict[str, Processed], name: str
) -> None:
    document = processed[name]
    chunks = document.text.split("\f")
    assert len(chunks) == len(document.words)
    assert [chunk.split() for chunk in chunks] == document.words
    assert chunks == [page["text"] for page in document.document["pages"]]


def test_similarity_scores_what_it_says() -> None:
    pages = [["a", "b", "c", "d"], ["e", "f"]]
    assert word_similarity(pages, pages) == 1.0
    assert word_similarity(pages, [["a", "b", "c"], ["e", "f"]]) == pytest.approx(2 * 5 / 11)
    assert word_similarity(pages, [["a", "bc", "d"], ["e", "f"]]) == pytest.approx(2 * 4 / 11)  # glued words
    assert word_similarity(pages, [["d", "c", "b", "a"], ["e", "f"]]) < 0.7  # reading order lost
    assert word_similarity(pages, [["a", "b", "c", "d", "e", "f"], []]) == pytest.approx(2 * 4 / 12)
    assert word_similarity([], []) == 1.0


def test_svg_words_keep_runs_of_a_line_together() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg"><text x="1" y="10">Hello </text><text x="9" y="10">bo</text>'
        '<text x="12" y="10">ld</text><text x="1" y="20">next</text></svg>'
    )
    assert svg_words(svg) == ["Hello", "bold", "next"]
