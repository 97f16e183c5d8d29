"""What pypdf raises on malformed input and how to quote it in a rejection; reading its objects."""

from __future__ import annotations

import struct
import zlib
from contextlib import AbstractContextManager
from typing import Any

from pypdf import Configuration, PdfReader, apply_configuration, get_configuration
from pypdf.errors import PyPdfError
from pypdf.generic import IndirectObject

# What pypdf and the Python it runs on raise for malformed input. Deliberately not ``Exception``:
# a programming error (NameError, ...) must surface as a bug, not as a "damaged" document.
# MemoryError is left out on purpose too: running out of memory is not the file's fault.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    PyPdfError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    AssertionError,
    ArithmeticError,
    RecursionError,
    EOFError,
    zlib.error,
    struct.error,
)

MAX_DETAIL_CHARS = 160


def detail(exc: BaseException) -> str:
    """Shorten a parser's message to one line, to help whoever reads the rejection.

    Args:
        exc: The exception pypdf raised.

    Returns:
        At most 160 characters; the exception's type name when it has no message.

    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 1] + "…"


def streams_up_to(size: int) -> AbstractContextManager[Configuration]:
    """Let pypdf read any stream that fits in a file of ``size`` bytes (by default it stops at 75 MB).

    pypdf refuses a stream whose declared /Length passes ``maximum_declared_stream_length``, so
    as not to read without end; from an in-memory file it can never read more than the file, so
    below the file's size the limit only refused large, legitimate images (a 90 MB scan under the
    100 MB MaxUploadBytes came out "damaged").

    Args:
        size: The size of the file the reader reads, in bytes.

    Returns:
        A context manager applying the raised limit (never lowering pypdf's).

    """
    limit = max(size, get_configuration().maximum_declared_stream_length)
    return apply_configuration(maximum_declared_stream_length=limit)


def reader_size(reader: PdfReader) -> int:
    """The size in bytes of the file ``reader`` reads (its position is left as it was)."""
    stream = reader.stream
    position = stream.tell()
    size = stream.seek(0, 2)
    stream.seek(position)
    return size


def resolve(obj: Any) -> Any:
    """The object an indirect reference points at; any other object as it is."""
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def object_key(obj: Any, resolved: Any) -> tuple[int, int] | int:
    """Identity of a PDF object: its object number when indirect, else the Python object."""
    if isinstance(obj, IndirectObject):
        return (obj.idnum, obj.generation)
    return id(resolved)
