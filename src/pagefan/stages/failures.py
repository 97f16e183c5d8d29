"""Turning failures nobody else can report into job outcomes.

Two kinds of message reach the failed-invocations queue: Lambda's on-failure records, and
"Step Functions Execution Status Change" events for executions that failed, were aborted or
timed out.

Lambda sends an invocation that failed all its attempts to the on-failure destination, with the
original event and the last error. A page the PageWorker could not process is recorded FAILED
(with the same conditional write of the page's own item as any page, so it counts once); an
upload the Splitter could not split starts its job's execution with the failure as the rejection,
so the state machine ends the job FAILED with that reason and publishes the event, as for any
rejected document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from pagefan import layout
from pagefan.aws.executions import start_job_execution
from pagefan.aws.jobs import JobStore
from pagefan.config import FailureRecorderSettings
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import JobStatus, PageStatus
from pagefan.formats.payloads import JobInput
from pagefan.formats.timestamps import deadline_after
from pagefan.job_ids import derive_job_id, job_id_of_execution

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class RecordedFailure:
    """What one failed invocation became."""

    job_id: str
    page_number: int | None
    reason: str
    changed: bool


def _reason(record: Mapping[str, Any], what: str) -> str:
    context = record.get("requestContext", {})
    if context.get("condition") == "EventAgeExceeded":
        # Lambda gave the event up unrun: the function's concurrency stayed in use for longer than
        # the event's maximum age (the job's deadline).
        return (
            f"{what} never ran: its event waited longer than MaximumEventAgeInSeconds (JobDeadlineSeconds) "
            "while the function's concurrency was in use. Raise PageConcurrency or JobDeadlineSeconds, "
            "then run `pagefan retry` on the job."
        )
    response = record.get("responsePayload") or {}
    attempts = context.get("approximateInvokeCount", "several")
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
            existing = jobs.get_job(job_id, count_pages=False)
            if existing is not None and existing.status != JobStatus.SPLITTING:
                # The split did finish (an earlier attempt got through): the job is under way.
                outcomes.append(RecordedFailure(job_id, None, reason, False))
                continue
            deadline = existing.deadline if existing and existing.deadline else deadline
        job = JobInput(job_id=job_id, pages_total=0, deadline=deadline, rejection=reason)
        changed = start_job_execution(sfn, settings.state_machine_arn, job)
        outcomes.append(RecordedFailure(job_id, None, reason, changed))
    return outcomes


EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
ENDED_MARK = "-ended-"
"""In the name of an execution the FailureRecorder started to end a job."""


def record_ended_execution(
    event: Mapping[str, Any], *, jobs: JobStore, sfn: SFNClient, settings: FailureRecorderSettings
) -> list[RecordedFailure]:
    """End the job of an execution that failed, was aborted or timed out before it could end the job.

    The job is ended by a new execution (named after the one that stopped, so a duplicated event
    starts it once) that carries the reason as its rejection, so the state machine stays the one
    place that marks jobs FAILED and publishes their events. A job that already ended is left
    alone: an execution that FAILED after marking its job FAILED is the ordinary end of a failed
    job. If an execution the FailureRecorder started could not end the job either, the message is
    refused, so the queue retries it and, after its receive limit, keeps it in the terminal queue
    for a person: starting another would loop while the table refuses writes.
    """
    detail = event.get("detail", {})
    name, status = str(detail.get("name", "")), str(detail.get("status", ""))
    job_id = job_id_of_execution(name)
    record = jobs.get_job(job_id, count_pages=False)
    if record is None or record.terminal:
        return []
    if ENDED_MARK in name:
        raise RuntimeError(
            f"Execution {name}, started to end job {job_id} FAILED, ended {status} without doing so: "
            "check the jobs table and the execution's history, then run `pagefan retry` on the job."
        )
    reason = (
        f"The job's execution {name} ended {status} before the job did. "
        "Run `pagefan retry` on the job to process what is missing."
    )
    job = JobInput(
        job_id=job_id,
        pages_total=record.pages_total,
        deadline=record.deadline or deadline_after(settings.job_deadline_seconds),
        rejection=reason,
        rejection_stage="execution",
    )
    # Within the 80-character limit whatever the ended execution's name was.
    marker = hashlib.sha256(name.encode()).hexdigest()[:16]
    start_job_execution(sfn, settings.state_machine_arn, job, name=f"{job_id}{ENDED_MARK}{marker}")
    return [RecordedFailure(job_id, None, reason, True)]


def record_failure(
    message: Mapping[str, Any], *, jobs: JobStore, sfn: SFNClient, settings: FailureRecorderSettings
) -> list[RecordedFailure]:
    """Reflect one message of the failed-invocations queue in the jobs table, whichever kind it is."""
    if message.get("detail-type") == EXECUTION_STATUS_CHANGE:
        return record_ended_execution(message, jobs=jobs, sfn=sfn, settings=settings)
    return record_failed_invocation(message, jobs=jobs, sfn=sfn, settings=settings)
