"""What pypdf raises on malformed input, and how to quote it in a rejection."""

from __future__ import annotations

import struct
import zlib

from pypdf.errors import PyPdfError

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
