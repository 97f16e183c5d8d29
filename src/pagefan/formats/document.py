"""The uploaded document: the object a job processes, and the facts the Splitter reads once."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pagefan.formats.versions import FORMAT_VERSION, check_format_version


@dataclass(frozen=True)
class SourceRef:
    """The uploaded object a job processes (never modified by the pipeline)."""

    bucket: str
    key: str
    version_id: str | None
    etag: str
    size: int
    sha256: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SourceRef:
        """Build from a decoded JSON object or table item."""
        return cls(
            bucket=str(data["bucket"]),
            key=str(data["key"]),
            version_id=None if data.get("version_id") in (None, "") else str(data["version_id"]),
            etag=str(data["etag"]),
            size=int(data["size"]),
            sha256=str(data.get("sha256", "")),
        )


@dataclass(frozen=True)
class OutlineEntry:
    """One bookmark of the source's outline; ``page_number`` is 1-based (None if it points nowhere)."""

    title: str
    page_number: int | None
    children: list[OutlineEntry] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutlineEntry:
        """Build from a decoded JSON object."""
        page = data.get("page_number")
        return cls(
            title=str(data["title"]),
            page_number=None if page is None else int(page),
            children=[cls.from_dict(child) for child in data.get("children", [])],
        )


@dataclass(frozen=True)
class DocumentInfo:
    """Document-level facts the Splitter reads once; stored at ``layout.document_info_key``.

    ``metadata`` holds the source's info dictionary with the leading slash dropped
    (``title``, ``author``, ``subject``, ...), lower-cased.
    """

    job_id: str
    source: SourceRef
    pages_total: int
    metadata: dict[str, str]
    outline: list[OutlineEntry]
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_json(cls, body: bytes) -> DocumentInfo:
        """Parse a stored document info object, rejecting unknown format versions."""
        data = json.loads(body)
        check_format_version(data, "document info")
        return cls(
            job_id=str(data["job_id"]),
            source=SourceRef.from_dict(data["source"]),
            pages_total=int(data["pages_total"]),
            metadata={str(k): str(v) for k, v in data["metadata"].items()},
            outline=[OutlineEntry.from_dict(entry) for entry in data["outline"]],
        )
