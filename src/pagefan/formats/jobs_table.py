"""The jobs table: a job item per job, an item per finished page, and how readers see them.

Its keys, statuses and timestamps are read by the DocumentJob state machine too (a direct
DynamoDB integration): their values are a wire format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pagefan.formats.document import SourceRef
from pagefan.formats.versions import FORMAT_VERSION, check_format_version

JOB_ITEM_SORT_KEY = "JOB"
PAGE_ITEM_SORT_KEY_PREFIX = "PAGE#"
FIRST_FAILURE_SORT_KEY = "FIRST_FAILURE"
"""The item that keeps the first failed page's note (``page N: reason``) for the job's error."""


def page_sort_key(page_number: int) -> str:
    """Sort key of one page's item in the jobs table."""
    return f"{PAGE_ITEM_SORT_KEY_PREFIX}{page_number:05d}"


class JobStatus(StrEnum):
    """Values of a job item's ``status`` attribute (also used verbatim by the state machine)."""

    SPLITTING = "SPLITTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        """Whether a job in this status has ended (COMPLETED or FAILED)."""
        return self in (JobStatus.COMPLETED, JobStatus.FAILED)


class PageStatus(StrEnum):
    """Values of a page item's ``status`` attribute."""

    DONE = "DONE"
    FAILED = "FAILED"


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the stage that failed and a sentence a person can act on."""

    stage: str
    reason: str

    @classmethod
    def from_item(cls, data: Mapping[str, Any]) -> JobError:
        """Build from the ``error`` map of a job item, unwrapping Lambda error payloads."""
        return cls(stage=str(data.get("stage", "unknown")), reason=readable_cause(data.get("reason", "")))


def readable_cause(cause: Any) -> str:
    """Turn a Step Functions error Cause into a sentence.

    A Lambda failure's Cause is a JSON document with ``errorMessage``; anything else is kept.
    """
    text = str(cause)
    try:
        decoded = json.loads(text)
    except ValueError:
        return text
    if isinstance(decoded, dict) and "errorMessage" in decoded:
        return str(decoded["errorMessage"])
    return text


@dataclass(frozen=True)
class PageCounts:
    """A job's recorded pages, counted from its page items."""

    done: int
    failed: int


@dataclass(frozen=True)
class JobRecord:
    """A job item of the jobs table, as readers see it.

    ``pages_done`` and ``pages_failed`` are not stored on the job item: the reader counts them
    from the page items (``JobStore.get_job``), and they are 0 when it did not.
    """

    job_id: str
    status: JobStatus
    source: SourceRef
    pages_total: int
    created_at: str
    updated_at: str
    deadline: str | None
    outputs: dict[str, str]
    error: JobError | None
    pages_done: int = 0
    pages_failed: int = 0
    pages_split: int = 0
    """While the job is SPLITTING: pages 1 to this are written, so a retried split starts after them."""
    format_version: int = FORMAT_VERSION

    @property
    def terminal(self) -> bool:
        """Whether the job has ended (COMPLETED or FAILED)."""
        return self.status.terminal

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> JobRecord:
        """Build from a deserialised DynamoDB item (numbers may be Decimal)."""
        check_format_version({"format_version": int(item.get("format_version", 0))}, "job item")
        error = item.get("error")
        return cls(
            job_id=str(item["job_id"]),
            status=JobStatus(str(item["status"])),
            source=SourceRef.from_dict(item["source"]),
            pages_total=int(item.get("pages_total", 0)),
            created_at=str(item["created_at"]),
            updated_at=str(item.get("updated_at", item["created_at"])),
            deadline=None if item.get("deadline") is None else str(item["deadline"]),
            outputs={str(k): str(v) for k, v in (item.get("outputs") or {}).items()},
            error=JobError.from_item(error) if error else None,
            pages_split=int(item.get("pages_split", 0)),
        )


@dataclass(frozen=True)
class PageRecord:
    """A page item of the jobs table: written once, by the page's own worker or failure record."""

    job_id: str
    page_number: int
    status: PageStatus
    reason: str | None
    duration_ms: int
    finished_at: str

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PageRecord:
        """Build from a deserialised DynamoDB item."""
        return cls(
            job_id=str(item["job_id"]),
            page_number=int(item["page_number"]),
            status=PageStatus(str(item["status"])),
            reason=None if item.get("reason") is None else str(item["reason"]),
            duration_ms=int(item.get("duration_ms", 0)),
            finished_at=str(item["finished_at"]),
        )
