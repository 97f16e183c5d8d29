"""State machine payloads: the input of a DocumentJob execution and of the tasks it invokes.

They carry ids and counts only, never document content (Step Functions' 256 KB limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from pagefan.errors import InvalidTaskInput
from pagefan.formats.versions import FORMAT_VERSION, check_format_version


@dataclass(frozen=True)
class JobInput:
    """Input of a DocumentJob execution (and of the Combiner and both exporters).

    ``rejection`` is set when the job must end without processing (the Splitter refused the
    document, or its first execution was aborted): the execution then only marks the job FAILED
    with that reason, at ``rejection_stage``.
    """

    job_id: str
    pages_total: int
    deadline: str
    rejection: str | None = None
    rejection_stage: str = "split"
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (the rejection fields omitted when unset, for the ASL's IsPresent)."""
        data = asdict(self)
        if self.rejection is None:
            del data["rejection"], data["rejection_stage"]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobInput:
        """Parse a task input, rejecting unknown format versions."""
        check_format_version(data, "job input")
        return cls(
            job_id=str(data["job_id"]),
            pages_total=int(data["pages_total"]),
            deadline=str(data["deadline"]),
            rejection=data.get("rejection"),
            rejection_stage=str(data.get("rejection_stage", "split")),
        )


class PdfExportMode(StrEnum):
    """What one PdfExporter invocation does (the ``mode`` of a :class:`PdfExportInput`)."""

    PART = "part"
    """Render one range of pages into a part PDF in the work bucket (one Map iteration)."""
    MERGE = "merge"
    """Concatenate every part into document.pdf with the source's metadata and outline."""
    DOCUMENT = "document"
    """Render and merge every page in one invocation: the input was a bare JobInput, as the
    definition before page ranges sent it (an execution started before an upgrade)."""


def pdf_part_ranges(pages_total: int, pages_per_part: int) -> list[tuple[int, int]]:
    """The (first, last) page ranges of a job's parts, in page order.

    The state machine lists the same first pages with ``States.ArrayRange(1, pages_total,
    pages_per_part)``; the last page of each is ``min(first + pages_per_part - 1, pages_total)``.
    """
    return [
        (first, min(first + pages_per_part - 1, pages_total))
        for first in range(1, pages_total + 1, pages_per_part)
    ]


@dataclass(frozen=True)
class PdfExportInput:
    """Input of a PdfExporter invocation: render one part, or merge the parts.

    The DocumentJob's Map sends ``{"mode": "part", "job": JobInput, "pages_per_part", "first_page"}``
    once per range, then ``{"mode": "merge", "job", "pages_per_part"}``. Both sides derive the ranges
    from ``pages_total`` and ``pages_per_part`` (:func:`pdf_part_ranges`), so no payload lists them
    (Step Functions' 256 KB limit) and a part's key is known to the merge without being passed.
    """

    mode: PdfExportMode
    job: JobInput
    pages_per_part: int
    first_page: int | None = None
    format_version: int = FORMAT_VERSION

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.job_id

    @property
    def pages_total(self) -> int:
        """The job's page count."""
        return self.job.pages_total

    @property
    def page_range(self) -> tuple[int, int]:
        """First and last page (inclusive) of this invocation's part; every page when merging."""
        if self.first_page is None:
            return 1, self.job.pages_total
        return self.first_page, min(self.first_page + self.pages_per_part - 1, self.job.pages_total)

    @property
    def part_ranges(self) -> list[tuple[int, int]]:
        """Every part's page range, in order."""
        return pdf_part_ranges(self.job.pages_total, self.pages_per_part)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (``first_page`` omitted when merging)."""
        data: dict[str, Any] = {
            "format_version": self.format_version,
            "mode": self.mode.value,
            "job": self.job.to_dict(),
            "pages_per_part": self.pages_per_part,
        }
        if self.first_page is not None:
            data["first_page"] = self.first_page
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PdfExportInput:
        """Parse a task input, rejecting unknown versions and ranges the plan cannot have made.

        A bare JobInput (no ``mode``) is the whole document in one invocation
        (:attr:`PdfExportMode.DOCUMENT`).
        """
        if "mode" not in data:
            job = JobInput.from_dict(data)
            return cls(mode=PdfExportMode.DOCUMENT, job=job, pages_per_part=max(job.pages_total, 1))
        check_format_version(data, "PDF export input")
        mode = data["mode"]
        job = JobInput.from_dict(data["job"])
        pages_per_part: int = data.get("pages_per_part", 0)
        if not _is_count(pages_per_part) or pages_per_part < 1:
            raise InvalidTaskInput(f"pages_per_part must be a positive integer, not {pages_per_part!r}")
        if mode == PdfExportMode.MERGE:
            return cls(mode=PdfExportMode.MERGE, job=job, pages_per_part=pages_per_part)
        if mode != PdfExportMode.PART:
            raise InvalidTaskInput(
                f"mode must be {PdfExportMode.PART.value!r} or {PdfExportMode.MERGE.value!r}, not {mode!r}"
            )
        first: int = data.get("first_page", 0)
        starts = range(1, job.pages_total + 1, pages_per_part)
        if not _is_count(first) or first not in starts:
            # A part that starts anywhere else would be written under a key the merge never reads.
            raise InvalidTaskInput(
                f"first_page {first!r} is not the start of a part of {pages_per_part} pages "
                f"in a document of {job.pages_total} pages"
            )
        return cls(mode=PdfExportMode.PART, job=job, pages_per_part=pages_per_part, first_page=first)


def _is_count(value: Any) -> bool:
    # bool is an int to Python: true must not pass for 1.
    return isinstance(value, int) and not isinstance(value, bool)
