"""Domain exceptions: one module, so handlers can map each kind to a job outcome."""

from __future__ import annotations


class PagefanError(Exception):
    """Base of every error pagefan raises on purpose."""


class DocumentRejected(PagefanError):
    """The uploaded object cannot be processed; the job fails with ``reason``.

    ``code`` is a stable, machine-readable name (``not_a_pdf``, ``too_many_pages`` ...);
    ``str(exc)`` is the sentence a person reads.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PageFailed(PagefanError):
    """One page cannot be analysed; the page is recorded as failed with ``reason``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class FormatVersionError(PagefanError):
    """A stored object was written by a format version this code cannot read."""


class InvalidTaskInput(PagefanError):
    """A state machine task's input is not one this function accepts (a definition/code mismatch)."""


class PageNotRendered(PagefanError):
    """One page could not be drawn as PDF; the message names the page and the renderer's error."""


class MissingPdfPart(PagefanError):
    """A rendered page range is missing from the work bucket when the PDF is merged."""


class RendererUnavailable(PagefanError):
    """The native cairo library cannot be loaded (the cairo layer is missing)."""


class ConfigurationError(PagefanError):
    """An environment variable the function needs is missing or malformed."""
