"""Turning asynchronous invocations that Lambda gave up on into job outcomes.

Lambda sends an invocation that failed all its attempts to the on-failure destination, with the
original event and the last error. A page the PageWorker could not process is recorded FAILED
(in the same conditional transaction as any page, so it counts once); an upload the Splitter could
not split starts its job's execution with the failure as the rejection, so the state machine ends
the job FAILED with that reason and publishes the event, as for any rejected document.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from pagefan import layout
from pagefan.aws.executions import start_job_execution
from pagefan.aws.jobs import JobStore
from pagefan.config import FailureRecorderSettings
from pagefan.formats import JobInput, JobStatus, PageStatus, SourceRef
from pagefan.job_ids import derive_job_id
from pagefan.stages.splitting import deadline_after

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedFailure:
    """What one failed invocation became."""

    job_id: str
    page_number: int | None
    reason: str
    changed: bool


def _reason(record: Mapping[str, Any], what: str) -> str:
    response = record.get("responsePayload") or {}
    attempts = record.get("requestContext", {}).get("approximateInvokeCount", "several")
    error = f"{response.get('errorType', 'error')}: {response.get('errorMessage', 'no message')}"
    return f"{what} failed {attempts} times: {error}"


def record_failed_invocation(
    record: Mapping[str, Any], *, jobs: JobStore, sfn: SFNClient, settings: FailureRecorderSettings
) -> list[RecordedFailure]:
    """Reflect one on-failure destination record in the jobs table (one per S3 record it carries)."""
    outcomes = []
    for s3_record in record.get("requestPayload", {}).get("Records", []):
        bucket = s3_record["s3"]["bucket"]["name"]
        obj = s3_record["s3"]["object"]
        key = unquote_plus(obj["key"])
        page = layout.parse_page_key(key)
        if page is not None:
            job_id, page_number = page
            reason = _reason(record, "The PageWorker")
            changed = jobs.record_page(
                job_id, page_number, status=PageStatus.FAILED, duration_ms=0, reason=reason
            )
            outcomes.append(RecordedFailure(job_id, page_number, reason, changed))
            continue
        source = SourceRef(
            bucket=bucket,
            key=key,
            version_id=obj.get("versionId"),
            etag=obj.get("eTag", ""),
            size=int(obj.get("size", 0)),
        )
        job_id = derive_job_id(source.bucket, source.key, source.version_id, source.etag)
        reason = _reason(record, f"Splitting {key}")
        deadline = deadline_after(settings.job_deadline_seconds)
        if not jobs.create_job(job_id, source, deadline=deadline):
            existing = jobs.get_job(job_id)
            if existing is not None and existing.status != JobStatus.SPLITTING:
                # The split did finish (an earlier attempt got through): the job is under way.
                outcomes.append(RecordedFailure(job_id, None, reason, False))
                continue
            deadline = existing.deadline if existing and existing.deadline else deadline
        job = JobInput(job_id=job_id, pages_total=0, deadline=deadline, rejection=reason)
        changed = start_job_execution(sfn, settings.state_machine_arn, job)
        outcomes.append(RecordedFailure(job_id, None, reason, changed))
    return outcomes
