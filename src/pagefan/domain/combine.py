"""Combine page results into ``document.json`` and ``document.txt``, streaming page by page.

Neither writer holds more than one page: the Combiner's memory does not grow with the page
count, however long the document. ``write_documents`` feeds both from one pass over the pages,
so each page result is read and parsed once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from typing import Any, TextIO

from pagefan.formats.document import DocumentInfo
from pagefan.formats.page_result import PageResult
from pagefan.formats.versions import FORMAT_VERSION

# Page result fields that document.json leaves out of each page: they are the same for every
# page and are said once at the top level.
_DOCUMENT_LEVEL_FIELDS = ("job_id", "format_version")


# Control characters a page's text may carry (a PDF can hold any). In document.txt a form feed
# would split the page in two and a NUL makes tools take the file for binary, so each becomes a
# space; tabs and line breaks stay. document.json keeps the text as it is (JSON escapes it).
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _dumps(value: Any) -> str:
    # The same options as pagefan.formats.versions.dumps, so document.json reads like every other body.
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def page_entry(page: PageResult) -> dict[str, Any]:
    """One page as document.json lists it: the page result without job id and format version.

    Args:
        page: A page's analysis.

    Returns:
        A JSON-ready dict (page_number, width, height, rotation, text, words, runs, image_count).

    """
    # document.json is the text model (format version 1): a page's graphics, images and text
    # colours are for the exporters, and stay in the page results.
    entry = page.to_v1_dict()
    for name in _DOCUMENT_LEVEL_FIELDS:
        entry.pop(name, None)
    return entry


def write_document_json(*, job_id: str, info: DocumentInfo, pages: Iterable[PageResult], out: TextIO) -> int:
    """Stream document.json to ``out``, one page at a time.

    The output is exactly what ``pagefan.formats.versions.dumps`` would write for the whole object
    (UTF-8 text, compact separators, keys sorted at every level), so the top-level keys come
    in this order: ``format_version``, ``job_id``, ``metadata``, ``outline``, ``pages``,
    ``pages_total``, ``source``. ``pages_total`` is the source's page count; ``pages`` holds the
    results given, which is fewer when pages failed.

    Args:
        job_id: The job's id (must match ``info`` and every page).
        info: The document facts the Splitter stored.
        pages: Page results in increasing page order.
        out: A text stream; write it as UTF-8.

    Returns:
        The number of pages written.

    Raises:
        ValueError: A page belongs to another job or is out of order (a caller's bug).

    """
    if info.job_id != job_id:
        raise ValueError(f"document info of job {info.job_id!r} given for job {job_id!r}")
    head = {
        "format_version": FORMAT_VERSION,
        "job_id": job_id,
        "metadata": info.metadata,
        "outline": [asdict(entry) for entry in info.outline],
    }
    tail = {"pages_total": info.pages_total, "source": asdict(info.source)}
    out.write("{")
    for key, value in head.items():
        out.write(f"{_dumps(key)}:{_dumps(value)},")
    out.write('"pages":[')
    written = 0
    previous = 0
    for page in pages:
        if page.job_id != job_id:
            raise ValueError(f"page {page.page_number} belongs to job {page.job_id!r}, not {job_id!r}")
        if page.page_number <= previous:
            raise ValueError(f"page {page.page_number} comes after page {previous}: pages must be in order")
        previous = page.page_number
        if written:
            out.write(",")
        out.write(_dumps(page_entry(page)))
        written += 1
    out.write("]")
    for key, value in tail.items():
        out.write(f",{_dumps(key)}:{_dumps(value)}")
    out.write("}")
    return written


def write_document_text(pages: Iterable[PageResult], out: TextIO) -> None:
    """Write the pages' text in order, with a form feed between pages (none after the last).

    Control characters in a page's text other than tab, line feed and carriage return (a form
    feed among them) are written as spaces, so form feeds separate pages and nothing else.

    Args:
        pages: Page results in page order.
        out: A text stream; write it as UTF-8.

    """
    for index, page in enumerate(pages):
        if index:
            out.write("\f")
        out.write(_page_text(page))


def _page_text(page: PageResult) -> str:
    return _TEXT_CONTROLS.sub(" ", page.text)


def write_documents(
    *, job_id: str, info: DocumentInfo, pages: Iterable[PageResult], json_out: TextIO, text_out: TextIO
) -> int:
    """Write document.json and document.txt from one pass over the pages.

    Each page goes to ``text_out`` (as ``write_document_text`` writes it) as ``write_document_json``
    takes it from the same iteration, so one page at a time is held and the pages are read once.
    On an error both outputs are incomplete; the caller discards them.

    Args:
        job_id: The job's id (must match ``info`` and every page).
        info: The document facts the Splitter stored.
        pages: Page results in increasing page order (iterated once).
        json_out: Where document.json goes; write it as UTF-8.
        text_out: Where document.txt goes; write it as UTF-8.

    Returns:
        The number of pages written.

    Raises:
        ValueError: As ``write_document_json``.

    """

    def also_as_text() -> Iterator[PageResult]:
        for index, page in enumerate(pages):
            if index:
                text_out.write("\f")
            text_out.write(_page_text(page))
            yield page

    return write_document_json(job_id=job_id, info=info, pages=also_as_text(), out=json_out)
