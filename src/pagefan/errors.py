"""Every exception pagefan raises on purpose, and the codes that name them.

One module, so handlers and stages can map each kind to a job outcome. Every exception derives
from :class:`PagefanError` and carries a ``code``: a member of one of the closed sets below. The
values of :class:`RejectionCode` and :class:`PageFailureCode` are wire formats (logged with a
rejection, written into a failed page's reason in the jobs table): never change one.
"""

from __future__ import annotations

from enum import StrEnum


class RejectionCode(StrEnum):
    """Why the Splitter refused a document (the ``code`` of :class:`DocumentRejected`)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    NOT_A_PDF = "not_a_pdf"
    DAMAGED = "damaged"
    ENCRYPTED = "encrypted"
    PAGE_TREE_LOOP = "page_tree_loop"
    NO_PAGES = "no_pages"
    TOO_MANY_PAGES = "too_many_pages"


class PageFailureCode(StrEnum):
    """Why one page could not be analysed (the ``code`` of :class:`PageFailed`)."""

    DAMAGED_PAGE = "damaged_page"
    CONTENT_TOO_LARGE = "content_too_large"
    UNREADABLE_TEXT = "unreadable_text"
    TIME_BUDGET = "time_budget"
    MEMORY_BUDGET = "memory_budget"


class ErrorCode(StrEnum):
    """The code of each other error: one per exception class below."""

    FORMAT_VERSION = "format_version"
    SCHEMA_VIOLATION = "schema_violation"
    INVALID_TASK_INPUT = "invalid_task_input"
    CONFIGURATION = "configuration"
    OBJECT_TOO_LARGE = "object_too_large"
    MISSING_PAGE_RESULT = "missing_page_result"
    MISSING_PDF_PART = "missing_pdf_part"
    PAGE_NOT_RENDERED = "page_not_rendered"
    RENDERER_UNAVAILABLE = "renderer_unavailable"


class PagefanError(Exception):
    """Base of every error pagefan raises on purpose; ``code`` names its kind, ``str(exc)`` explains it."""

    code: StrEnum


# --- the document and its pages: the job goes on, and says why --------------------------------


class DocumentRejected(PagefanError):
    """The uploaded object cannot be processed; the job fails with ``str(exc)`` as its reason."""

    code: RejectionCode

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class PageFailed(PagefanError):
    """One page cannot be analysed; the page is recorded as failed with ``str(exc)`` and the code."""

    code: PageFailureCode

    def __init__(self, code: PageFailureCode, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- stored data and task inputs -----------------------------------------------------------------


class FormatVersionError(PagefanError):
    """A stored object was written by a format version this code cannot read."""

    code = ErrorCode.FORMAT_VERSION


_MAX_REPORTED_ERRORS = 20


class SchemaViolation(PagefanError):
    """A body does not match its schema; ``errors`` lists each problem as "path: message"."""

    code = ErrorCode.SCHEMA_VIOLATION

    def __init__(self, what: str, errors: list[str]) -> None:
        shown = "; ".join(errors[:_MAX_REPORTED_ERRORS])
        more = len(errors) - _MAX_REPORTED_ERRORS
        super().__init__(
            f"{what} does not match its schema: {shown}" + (f" (and {more} more)" if more > 0 else "")
        )
        self.errors = errors


class InvalidTaskInput(PagefanError):
    """A state machine task's input is not one this function accepts (a definition/code mismatch)."""

    code = ErrorCode.INVALID_TASK_INPUT


class ConfigurationError(PagefanError):
    """An environment variable the function needs is missing or malformed."""

    code = ErrorCode.CONFIGURATION


# --- S3 --------------------------------------------------------------------------------------------


class ObjectTooLarge(PagefanError):
    """An object is larger than its reader allows; found from its Content-Length, before its body."""

    code = ErrorCode.OBJECT_TOO_LARGE

    def __init__(self, bucket: str, key: str, *, size: int, max_bytes: int) -> None:
        super().__init__(f"s3://{bucket}/{key} is {size:,} bytes, more than the {max_bytes:,} allowed")
        self.size = size
        self.max_bytes = max_bytes


class MissingPageResult(PagefanError):
    """A page counted as done has no stored result (expired by lifecycle, or deleted)."""

    code = ErrorCode.MISSING_PAGE_RESULT


class MissingPdfPart(PagefanError):
    """A rendered page range is missing from the work bucket when the PDF is merged."""

    code = ErrorCode.MISSING_PDF_PART


# --- rendering -------------------------------------------------------------------------------------


class PageNotRendered(PagefanError):
    """One page could not be drawn as PDF; the message names the page and the renderer's error."""

    code = ErrorCode.PAGE_NOT_RENDERED


class RendererUnavailable(PagefanError):
    """The native cairo library cannot be loaded (the cairo layer is missing)."""

    code = ErrorCode.RENDERER_UNAVAILABLE
