"""Open an uploaded document, read its metadata and outline, and cut it into single-page PDFs.

Everything here runs in the Splitter on untrusted bytes: every content problem becomes a
:class:`~pagefan.errors.DocumentRejected` with a stable ``code`` and a sentence a person can act
on; no parser exception escapes for a broken file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError, PdfReadError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    Destination,
    DictionaryObject,
    FloatObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from pagefan.domain.parsing import PARSE_ERRORS, detail, reader_size, streams_up_to
from pagefan.errors import DocumentRejected, RejectionCode
from pagefan.formats.document import OutlineEntry

HEADER = b"%PDF-"
# PDF readers (Acrobat among them) accept the header anywhere in the first 1024 bytes.
HEADER_SEARCH_BYTES = 1024

MAX_METADATA_ENTRIES = 64
MAX_METADATA_VALUE_CHARS = 4096
MAX_OUTLINE_DEPTH = 32
MAX_OUTLINE_ENTRIES = 10_000
MAX_TITLE_CHARS = 512

# Page keys not copied into single-page PDFs. /Annots and /B (article beads) can point at other
# pages, which would drag those pages (and through /Parent, the whole tree) into every split
# page; /Thumb is a preview image. What the PageWorker needs of the annotations, the appearances
# of the visible ones, is copied into new annotations that hold nothing else (_appearances).
_EXCLUDED_PAGE_KEYS = ("/Annots", "/B", "/Thumb")
# Annotations whose appearance is copied, at most, per page.
MAX_APPEARANCES = 500
# Annotation flags (PDF 32000-1, 12.5.3): Hidden and NoView annotations are not drawn.
_HIDDEN_FLAGS = 2 | 32
# Annotations a page never draws from an appearance of its own.
_UNDRAWN_SUBTYPES = ("/Link", "/Popup")
# A page's copied appearances may make its PDF this many times larger (and 1 MB) at most: an
# appearance whose resources reach other pages would drag them in, and is then left out.
_APPEARANCE_GROWTH = 4

# Signatures of formats people upload by mistake, checked against the first bytes.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (Word, Excel and PowerPoint files are ZIP archives too)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
    (b"\x1f\x8b", "a gzip archive"),
)


def _size_text(size: int) -> str:
    """Format a byte count for people: MB for large sizes, KB or bytes for small ones."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size} bytes"


def describe_content(data: bytes) -> str | None:
    """Guess cheaply what non-PDF bytes are, from their first bytes.

    Args:
        data: The start of the file (a few hundred bytes are enough).

    Returns:
        A phrase such as "a PNG image", or None when the bytes are not recognised.

    """
    for signature, description in _SIGNATURES:
        if data.startswith(signature):
            return description
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith((b"<?xml", b"<svg")):
        return "an XML or SVG document"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character cut at byte 512 is still text; anything else is binary.
        try:
            text = data[:508].decode("utf-8")
        except UnicodeDecodeError:
            return None
    if text and all(char.isprintable() or char in "\t\r\n\f" for char in text):
        return "plain text"
    return None


def _not_a_pdf(data: bytes) -> DocumentRejected:
    what = describe_content(data)
    looks_like = f" It looks like {what}." if what else ""
    return DocumentRejected(
        RejectionCode.NOT_A_PDF,
        f"The file is not a PDF: it does not start with the PDF header '%PDF-'.{looks_like}",
    )


def _damaged(data: bytes, exc: BaseException) -> DocumentRejected:
    # Most unreadable uploads are cut short; the end-of-file marker says so cheaply.
    if b"%%EOF" not in data[-2048:]:
        hint = "it looks truncated, as its end-of-file marker is missing; was the upload complete?"
    else:
        hint = "its structure (cross-reference table or objects) is broken."
    return DocumentRejected(
        RejectionCode.DAMAGED, f"The PDF is damaged and cannot be read: {hint} Detail: {detail(exc)}"
    )


def _unsupported_encryption(exc: BaseException) -> DocumentRejected:
    return DocumentRejected(
        RejectionCode.ENCRYPTED,
        f"The PDF is encrypted with a method pagefan cannot open ({detail(exc)}). "
        "Save an unprotected copy and upload it again.",
    )


def open_document(data: bytes, *, max_bytes: int, max_pages: int) -> PdfReader:
    """Recognise ``data`` as a PDF by its bytes, enforce the limits and return a reader.

    A document whose user password is empty opens (that is how "owner password only" PDFs
    work); one that needs a password is rejected.

    Args:
        data: The whole uploaded file.
        max_bytes: Largest accepted file size in bytes.
        max_pages: Largest accepted page count.

    Returns:
        A reader for the document, decrypted when needed, with at least one page.

    Raises:
        DocumentRejected: With code ``empty``, ``too_large``, ``not_a_pdf``, ``damaged``,
            ``encrypted``, ``page_tree_loop``, ``no_pages`` or ``too_many_pages``.

    """
    size = len(data)
    if size == 0:
        raise DocumentRejected(RejectionCode.EMPTY, "The file is empty (0 bytes).")
    if size > max_bytes:
        raise DocumentRejected(
            RejectionCode.TOO_LARGE,
            f"The file is {_size_text(size)}; pagefan accepts files of up to {_size_text(max_bytes)} "
            "(MaxUploadBytes parameter).",
        )
    offset = data.find(HEADER, 0, HEADER_SEARCH_BYTES + len(HEADER) - 1)
    if offset < 0:
        raise _not_a_pdf(data)
    # Offsets in the file are counted from the header, not from any junk in front of it.
    stream = BytesIO(memoryview(data)[offset:] if offset else data)
    with streams_up_to(size):
        try:
            reader = PdfReader(stream, strict=False)
        except (NotImplementedError, DependencyError) as exc:
            # The reader raises these only while setting up decryption (an unsupported handler,
            # such as certificate security, or a missing crypto package).
            raise _unsupported_encryption(exc) from exc
        except PARSE_ERRORS as exc:
            raise _damaged(data, exc) from exc
        _unlock(reader)
        pages = _count_pages(reader, max_pages)
    if pages == 0:
        raise DocumentRejected(RejectionCode.NO_PAGES, "The PDF has no pages.")
    if pages > max_pages:
        raise _too_many_pages(pages, max_pages)
    return reader


def _unlock(reader: PdfReader) -> None:
    """Open an encrypted document with the empty user password, or reject it."""
    try:
        if not reader.is_encrypted:
            return
        # decrypt returns PasswordType.NOT_DECRYPTED (0) when "" is not the user password.
        unlocked = bool(reader.decrypt(""))
    except (NotImplementedError, DependencyError) as exc:
        raise _unsupported_encryption(exc) from exc
    except PARSE_ERRORS as exc:
        raise DocumentRejected(
            RejectionCode.DAMAGED, f"The PDF's encryption settings are damaged ({detail(exc)})."
        ) from exc
    if not unlocked:
        raise DocumentRejected(
            RejectionCode.ENCRYPTED,
            "The PDF is protected by a password. Remove the password (save an unprotected copy) "
            "and upload it again.",
        )


def _count_pages(reader: PdfReader, max_pages: int) -> int:
    """Count pages by walking the page tree (never the /Count entry, which can lie)."""
    try:
        return len(reader.pages)
    except FileNotDecryptedError as exc:
        raise DocumentRejected(RejectionCode.ENCRYPTED, "The PDF is protected by a password.") from exc
    except LimitReachedError as exc:
        # pypdf stops listing pages at 100,000 tree entries and decompressing at 75 MB; our own
        # walk (bounded by max_pages) tells a document that is merely too long from a hostile one.
        if _walk_page_tree(reader, stop_after=max_pages).pages > max_pages:
            raise _too_many_pages(f"more than {max_pages}", max_pages) from exc
        raise DocumentRejected(
            RejectionCode.DAMAGED,
            f"The PDF goes past one of pagefan's safety limits while its pages are listed ({detail(exc)}); "
            "it may be a decompression bomb or a deliberately malformed file.",
        ) from exc
    except PdfReadError as exc:
        # pypdf has no dedicated exception type for a looped page tree, so confirm the loop
        # with our own walk rather than trusting the message text.
        if _walk_page_tree(reader, stop_after=max_pages).looped:
            raise DocumentRejected(
                RejectionCode.PAGE_TREE_LOOP,
                "The PDF's page tree refers back to itself (cyclic page references), "
                "so its pages cannot be listed.",
            ) from exc
        raise DocumentRejected(
            RejectionCode.DAMAGED, f"The PDF's pages cannot be read ({detail(exc)})."
        ) from exc
    except RecursionError as exc:
        raise DocumentRejected(
            RejectionCode.DAMAGED, "The PDF's page tree is nested too deeply to read."
        ) from exc
    except PARSE_ERRORS as exc:
        raise DocumentRejected(
            RejectionCode.DAMAGED, f"The PDF's pages cannot be read ({detail(exc)})."
        ) from exc


def _too_many_pages(count: int | str, max_pages: int) -> DocumentRejected:
    return DocumentRejected(
        RejectionCode.TOO_MANY_PAGES,
        f"The PDF has {count} pages; pagefan accepts documents of up to {max_pages} pages "
        "(MaxPages parameter).",
    )


@dataclass(frozen=True)
class _PageTreeWalk:
    """What a bounded walk of the page tree found: pages (leaves) counted, and a cycle."""

    pages: int
    looped: bool


def _walk_page_tree(reader: PdfReader, *, stop_after: int) -> _PageTreeWalk:
    """Walk /Pages depth-first; count its leaves, stopping past ``stop_after``; spot a cycle.

    A node that is its own ancestor is a cycle. The walk is iterative with an explicit stack
    (a hostile tree can be deeper than Python's stack) and visits at most a million nodes.
    """
    try:
        catalog: Any = reader.trailer["/Root"].get_object()
        root = catalog["/Pages"]
    except PARSE_ERRORS:
        return _PageTreeWalk(pages=0, looped=False)
    # ``ancestors`` holds the object numbers on the current path.
    ancestors: set[tuple[int, int]] = set()
    stack: list[tuple[Any, Iterator[Any] | None]] = [(root, None)]
    visited_nodes = leaves = 0
    while stack:
        node_ref, kids = stack[-1]
        if kids is None:
            key = (getattr(node_ref, "idnum", id(node_ref)), getattr(node_ref, "generation", 0))
            if key in ancestors:
                return _PageTreeWalk(pages=leaves, looped=True)
            visited_nodes += 1
            if visited_nodes > 1_000_000 or leaves > stop_after:
                return _PageTreeWalk(pages=leaves, looped=False)
            try:
                node = node_ref.get_object()
                children = node.get("/Kids") if hasattr(node, "get") else None
                kid_list = list(children.get_object()) if children is not None else None
            except PARSE_ERRORS:
                kid_list = []
            if kid_list is None:
                leaves += 1
                kid_list = []
            ancestors.add(key)
            stack[-1] = (node_ref, iter(kid_list))
            continue
        child = next(kids, None)
        if child is None:
            stack.pop()
            ancestors.discard((getattr(node_ref, "idnum", id(node_ref)), getattr(node_ref, "generation", 0)))
        else:
            stack.append((child, None))
    return _PageTreeWalk(pages=leaves, looped=False)


def _plain_text(value: Any, limit: int) -> str | None:
    """Turn a PDF object into a clean, bounded string; None for values that are not text."""
    if isinstance(value, ByteStringObject):
        # pypdf keeps bytes it could not decode as PDFDocEncoding or UTF-16; producers that
        # write such strings mostly mean UTF-8 or Latin-1 (which decodes anything).
        try:
            text = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(value).decode("latin-1")
    elif isinstance(value, TextStringObject | NameObject | NumberObject | str | int | float):
        text = str(value)
    else:
        return None
    # Control characters (NUL padding from broken UTF-16, escape codes) only cause trouble
    # in JSON consumers and XML outputs; tabs and newlines are kept as spaces.
    text = "".join(char if char.isprintable() else " " for char in text).strip()
    return text[:limit]


def document_metadata(reader: PdfReader) -> dict[str, str]:
    """Read the document information dictionary as plain strings.

    Keys lose their slash and are lower-cased (``/Title`` -> ``title``); values that are not
    text (dictionaries, arrays, streams) are skipped, and a broken dictionary gives ``{}``.

    Args:
        reader: A reader returned by :func:`open_document`.

    Returns:
        The metadata, at most 64 entries of at most 4096 characters each.

    """
    with streams_up_to(reader_size(reader)):
        return _metadata(reader)


def _metadata(reader: PdfReader) -> dict[str, str]:
    result: dict[str, str] = {}
    try:
        info = reader.metadata
        if info is None:
            return result
        for raw_key in list(info.keys()):
            if len(result) >= MAX_METADATA_ENTRIES:
                break
            key = (_plain_text(raw_key, 64) or "").lstrip("/").lower()
            if not key:
                # A key that is only a slash names nothing (and document.json's schema wants names).
                continue
            try:
                value = _plain_text(info[raw_key], MAX_METADATA_VALUE_CHARS)
            except PARSE_ERRORS:
                continue
            if value is not None:
                result[key] = value
    except PARSE_ERRORS:
        # Metadata is decoration: a broken info dictionary must not cost the document.
        return result
    return result


def document_outline(reader: PdfReader) -> list[OutlineEntry]:
    """Read the outline (bookmarks) as nested entries with 1-based page numbers.

    An entry whose target cannot be resolved gets ``page_number=None``. The walk is bounded
    (depth 32, 10,000 entries); a broken outline gives what could be read, or ``[]``.

    Args:
        reader: A reader returned by :func:`open_document`.

    Returns:
        The top-level entries, each with its children.

    """
    with streams_up_to(reader_size(reader)):
        try:
            raw = reader.outline
        except PARSE_ERRORS:
            return []
        budget = [MAX_OUTLINE_ENTRIES]
        return _outline_entries(reader, raw, depth=0, budget=budget)


def _outline_entries(reader: PdfReader, items: Any, *, depth: int, budget: list[int]) -> list[OutlineEntry]:
    # pypdf gives a flat list where a nested list holds the children of the entry before it.
    entries: list[OutlineEntry] = []
    if depth >= MAX_OUTLINE_DEPTH or not isinstance(items, list):
        return entries
    for item in items:
        if budget[0] <= 0:
            break
        if isinstance(item, list):
            if entries:
                entries[-1].children.extend(_outline_entries(reader, item, depth=depth + 1, budget=budget))
            continue
        if not isinstance(item, Destination):
            continue
        budget[0] -= 1
        entries.append(OutlineEntry(title=_outline_title(item), page_number=_outline_page(reader, item)))
    return entries


def _outline_title(item: Destination) -> str:
    try:
        title = _plain_text(item.title, MAX_TITLE_CHARS)
    except PARSE_ERRORS:
        title = None
    return title or "(untitled)"


def _outline_page(reader: PdfReader, item: Destination) -> int | None:
    try:
        index = reader.get_destination_page_number(item)
    except PARSE_ERRORS:
        return None
    if index is None or not 0 <= index < len(reader.pages):
        return None
    return index + 1


def split_pages(reader: PdfReader, first_page: int = 1) -> Iterator[tuple[int, bytes]]:
    """Yield ``(page_number, single_page_pdf)`` for every page from ``first_page`` on, in order.

    Pages are produced one at a time, so the caller can upload each and let it go: memory
    holds the reader plus one page. Each PDF keeps the page's boxes, /Rotate (inherited values
    included), resources and content streams (copied compressed, as they are). Article beads and
    thumbnails are left out, and so are annotations, but for new ones that carry only the
    appearance of each visible annotation (see ``_EXCLUDED_PAGE_KEYS`` and ``_with_appearances``).

    Args:
        reader: A reader returned by :func:`open_document`.
        first_page: The 1-based number of the first page to split: a split that resumes
            skips the pages already written.

    Yields:
        The 1-based page number and the bytes of a one-page PDF.

    Raises:
        DocumentRejected: ``damaged`` when a page cannot be copied out of the document.

    """
    size = reader_size(reader)
    for index in range(max(first_page, 1) - 1, len(reader.pages)):
        page_number = index + 1
        try:
            # A fresh writer per page: sharing one would accumulate every page's objects.
            with streams_up_to(size):
                writer = PdfWriter()
                writer.add_page(reader.pages[index], excluded_keys=_EXCLUDED_PAGE_KEYS)
                buffer = BytesIO()
                writer.write(buffer)
                plain = buffer.getvalue()
        except PARSE_ERRORS as exc:
            raise DocumentRejected(
                RejectionCode.DAMAGED,
                f"Page {page_number} of the PDF is damaged and cannot be copied ({detail(exc)}).",
            ) from exc
        yield page_number, _with_appearances(reader, index, plain, size)


def _appearances(page: Any) -> Iterator[tuple[NameObject, list[float], int, Any]]:
    """(subtype, rect, flags, normal appearance stream) of each visible annotation that has one."""
    try:
        annotations = page.get("/Annots")
        annotations = annotations.get_object() if annotations is not None else None
        entries = list(annotations)[:MAX_APPEARANCES] if isinstance(annotations, list) else []
    except PARSE_ERRORS:
        return
    for entry in entries:
        try:
            annotation = entry.get_object()
            if not isinstance(annotation, DictionaryObject):
                continue
            subtype = annotation.get("/Subtype")
            flags = int(annotation.get("/F", 0))
            if not isinstance(subtype, NameObject) or subtype in _UNDRAWN_SUBTYPES or flags & _HIDDEN_FLAGS:
                continue
            appearances = annotation.get("/AP")
            appearances = appearances.get_object() if appearances is not None else None
            normal = appearances.get("/N") if isinstance(appearances, DictionaryObject) else None
            normal = normal.get_object() if normal is not None else None
            if isinstance(normal, DictionaryObject) and not isinstance(normal, StreamObject):
                # One appearance per state (a check box): the one the annotation is in.
                state: Any = annotation.get("/AS")
                chosen: Any = normal.get(state) if state in normal else None
                normal = chosen.get_object() if chosen is not None else None
            if not isinstance(normal, StreamObject):
                continue
            corners: Any = annotation["/Rect"]
            rect = [float(value) for value in corners][:4]
        except PARSE_ERRORS:
            continue
        if len(rect) == 4:
            yield subtype, rect, flags, normal


def _with_appearances(reader: PdfReader, index: int, plain: bytes, size: int) -> bytes:
    """The one-page PDF ``plain`` with new annotations that hold only the visible appearances.

    Each new annotation has its subtype, rectangle, flags and normal appearance (a form XObject, with
    its resources): no action, destination, popup, parent or link to another page. When none is
    copied, or copying them would grow the page past _APPEARANCE_GROWTH, ``plain`` is kept.
    """
    found = list(_appearances(reader.pages[index]))
    if not found:
        return plain
    try:
        with streams_up_to(size):
            writer = PdfWriter()
            writer.add_page(reader.pages[index], excluded_keys=_EXCLUDED_PAGE_KEYS)
            for subtype, rect, flags, appearance in found:
                stream = appearance.clone(writer)
                reference = stream.indirect_reference or writer._add_object(stream)
                writer.add_annotation(
                    0,
                    DictionaryObject(
                        {
                            NameObject("/Type"): NameObject("/Annot"),
                            NameObject("/Subtype"): subtype,
                            NameObject("/Rect"): ArrayObject(FloatObject(value) for value in rect),
                            NameObject("/F"): NumberObject(flags),
                            NameObject("/AP"): DictionaryObject({NameObject("/N"): reference}),
                        }
                    ),
                )
            buffer = BytesIO()
            writer.write(buffer)
    except PARSE_ERRORS:
        return plain
    if len(buffer.getvalue()) > _APPEARANCE_GROWTH * len(plain) + 1_000_000:
        return plain
    return buffer.getvalue()
