"""Typed definitions of every piece of data that crosses a boundary.

S3 objects, table items and state machine payloads each have one definition here, shared by
the writer and the reader. Every one carries ``format_version``; readers reject versions they
do not know (:class:`~pagefan.errors.FormatVersionError`) instead of guessing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from pagefan.errors import FormatVersionError, InvalidTaskInput

FORMAT_VERSION = 1
"""Version of every format below. Bump it (and teach readers the old one) on any breaking change."""

PAGE_RESULT_FORMAT_VERSION = 2
"""Version of the page result (and of the image objects beside it). Version 2 added graphics, images,
clipping paths, omissions and text colour; :meth:`PageResult.from_dict` upgrades version 1."""

METADATA_FORMAT = "pagefan-format"
METADATA_JOB_ID = "pagefan-job-id"
METADATA_PAGE = "pagefan-page"
METADATA_PAGES_TOTAL = "pagefan-pages-total"


def check_format_version(data: Mapping[str, Any], what: str) -> None:
    """Raise FormatVersionError unless ``data`` was written by a version this code reads."""
    version = data.get("format_version")
    # bool is an int to Python: "format_version": true must not pass for version 1.
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise FormatVersionError(
            f"{what} has format version {version!r}; this pagefan reads version {FORMAT_VERSION}"
        )


def object_metadata(job_id: str, **extra: str | int) -> dict[str, str]:
    """S3 user metadata every object the pipeline writes carries (format version and job id)."""
    metadata = {METADATA_FORMAT: str(FORMAT_VERSION), METADATA_JOB_ID: job_id}
    metadata.update({f"pagefan-{name.replace('_', '-')}": str(value) for name, value in extra.items()})
    return metadata


def dumps(data: Mapping[str, Any]) -> bytes:
    """Serialise a JSON body the way every pagefan writer does (UTF-8, stable key order)."""
    # NaN and Infinity are not JSON; refusing them here keeps every stored body parseable.
    return json.dumps(
        data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode()


# --- page analysis -------------------------------------------------------------------------


@dataclass(frozen=True)
class TextRun:
    """A run of text drawn with one font at one position.

    ``x``/``y`` are the run's origin in PDF points from the page's bottom-left corner (before the
    page's /Rotate is applied); ``angle`` is the text direction in degrees, counter-clockwise.
    ``colour`` is its fill colour ("#rrggbb"; the stroke colour for outlined-only text),
    ``invisible`` says it is not painted (render mode 3 or 7, an OCR layer), and ``texts_before``
    counts the page's text-showing operations before its first one (see :class:`Graphic`).
    """

    text: str
    x: float
    y: float
    size: float
    font: str
    angle: float = 0.0
    colour: str = "#000000"
    invisible: bool = False
    texts_before: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TextRun:
        """Build from a decoded JSON object (a version 1 run is black and visible)."""
        return cls(
            text=str(data["text"]),
            x=float(data["x"]),
            y=float(data["y"]),
            size=float(data["size"]),
            font=str(data["font"]),
            angle=float(data.get("angle", 0.0)),
            colour=_checked_colour(data.get("colour", "#000000")),
            invisible=bool(data.get("invisible", False)),
            texts_before=int(data.get("texts_before", 0)),
        )

    def to_v1_dict(self) -> dict[str, Any]:
        """The run as format version 1 has it (document.json's runs)."""
        return {
            "text": self.text,
            "x": self.x,
            "y": self.y,
            "size": self.size,
            "font": self.font,
            "angle": self.angle,
        }


# A page result is written by the PageWorker, which parses untrusted bytes: its readers (the
# exporters) check every string they will write into an SVG against these shapes.
_COLOUR = re.compile(r"#[0-9a-f]{6}")
_PATH_DATA = re.compile(r"(?:[MLCZ]|-?[0-9]+(?:\.[0-9]+)?| )*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg")
GRAPHIC_KINDS = ("path", "image")
LINE_CAPS = ("butt", "round", "square")
LINE_JOINS = ("miter", "round", "bevel")


def _checked(value: Any, pattern: re.Pattern[str], what: str) -> str:
    text = str(value)
    if not pattern.fullmatch(text):
        raise ValueError(f"{what} {text[:80]!r} is not well formed")
    return text


def _checked_colour(value: Any) -> str:
    return _checked(value, _COLOUR, "colour")


def _one_of(value: Any, allowed: tuple[str, ...], what: str) -> str:
    text = str(value)
    if text not in allowed:
        raise ValueError(f"{what} {text[:80]!r} is not one of {', '.join(allowed)}")
    return text


def _finite(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{number} is not a finite number")
    return number


@dataclass(frozen=True)
class ImageRef:
    """An image the PageWorker re-encoded and stored at ``layout.image_key(job, sha256)``."""

    sha256: str
    media_type: str
    width: int
    height: int

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ImageRef:
        """Build from a decoded JSON object, checking the hash and media type."""
        return cls(
            sha256=_checked(data["sha256"], _SHA256, "image hash"),
            media_type=_one_of(data["media_type"], IMAGE_MEDIA_TYPES, "image media type"),
            width=int(data["width"]),
            height=int(data["height"]),
        )


@dataclass(frozen=True)
class Omission:
    """Something on the page that is not drawn, and why (``code`` is stable, ``detail`` a sentence)."""

    code: str
    detail: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Omission:
        """Build from a decoded JSON object."""
        return cls(code=str(data["code"]), detail=str(data["detail"]))


@dataclass(frozen=True)
class Graphic:
    """One drawn element, in painting order: a path or an image.

    ``matrix`` ([a b c d e f]) maps the element's own space to the page box's (origin at the
    MediaBox's bottom-left corner, before /Rotate, like the text runs). A path's ``d`` is SVG path
    data (M, L, C, Z) in its own space; its line width and dashes are in that space too. An image
    fills the unit square of its space; ``image`` is None when it is not stored, and ``omitted``
    then says why. ``clips`` are indices into the page's ``clips``, all of which apply.
    ``texts_before`` counts the text-showing operations the page performs before this element (a
    run has the count before its first one): a graphic is painted before a run when its count is
    not larger, which keeps the page's painting order across the two lists.
    """

    kind: str
    matrix: list[float]
    clips: list[int] = field(default_factory=list)
    d: str = ""
    fill: str | None = None
    fill_opacity: float = 1.0
    even_odd: bool = False
    stroke: str | None = None
    stroke_opacity: float = 1.0
    line_width: float = 1.0
    line_cap: str = "butt"
    line_join: str = "miter"
    dash: list[float] = field(default_factory=list)
    dash_phase: float = 0.0
    image: ImageRef | None = None
    omitted: str | None = None
    texts_before: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graphic:
        """Build from a decoded JSON object, checking every value an SVG will carry."""
        matrix = [_finite(value) for value in data["matrix"]]
        if len(matrix) != 6:
            raise ValueError("a matrix has six numbers")
        image = data.get("image")
        fill, stroke = data.get("fill"), data.get("stroke")
        return cls(
            kind=_one_of(data["kind"], GRAPHIC_KINDS, "graphic kind"),
            matrix=matrix,
            clips=[int(index) for index in data.get("clips", [])],
            d=_checked(data.get("d", ""), _PATH_DATA, "path data"),
            fill=None if fill is None else _checked_colour(fill),
            fill_opacity=_finite(data.get("fill_opacity", 1.0)),
            even_odd=bool(data.get("even_odd", False)),
            stroke=None if stroke is None else _checked_colour(stroke),
            stroke_opacity=_finite(data.get("stroke_opacity", 1.0)),
            line_width=_finite(data.get("line_width", 1.0)),
            line_cap=_one_of(data.get("line_cap", "butt"), LINE_CAPS, "line cap"),
            line_join=_one_of(data.get("line_join", "miter"), LINE_JOINS, "line join"),
            dash=[_finite(value) for value in data.get("dash", [])],
            dash_phase=_finite(data.get("dash_phase", 0.0)),
            image=None if image is None else ImageRef.from_dict(image),
            omitted=None if data.get("omitted") is None else str(data["omitted"]),
            texts_before=int(data.get("texts_before", 0)),
        )


@dataclass(frozen=True)
class PageResult:
    """What the PageWorker learns about one page; stored at ``layout.page_result_key``.

    ``width``/``height`` are the MediaBox size in points before rotation; ``rotation`` is the
    page's /Rotate (0, 90, 180, 270).
    """

    job_id: str
    page_number: int
    width: float
    height: float
    rotation: int
    text: str
    words: list[str]
    runs: list[TextRun]
    image_count: int
    graphics: list[Graphic] = field(default_factory=list)
    clips: list[str] = field(default_factory=list)
    omitted: list[Omission] = field(default_factory=list)
    format_version: int = PAGE_RESULT_FORMAT_VERSION

    @property
    def display_size(self) -> tuple[float, float]:
        """Width and height as the page is shown, after /Rotate."""
        if self.rotation % 180:
            return self.height, self.width
        return self.width, self.height

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)

    def to_v1_dict(self) -> dict[str, Any]:
        """The page as format version 1 has it: text only (what document.json lists)."""
        return {
            "format_version": FORMAT_VERSION,
            "job_id": self.job_id,
            "page_number": self.page_number,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "text": self.text,
            "words": list(self.words),
            "runs": [run.to_v1_dict() for run in self.runs],
            "image_count": self.image_count,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PageResult:
        """Build from a decoded JSON object of version 2, or upgrade one of version 1.

        A version 1 result (written before graphics were read) becomes a version 2 page without
        graphics, clips or omissions, its runs black and visible: exactly what version 1 drew.
        Unknown versions are rejected. Every value an SVG will carry is checked (a colour is
        "#rrggbb", path data only M/L/C/Z and numbers, an image reference a SHA-256 and PNG or
        JPEG), since the PageWorker that wrote it parses untrusted bytes.
        """
        version = data.get("format_version")
        if isinstance(version, bool) or version not in (FORMAT_VERSION, PAGE_RESULT_FORMAT_VERSION):
            raise FormatVersionError(
                f"page result has format version {version!r}; this pagefan reads versions "
                f"{FORMAT_VERSION} and {PAGE_RESULT_FORMAT_VERSION}"
            )
        try:
            graphics = [Graphic.from_dict(item) for item in data.get("graphics", [])]
            clips = [_checked(item, _PATH_DATA, "clip path data") for item in data.get("clips", [])]
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatVersionError(f"page result has malformed graphics ({exc})") from exc
        if any(index < 0 or index >= len(clips) for graphic in graphics for index in graphic.clips):
            raise FormatVersionError("page result names a clipping path it does not have")
        return cls(
            job_id=str(data["job_id"]),
            page_number=int(data["page_number"]),
            width=float(data["width"]),
            height=float(data["height"]),
            rotation=int(data["rotation"]),
            text=str(data["text"]),
            words=[str(word) for word in data["words"]],
            runs=[TextRun.from_dict(run) for run in data["runs"]],
            image_count=int(data["image_count"]),
            graphics=graphics,
            clips=clips,
            omitted=[Omission.from_dict(item) for item in data.get("omitted", [])],
        )

    @classmethod
    def from_json(cls, body: bytes) -> PageResult:
        """Parse a stored page result."""
        return cls.from_dict(json.loads(body))


# --- the source document ------------------------------------------------------------------


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


# --- state machine payloads ---------------------------------------------------------------


@dataclass(frozen=True)
class JobInput:
    """Input of a DocumentJob execution (and of the Combiner and both exporters).

    Carries ids and counts only, never document content (Step Functions' 256 KB limit).
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


class PdfExportMode:
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

    mode: str
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
            "mode": self.mode,
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
            return cls(mode=mode, job=job, pages_per_part=pages_per_part)
        if mode != PdfExportMode.PART:
            raise InvalidTaskInput(
                f"mode must be {PdfExportMode.PART!r} or {PdfExportMode.MERGE!r}, not {mode!r}"
            )
        first: int = data.get("first_page", 0)
        starts = range(1, job.pages_total + 1, pages_per_part)
        if not _is_count(first) or first not in starts:
            # A part that starts anywhere else would be written under a key the merge never reads.
            raise InvalidTaskInput(
                f"first_page {first!r} is not the start of a part of {pages_per_part} pages "
                f"in a document of {job.pages_total} pages"
            )
        return cls(mode=mode, job=job, pages_per_part=pages_per_part, first_page=first)


def _is_count(value: Any) -> bool:
    # bool is an int to Python: true must not pass for 1.
    return isinstance(value, int) and not isinstance(value, bool)


# --- jobs table -----------------------------------------------------------------------------

JOB_ITEM_SORT_KEY = "JOB"
PAGE_ITEM_SORT_KEY_PREFIX = "PAGE#"
FIRST_FAILURE_SORT_KEY = "FIRST_FAILURE"
"""The item that keeps the first failed page's note (``page N: reason``) for the job's error."""


def page_sort_key(page_number: int) -> str:
    """Sort key of one page's item in the jobs table."""
    return f"{PAGE_ITEM_SORT_KEY_PREFIX}{page_number:05d}"


class JobStatus:
    """Values of a job item's ``status`` attribute (also used verbatim by the state machine)."""

    SPLITTING = "SPLITTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    TERMINAL = frozenset({COMPLETED, FAILED})


class PageStatus:
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
    status: str
    source: SourceRef
    pages_total: int
    created_at: str
    updated_at: str
    deadline: str | None
    outputs: dict[str, str]
    error: JobError | None
    pages_done: int = 0
    pages_failed: int = 0
    format_version: int = FORMAT_VERSION

    @property
    def terminal(self) -> bool:
        """Whether the job has ended (COMPLETED or FAILED)."""
        return self.status in JobStatus.TERMINAL

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> JobRecord:
        """Build from a deserialised DynamoDB item (numbers may be Decimal)."""
        check_format_version({"format_version": int(item.get("format_version", 0))}, "job item")
        error = item.get("error")
        return cls(
            job_id=str(item["job_id"]),
            status=str(item["status"]),
            source=SourceRef.from_dict(item["source"]),
            pages_total=int(item.get("pages_total", 0)),
            created_at=str(item["created_at"]),
            updated_at=str(item.get("updated_at", item["created_at"])),
            deadline=None if item.get("deadline") is None else str(item["deadline"]),
            outputs={str(k): str(v) for k, v in (item.get("outputs") or {}).items()},
            error=JobError.from_item(error) if error else None,
        )


@dataclass(frozen=True)
class PageRecord:
    """A page item of the jobs table: written once, by the page's own worker or failure record."""

    job_id: str
    page_number: int
    status: str
    reason: str | None
    duration_ms: int
    finished_at: str

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> PageRecord:
        """Build from a deserialised DynamoDB item."""
        return cls(
            job_id=str(item["job_id"]),
            page_number=int(item["page_number"]),
            status=str(item["status"]),
            reason=None if item.get("reason") is None else str(item["reason"]),
            duration_ms=int(item.get("duration_ms", 0)),
            finished_at=str(item["finished_at"]),
        )
