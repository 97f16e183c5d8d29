"""Analysing one page and recording it, exactly once, in the job's count."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.aws.objects import ObjectToWrite, read_object, write_json, write_objects
from pagefan.config import PageWorkerSettings
from pagefan.domain.analysis import read_page
from pagefan.domain.graphics import GraphicsLimits
from pagefan.errors import PageFailed
from pagefan.formats.jobs_table import PageStatus
from pagefan.formats.versions import (
    METADATA_JOB_ID,
    METADATA_PAGE,
    PAGE_RESULT_FORMAT_VERSION,
    check_metadata_version,
    object_metadata,
)
from pagefan.stages.time_budget import memory_ceiling, time_budget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Data memory (RLIMIT_DATA) the PageWorker's process may hold while it analyses a page. Below the
# function's MemorySize in template.yaml (1024 MB) by room for code and buffers, so a page whose
# text explodes fails alone (memory_budget) instead of Lambda killing the environment, three
# times. Change it with the PageWorker's MemorySize (tests/hostile/test_budgets.py checks).
ANALYSIS_MEMORY_MB = 768


@dataclass(frozen=True)
class PageOutcome:
    """What the PageWorker did with one page object."""

    job_id: str
    page_number: int
    status: PageStatus
    counted: bool
    duration_ms: int
    reason: str | None = None


def graphics_limits(settings: PageWorkerSettings) -> GraphicsLimits:
    """The bounds on one page's graphics that the template sets (see pagefan.domain.graphics)."""
    return GraphicsLimits(
        max_image_pixels=settings.max_image_pixels,
        max_image_bytes=settings.max_page_image_bytes,
        max_path_segments=settings.max_page_path_segments,
        max_form_depth=settings.max_form_depth,
    )


def process_page(
    *, s3: S3Client, jobs: JobStore, settings: PageWorkerSettings, bucket: str, key: str
) -> PageOutcome:
    """Analyse the single-page PDF at ``key``, store its result and record the page.

    A page whose content is the problem is recorded FAILED with the reason (retrying would fail
    again); infrastructure errors propagate so that Lambda retries the invocation. Recording is
    conditional, so a repeated delivery changes nothing.
    """
    page_object = read_object(s3, bucket, key)
    check_metadata_version(page_object.metadata, f"page object {key}")
    job_id = page_object.metadata[METADATA_JOB_ID]
    page_number = int(page_object.metadata[METADATA_PAGE])

    started = time.perf_counter()
    try:
        with (
            memory_ceiling(ANALYSIS_MEMORY_MB, f"Page {page_number}"),
            time_budget(settings.page_time_budget_seconds, f"Page {page_number}"),
        ):
            analysis = read_page(
                page_object.body,
                job_id=job_id,
                page_number=page_number,
                max_content_bytes=settings.max_page_content_bytes,
                limits=graphics_limits(settings),
            )
    except PageFailed as failure:
        duration_ms = int((time.perf_counter() - started) * 1000)
        reason = f"{failure} ({failure.code})"
        counted = jobs.record_page(
            job_id, page_number, status=PageStatus.FAILED, duration_ms=duration_ms, reason=reason
        )
        return PageOutcome(job_id, page_number, PageStatus.FAILED, counted, duration_ms, reason)
    duration_ms = int((time.perf_counter() - started) * 1000)

    # The images first, then the result that references them, then the count: once counted, the
    # Combiner and the exporters may read the result, and every image it names is there.
    metadata = object_metadata(job_id, version=PAGE_RESULT_FORMAT_VERSION, page=page_number)
    write_objects(
        s3,
        settings.work_bucket,
        (
            ObjectToWrite(
                key=layout.image_key(job_id, image.sha256, image.media_type),
                body=image.data,
                content_type=image.media_type,
                metadata={**metadata, "pagefan-sha256": image.sha256},
            )
            for image in analysis.images
        ),
    )
    write_json(
        s3,
        settings.work_bucket,
        layout.page_result_key(job_id, page_number),
        analysis.result.to_dict(),
        metadata,
    )
    counted = jobs.record_page(job_id, page_number, status=PageStatus.DONE, duration_ms=duration_ms)
    return PageOutcome(job_id, page_number, PageStatus.DONE, counted, duration_ms)
