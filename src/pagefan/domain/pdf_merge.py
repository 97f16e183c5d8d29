"""Merge PDFs into the rebuilt document, streaming, with the source's metadata and outline.

pypdf only, no cairo: the PdfExporter's merge invocation copies the parts it rendered in other
invocations (:mod:`pagefan.domain.pdf_render`), one part in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any, BinaryIO

from pypdf import PageObject, PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
    create_string_object,
)

from pagefan.formats.document import OutlineEntry

# Document info keys copied into the rebuilt PDF (pagefan metadata key -> PDF info key).
METADATA_KEYS = {
    "title": "/Title",
    "author": "/Author",
    "subject": "/Subject",
    "keywords": "/Keywords",
    "creator": "/Creator",
}

MAX_OUTLINE_DEPTH = 64


def merge_pdf(
    pages: Iterable[bytes],
    *,
    metadata: Mapping[str, str],
    outline: Sequence[OutlineEntry],
    out: BinaryIO,
) -> int:
    """Merge PDFs, in order, into one PDF with the source's metadata and outline, streaming.

    Each PDF is parsed as it arrives and its pages' objects are written to ``out`` at once, then
    dropped: memory holds one input PDF (a page, or a part of many pages) and a few numbers per
    page, whatever the page count. (pypdf's PdfWriter would keep every page's objects until the
    end: about 320 MB per 1,000 rebuilt pages.) Objects an input shares between its pages, such
    as a part's fonts, are written once. Outline entries pointing at no page (or past the last
    one) are left out; their children are kept, attached one level up.

    Args:
        pages: PDFs to append, one page each or many (all their pages are appended).
        metadata: The source's metadata (``title``, ``author``, ``subject``, ``keywords``,
            ``creator`` are copied when present).
        outline: The source's outline, with 1-based page numbers.
        out: Where the merged PDF is written: an empty file or buffer (object offsets count from
            its start).

    Returns:
        The number of pages written.

    """
    writer = _ObjectWriter(out)
    pages_root = writer.reserve()
    page_numbers: list[int] = []
    for data in pages:
        page_numbers.extend(_copy_pages(PdfReader(BytesIO(data)), writer, pages_root))
    kids = ArrayObject(_ref(number) for number in page_numbers)
    writer.write(
        pages_root,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): kids,
                NameObject("/Count"): NumberObject(len(page_numbers)),
            }
        ),
    )
    catalog = DictionaryObject(
        {NameObject("/Type"): NameObject("/Catalog"), NameObject("/Pages"): _ref(pages_root)}
    )
    entries = _outline_within(outline, len(page_numbers), 0)
    if entries:
        catalog[NameObject("/Outlines")] = _ref(_write_outline(writer, entries, page_numbers))
    info = DictionaryObject({NameObject("/Producer"): create_string_object("pagefan (pypdf)")})
    for key, pdf_key in METADATA_KEYS.items():
        if metadata.get(key):
            info[NameObject(pdf_key)] = create_string_object(metadata[key])
    root = writer.reserve()
    writer.write(root, catalog)
    info_number = writer.reserve()
    writer.write(info_number, info)
    writer.finish(root=root, info=info_number)
    return len(page_numbers)


# Page attributes a page may inherit from its page tree (ISO 32000-1, 7.7.3.4): copied onto the
# page, since the merged document has a page tree of its own.
_INHERITABLE = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def _ref(number: int) -> IndirectObject:
    return IndirectObject(number, 0, None)


class _ObjectWriter:
    """Writes a PDF one numbered object at a time; keeps only each object's offset."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._position = 0
        self._offsets: dict[int, int] = {}
        self._count = 0
        # The comment of high bytes tells transfer tools the file is binary (ISO 32000-1, 7.5.2).
        self._emit(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self._position += len(data)

    def reserve(self) -> int:
        """A new object number, to refer to before the object is written."""
        self._count += 1
        return self._count

    def write(self, number: int, obj: PdfObject) -> None:
        """Write object ``number`` (reserved, not yet written)."""
        self._offsets[number] = self._position
        body = BytesIO()
        obj.write_to_stream(body)
        self._emit(b"%d 0 obj\n" % number + body.getvalue() + b"\nendobj\n")

    def finish(self, *, root: int, info: int) -> None:
        """Write the cross-reference table and the trailer."""
        missing = set(range(1, self._count + 1)) - set(self._offsets)
        if missing:
            raise AssertionError(f"objects reserved but never written: {sorted(missing)[:5]}")
        start = self._position
        table = [b"xref\n0 %d\n0000000000 65535 f \n" % (self._count + 1)]
        table += [b"%010d 00000 n \n" % self._offsets[number] for number in range(1, self._count + 1)]
        trailer = b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\n" % (self._count + 1, root, info)
        self._emit(b"".join(table) + trailer + b"startxref\n%d\n%%%%EOF\n" % start)


def _copy_pages(reader: PdfReader, writer: _ObjectWriter, pages_root: int) -> list[int]:
    """Write every page of ``reader`` and what it references; return the pages' new numbers."""
    numbers: dict[tuple[int, int], int] = {}
    pending: list[IndirectObject] = []

    def renumber(reference: IndirectObject) -> IndirectObject:
        key = (reference.idnum, reference.generation)
        if key not in numbers:
            numbers[key] = writer.reserve()
            pending.append(reference)
        return _ref(numbers[key])

    def remap(obj: Any) -> Any:
        # dict.items and list iteration give references as they are (pypdf would resolve them).
        if isinstance(obj, IndirectObject):
            return renumber(obj)
        if isinstance(obj, StreamObject):
            stream = StreamObject()
            stream._data = obj._data  # as stored: never decoded, never encoded again
            stream.update({key: remap(value) for key, value in dict.items(obj) if key != "/Length"})
            return stream
        if isinstance(obj, DictionaryObject):
            return DictionaryObject({key: remap(value) for key, value in dict.items(obj)})
        if isinstance(obj, ArrayObject):
            return ArrayObject(remap(value) for value in list.__iter__(obj))
        return obj

    page_keys: dict[tuple[int, int], PageObject] = {}
    page_numbers = []
    for page in reader.pages:
        reference = page.indirect_reference
        if reference is None:  # a page pypdf built itself; never the case for a parsed file
            raise ValueError("a page without an object number cannot be copied")
        page_keys[(reference.idnum, reference.generation)] = page
        page_numbers.append(renumber(reference).idnum)
    while pending:
        reference = pending.pop()
        key = (reference.idnum, reference.generation)
        if key in page_keys:
            page = page_keys.pop(key)
            copied = DictionaryObject({k: remap(v) for k, v in dict.items(page) if k != "/Parent"})
            for name in _INHERITABLE:
                if name not in copied:
                    inherited = _inherited(page, name)
                    if inherited is not None:
                        copied[NameObject(name)] = remap(inherited)
            copied[NameObject("/Parent")] = _ref(pages_root)
            writer.write(numbers[key], copied)
        else:
            writer.write(numbers[key], remap(reference.get_object()))
    return page_numbers


def _inherited(page: DictionaryObject, name: str) -> Any:
    node: Any = page
    for _ in range(64):  # a page tree that loops ends here
        parent = dict.get(node, "/Parent")
        if parent is None:
            return None
        node = parent.get_object()
        if name in node:
            return dict.get(node, name)
    return None


@dataclass(frozen=True)
class _KeptEntry:
    title: str
    page_index: int
    children: list[_KeptEntry]


def _outline_within(entries: Sequence[OutlineEntry], page_count: int, depth: int) -> list[_KeptEntry]:
    """The outline entries that point at a page of the document, children of dropped ones lifted."""
    kept: list[_KeptEntry] = []
    if depth >= MAX_OUTLINE_DEPTH:
        return kept
    for entry in entries:
        children = _outline_within(entry.children, page_count, depth + 1)
        page = entry.page_number
        if page is None or not 1 <= page <= page_count:
            kept.extend(children)
        else:
            kept.append(_KeptEntry(entry.title, page - 1, children))
    return kept


def _write_outline(writer: _ObjectWriter, entries: list[_KeptEntry], page_numbers: list[int]) -> int:
    """Write the outline tree (every entry open, each going to its page); return its root's number."""
    root = writer.reserve()
    first, last, count = _write_outline_level(writer, entries, page_numbers, root)
    writer.write(
        root,
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Outlines"),
                NameObject("/First"): _ref(first),
                NameObject("/Last"): _ref(last),
                NameObject("/Count"): NumberObject(count),
            }
        ),
    )
    return root


def _write_outline_level(
    writer: _ObjectWriter, entries: list[_KeptEntry], page_numbers: list[int], parent: int
) -> tuple[int, int, int]:
    """Write sibling entries and their children.

    Returns the first's and the last's numbers, and how many entries show when every entry is open
    (the /Count of ISO 32000-1, 12.3.3).
    """
    numbers = [writer.reserve() for _ in entries]
    shown = len(entries)
    for index, (entry, number) in enumerate(zip(entries, numbers, strict=True)):
        item = DictionaryObject(
            {
                NameObject("/Title"): create_string_object(entry.title),
                NameObject("/Parent"): _ref(parent),
                NameObject("/Dest"): ArrayObject([_ref(page_numbers[entry.page_index]), NameObject("/Fit")]),
            }
        )
        if index > 0:
            item[NameObject("/Prev")] = _ref(numbers[index - 1])
        if index + 1 < len(numbers):
            item[NameObject("/Next")] = _ref(numbers[index + 1])
        if entry.children:
            first, last, count = _write_outline_level(writer, entry.children, page_numbers, number)
            item.update({NameObject("/First"): _ref(first), NameObject("/Last"): _ref(last)})
            item[NameObject("/Count")] = NumberObject(count)
            shown += count
        writer.write(number, item)
    return numbers[0], numbers[-1], shown
