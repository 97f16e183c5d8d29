"""Bounds on one page's content, checked before the heavy work (and right after the text's).

A hostile page may nest or fan out forms without end, decompress a few kilobytes into
gigabytes, or draw text that expands past anything a real page holds. Each guard here fails the
page with ``content_too_large`` (or keeps its graphics unread) before that costs the PageWorker
its time or memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pypdf import PageObject, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.generic import ArrayObject, StreamObject

from pagefan.domain.parsing import PARSE_ERRORS, detail, object_key, resolve
from pagefan.errors import PageFailed, PageFailureCode
from pagefan.formats.page_result import TextRun

# Form XObjects nest; real documents rarely go beyond three levels. The bounds stop hostile
# files that nest or fan out without end from turning the image count into the heavy work.
MAX_XOBJECT_DEPTH = 12
MAX_XOBJECTS = 10_000
MAX_CONTENT_STREAMS = 10_000
# pypdf repairs a corrupt zlib stream one byte at a time (about 1 s per MB); beyond this many
# input bytes it gives up instead of spending the page's time budget (default: 5 MB).
MAX_ZLIB_REPAIR_BYTES = 1_000_000

# Characters of text one page may yield. A dense real page holds tens of thousands; this bound
# keeps the page result (read whole by the Combiner and both exporters, the SvgExporter in 256 MB)
# small whatever a page draws: a form drawn a thousand times, a font mapping each code to 256
# characters, one 50 MB string.
MAX_PAGE_TEXT_CHARS = 1_000_000
# Text runs one page may yield, for the same reason: 200,000 runs take the SvgExporter to 230 of
# its 256 MB. A page that places every glyph on its own rarely has 10,000.
MAX_PAGE_RUNS = 100_000


def page_xobjects(resources: Any) -> tuple[list[StreamObject], int]:
    """Walk the resources' XObjects (through nested forms): return the forms and the image count.

    Images are counted once however often they are referenced; the walk is iterative and
    bounded in depth and in objects visited.
    """
    forms: list[StreamObject] = []
    images = 0
    seen: set[tuple[int, int] | int] = set()
    pending: list[tuple[Any, int]] = [(resources, 0)]
    while pending:
        current, depth = pending.pop()
        try:
            resource_dict = resolve(current)
            if not isinstance(resource_dict, dict):
                continue
            xobject_dict = resolve(resource_dict.get("/XObject"))
            if not isinstance(xobject_dict, dict):
                continue
            entries = list(xobject_dict.values())
        except PARSE_ERRORS:
            continue
        for entry in entries:
            if len(seen) >= MAX_XOBJECTS:
                return forms, images
            try:
                xobject = resolve(entry)
                key = object_key(entry, xobject)
                if key in seen or not isinstance(xobject, StreamObject):
                    continue
                seen.add(key)
                subtype = xobject.get("/Subtype")
            except PARSE_ERRORS:
                continue
            if subtype == "/Image":
                images += 1
            elif subtype == "/Form":
                forms.append(xobject)
                if depth + 1 < MAX_XOBJECT_DEPTH and "/Resources" in xobject:
                    pending.append((xobject["/Resources"], depth + 1))
    return forms, images


def page_contents(page: PageObject) -> Iterator[StreamObject]:
    """The page's content streams (one stream or an array of them)."""
    contents = resolve(page.get("/Contents"))
    if isinstance(contents, StreamObject):
        yield contents
    elif isinstance(contents, ArrayObject):
        for item in list(contents)[:MAX_CONTENT_STREAMS]:
            stream = resolve(item)
            if isinstance(stream, StreamObject):
                yield stream


def _decoded_length(stream: StreamObject, budget: int) -> int:
    """Decode ``stream`` with every pypdf decompression limit set to just over ``budget``.

    pypdf stops decompressing once a limit is passed, so a decompression bomb costs at most
    ``budget`` bytes here instead of pypdf's 75 MB default; a normal stream is decoded once and
    cached by pypdf for the text extraction that follows.
    """
    limit = budget + 1  # 0 would mean "no limit" to pypdf
    with apply_configuration(
        zlib_maximum_recovery_input_length=min(limit, MAX_ZLIB_REPAIR_BYTES),
        zlib_maximum_output_length=limit,
        lzw_maximum_output_length=limit,
        run_length_maximum_output_length=limit,
        brotli_maximum_output_length=limit,
        array_based_stream_maximum_output_length=limit,
    ):
        return len(stream.get_data())


def content_too_large(
    page_number: int, max_content_bytes: int | None, exc: BaseException | None = None
) -> PageFailed:
    """The failure of a page past ``max_content_bytes``, or (None) past one of pypdf's own limits."""
    if max_content_bytes is None:
        what = "one of its objects passed a safety limit" + (f" ({detail(exc)})" if exc else "")
    else:
        what = (
            f"its content is larger than {max_content_bytes:,} bytes once decompressed "
            "(MaxPageContentBytes parameter), or a damaged stream is too large to repair"
        )
    return PageFailed(
        PageFailureCode.CONTENT_TOO_LARGE,
        f"Page {page_number} was not analysed: {what}. "
        "It may be a decompression bomb or an extremely complex page.",
    )


def check_content_size(
    page: PageObject, forms: list[StreamObject], page_number: int, limit: int
) -> list[StreamObject]:
    """Fail the page when its decompressed content streams (page and forms) exceed ``limit``.

    Returns:
        The forms that could be decoded (pypdf keeps their data, and the page's, decoded).

    """
    remaining = limit
    decoded_forms: list[StreamObject] = []
    try:
        streams = list(page_contents(page))
    except PARSE_ERRORS as exc:
        raise PageFailed(
            PageFailureCode.DAMAGED_PAGE, f"Page {page_number}'s content cannot be read ({detail(exc)})."
        ) from exc
    for index, stream in enumerate([*streams, *forms]):
        is_form = index >= len(streams)
        try:
            remaining -= _decoded_length(stream, remaining)
        except LimitReachedError as exc:
            raise content_too_large(page_number, limit) from exc
        except PARSE_ERRORS as exc:
            if is_form:
                # The text extraction skips a form it cannot decode; so does the size check.
                continue
            raise PageFailed(
                PageFailureCode.DAMAGED_PAGE,
                f"Page {page_number}'s content stream cannot be decoded ({detail(exc)}).",
            ) from exc
        if remaining < 0:
            raise content_too_large(page_number, limit)
        if is_form:
            decoded_forms.append(stream)
    return decoded_forms


def check_extracted_text(page_number: int, text: str, runs: list[TextRun]) -> None:
    """Fail the page when its extracted text or runs pass MAX_PAGE_TEXT_CHARS or MAX_PAGE_RUNS."""
    if len(text) > MAX_PAGE_TEXT_CHARS:
        raise PageFailed(
            PageFailureCode.CONTENT_TOO_LARGE,
            f"Page {page_number} was not analysed: its text is {len(text):,} characters long, more than the "
            f"{MAX_PAGE_TEXT_CHARS:,} pagefan accepts for one page. It may be a text bomb (a font or a form "
            "that repeats text without end).",
        )
    if len(runs) > MAX_PAGE_RUNS:
        raise PageFailed(
            PageFailureCode.CONTENT_TOO_LARGE,
            f"Page {page_number} was not analysed: it places {len(runs):,} separate pieces of "
            f"text, more than the {MAX_PAGE_RUNS:,} pagefan accepts for one page.",
        )


# Form XObjects drawn on one page, counted through every nesting (a form drawn by two forms
# counts twice). pdfium expands every form when it loads a page, in native code that no time
# budget interrupts: a form that draws itself, or a few levels that each draw the next twice,
# would take it forever. Such a page keeps its text; its graphics are not read.
MAX_FORM_DRAWS = 10_000


def form_draws(resources: Any, depth_limit: int) -> int | None:
    """How many forms the page may draw (each form's /XObject resources taken as drawn once).

    Returns None when a form can draw itself (a cycle), or the count passes MAX_FORM_DRAWS.
    """
    counts: dict[tuple[int, int] | int, int] = {}
    active: set[tuple[int, int] | int] = set()

    def forms_of(owner: Any) -> list[tuple[Any, StreamObject]]:
        try:
            resource_dict = resolve(owner)
            xobject_dict = resolve(resource_dict.get("/XObject")) if isinstance(resource_dict, dict) else None
            if not isinstance(xobject_dict, dict):
                return []
            found = []
            for entry in list(xobject_dict.values())[:MAX_XOBJECTS]:
                xobject = resolve(entry)
                if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form":
                    found.append((entry, xobject))
            return found
        except PARSE_ERRORS:
            return []

    def draws(resources: Any, depth: int) -> int | None:
        total = 0
        for entry, form in forms_of(resources):
            key = object_key(entry, form)
            if key in active:
                return None
            if key not in counts:
                if depth >= depth_limit:
                    counts[key] = 1
                else:
                    active.add(key)
                    inner = draws(form.get("/Resources"), depth + 1)
                    active.discard(key)
                    if inner is None:
                        return None
                    counts[key] = 1 + inner
            total += counts[key]
            if total > MAX_FORM_DRAWS:
                return None
        return total

    return draws(resources, 0)
