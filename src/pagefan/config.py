"""The one place that reads configuration: environment variables named in template.yaml.

Each function loads the settings it needs once, at import (cold start), so a missing or
malformed variable fails the first invocation with a clear message instead of a KeyError deep
in the code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from pagefan.errors import ConfigurationError


def _env(name: str) -> Any:
    """Declare a settings field read from environment variable ``name``."""
    return field(metadata={"env": name})


@dataclass(frozen=True)
class SplitterSettings:
    """Settings of the Splitter function."""

    work_bucket: str = _env("WORK_BUCKET")
    jobs_table: str = _env("JOBS_TABLE")
    state_machine_arn: str = _env("STATE_MACHINE_ARN")
    max_upload_bytes: int = _env("MAX_UPLOAD_BYTES")
    max_pages: int = _env("MAX_PAGES")
    job_deadline_seconds: int = _env("JOB_DEADLINE_SECONDS")
    job_ttl_days: int = _env("JOB_TTL_DAYS")


@dataclass(frozen=True)
class PageWorkerSettings:
    """Settings of the PageWorker function."""

    work_bucket: str = _env("WORK_BUCKET")
    jobs_table: str = _env("JOBS_TABLE")
    max_page_content_bytes: int = _env("MAX_PAGE_CONTENT_BYTES")
    page_time_budget_seconds: float = _env("PAGE_TIME_BUDGET_SECONDS")
    job_ttl_days: int = _env("JOB_TTL_DAYS")
    max_image_pixels: int = _env("MAX_IMAGE_PIXELS")
    max_page_image_bytes: int = _env("MAX_PAGE_IMAGE_BYTES")
    max_page_path_segments: int = _env("MAX_PAGE_PATH_SEGMENTS")
    max_form_depth: int = _env("MAX_FORM_DEPTH")


@dataclass(frozen=True)
class CombinerSettings:
    """Settings of the Combiner function."""

    work_bucket: str = _env("WORK_BUCKET")
    results_bucket: str = _env("RESULTS_BUCKET")


@dataclass(frozen=True)
class ExporterSettings:
    """Settings of the SvgExporter and PdfExporter functions."""

    work_bucket: str = _env("WORK_BUCKET")
    results_bucket: str = _env("RESULTS_BUCKET")
    max_svg_elements: int = _env("MAX_SVG_ELEMENTS")


@dataclass(frozen=True)
class FailureRecorderSettings:
    """Settings of the FailureRecorder function."""

    jobs_table: str = _env("JOBS_TABLE")
    state_machine_arn: str = _env("STATE_MACHINE_ARN")
    job_deadline_seconds: int = _env("JOB_DEADLINE_SECONDS")
    job_ttl_days: int = _env("JOB_TTL_DAYS")


SettingsT = TypeVar("SettingsT")


def load_settings(cls: type[SettingsT], environ: Mapping[str, str] | None = None) -> SettingsT:
    """Read and validate every field of ``cls`` from the environment.

    Each field names its variable (``_env("NAME")``); values are converted to
    the field's type. Raises ConfigurationError naming every missing or malformed variable.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for spec in fields(cls):  # type: ignore[arg-type]
        name = spec.metadata["env"]
        raw = environ.get(name, "").strip()
        if not raw:
            problems.append(f"{name} is not set")
            continue
        kind = spec.type if isinstance(spec.type, str) else spec.type.__name__
        try:
            if kind == "int":
                values[spec.name] = int(raw)
            elif kind == "float":
                values[spec.name] = float(raw)
            else:
                values[spec.name] = raw
        except ValueError:
            problems.append(f"{name}={raw!r} is not a valid {kind}")
            continue
        if kind in ("int", "float") and values[spec.name] <= 0:
            problems.append(f"{name}={raw!r} must be positive")
    if problems:
        raise ConfigurationError(f"{cls.__name__}: " + "; ".join(problems))
    return cls(**values)
