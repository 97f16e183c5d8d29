"""What the PageWorker stores for one page, and the checks its readers make of it.

A page result is written by the PageWorker, which parses untrusted bytes: its readers (the
exporters) check every string they will write into an SVG against the shapes below.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from pagefan.errors import FormatVersionError
from pagefan.formats.versions import FORMAT_VERSION, PAGE_RESULT_FORMAT_VERSION


class OmissionCode(StrEnum):
    """Why something on a page is not drawn: an :class:`Omission`'s code, a :class:`Graphic`'s ``omitted``.

    A wire format (page results, read by both exporters): never change a value. A reader refuses
    a code outside the set, as it refuses any other value no version 2 writer writes.
    """

    IMAGE_UNDECODABLE = "image_undecodable"
    IMAGE_TOO_MANY_PIXELS = "image_too_many_pixels"
    IMAGE_BYTES_PER_PAGE = "image_bytes_per_page"
    PATH_LIMIT = "path_limit"
    FORM_DEPTH = "form_depth"
    FORM_EXPANSION = "form_expansion"
    GRAPHICS_UNREADABLE = "graphics_unreadable"
    SHADING_APPROXIMATED = "shading_approximated"
    SHADING = "shading"
    """A graphic only: a shading whose picture could not be cut out of the page's rendering."""


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


# The shapes of what an SVG will carry (see the module docstring).
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

    code: OmissionCode
    detail: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Omission:
        """Build from a decoded JSON object (ValueError for an unknown code)."""
        return cls(code=OmissionCode(str(data["code"])), detail=str(data["detail"]))


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
    omitted: OmissionCode | None = None
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
            omitted=None if data.get("omitted") is None else OmissionCode(str(data["omitted"])),
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
        JPEG, an omission's code one of :class:`OmissionCode`), since the PageWorker that wrote
        it parses untrusted bytes.
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
            omitted = [Omission.from_dict(item) for item in data.get("omitted", [])]
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
            omitted=omitted,
        )

    @classmethod
    def from_json(cls, body: bytes) -> PageResult:
        """Parse a stored page result."""
        return cls.from_dict(json.loads(body))
