"""Splitting an upload into pages and starting its job."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.executions import start_job_execution
from pagefan.aws.jobs import JobStore
from pagefan.aws.objects import ObjectToWrite, StoredObject, read_object, write_json, write_objects
from pagefan.config import SplitterSettings
from pagefan.domain.split import document_metadata, document_outline, open_document, split_pages
from pagefan.errors import DocumentRejected, ObjectTooLarge, RejectionCode
from pagefan.formats.document import DocumentInfo, SourceRef
from pagefan.formats.jobs_table import JobStatus
from pagefan.formats.payloads import JobInput
from pagefan.formats.timestamps import deadline_after
from pagefan.formats.versions import object_metadata
from pagefan.job_ids import derive_job_id

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

# A child of the function's Powertools Logger: JSON lines with the job id and request id it carries.
logger = Logger(child=True)

PROGRESS_EVERY_PAGES = 250
"""Pages between two records of a split's progress in the job item. A split that dies (its Timeout,
its memory) is retried by Lambda from the start of the upload; the retry splits only the pages
after the last record, so an attempt repeats at most about this many pages (and those in flight),
and a document that one attempt cannot split gets further with each of Lambda's retries (two).
10,000 pages cost 40 writes of the job item."""


@dataclass(frozen=True)
class SplitOutcome:
    """What the Splitter did with one upload."""

    job_id: str
    pages_total: int
    rejection: str | None = None
    duplicate: bool = False
    pages_resumed: int = 0
    """Pages an earlier attempt had written, which this one did not split again."""


class SplitProgress:
    """The page up to which every page is written, recorded in the job item as it grows.

    Pages are written several at a time and finish in any order, so the record is the end of the
    unbroken run of written pages from page 1, never a page beyond a gap.
    """

    def __init__(self, jobs: JobStore, job_id: str, *, written_before: int, every: int) -> None:
        self._jobs = jobs
        self._job_id = job_id
        self._every = every
        self._unbroken = self._recorded = written_before
        self._beyond: set[int] = set()

    def written(self, key: str) -> None:
        """Callback of ``write_objects``: the object ``key`` is written."""
        parsed = layout.parse_page_key(key)
        if parsed is None:
            return
        self._beyond.add(parsed[1])
        while self._unbroken + 1 in self._beyond:
            self._unbroken += 1
            self._beyond.discard(self._unbroken)
        if self._unbroken - self._recorded >= self._every:
            self._recorded = self._unbroken
            try:
                self._jobs.record_split_progress(self._job_id, pages_split=self._unbroken)
            except ClientError as error:
                # Only a retry would read it: the split goes on without it (the next record covers it).
                logger.warning(
                    "split progress not recorded",
                    extra={
                        "pages_split": self._unbroken,
                        "error": error.response.get("Error", {}).get("Code"),
                    },
                )


def _read_upload(s3: S3Client, source: SourceRef, max_bytes: int) -> StoredObject:
    """The uploaded object version's bytes; an oversized upload is rejected before its body is read."""
    try:
        return read_object(s3, source.bucket, source.key, version_id=source.version_id, max_bytes=max_bytes)
    except ObjectTooLarge as too_large:
        raise DocumentRejected(
            RejectionCode.TOO_LARGE,
            f"The file is {too_large.size / 1_048_576:.1f} MB; the limit is {max_bytes / 1_048_576:.1f} MB "
            "(MaxUploadBytes parameter).",
        ) from too_large


def split_upload(
    *,
    s3: S3Client,
    sfn: SFNClient,
    jobs: JobStore,
    settings: SplitterSettings,
    source: SourceRef,
    progress_every: int = PROGRESS_EVERY_PAGES,
) -> SplitOutcome:
    """Turn one uploaded object version into a job: page objects, a job item and an execution.

    Safe to repeat for the same upload (duplicate S3 events, Lambda retries after a crash): the
    job item is created once, the pages an earlier attempt recorded as written are not split
    again, the others are rewritten identically, and the execution is started once. The raw
    object is only read, by its version.
    """
    job_id = derive_job_id(source.bucket, source.key, source.version_id, source.etag)
    if not jobs.create_job(job_id, source, deadline=deadline_after(settings.job_deadline_seconds)):
        existing = jobs.get_job(job_id, count_pages=False)
        if existing is not None and existing.status != JobStatus.SPLITTING:
            # Pages are written and counted already: make sure the execution exists, nothing more.
            if existing.status == JobStatus.RUNNING and existing.deadline:
                job = JobInput(job_id=job_id, pages_total=existing.pages_total, deadline=existing.deadline)
                start_job_execution(sfn, settings.state_machine_arn, job)
            return SplitOutcome(job_id=job_id, pages_total=existing.pages_total, duplicate=True)
    record = jobs.get_job(job_id, count_pages=False)
    written_before = record.pages_split if record else 0
    deadline = (
        record.deadline if record and record.deadline else deadline_after(settings.job_deadline_seconds)
    )

    try:
        upload = _read_upload(s3, source, settings.max_upload_bytes)
        reader = open_document(upload.body, max_bytes=settings.max_upload_bytes, max_pages=settings.max_pages)
        pages_total = len(reader.pages)
        written_before = min(written_before, pages_total)
        if written_before:
            logger.info("resuming the split", extra={"pages_already_written": written_before})
        progress = SplitProgress(jobs, job_id, written_before=written_before, every=progress_every)
        sha256 = hashlib.sha256(upload.body).hexdigest()
        info = DocumentInfo(
            job_id=job_id,
            source=replace(source, sha256=sha256),
            pages_total=pages_total,
            metadata=document_metadata(reader),
            outline=document_outline(reader),
        )
        # Written before the pages, so it exists by the time any page can finish.
        write_json(
            s3,
            settings.work_bucket,
            layout.document_info_key(job_id),
            info.to_dict(),
            object_metadata(job_id),
        )
        # A page that cannot be copied rejects the document partway; the job then fails at the split.
        # Pages are uploaded a few at a time while the next ones are split, holding only those few;
        # every one is written before the job is marked running, and their progress is recorded.
        write_objects(
            s3,
            settings.work_bucket,
            (
                ObjectToWrite(
                    key=layout.page_key(job_id, page_number),
                    body=page_pdf,
                    content_type="application/pdf",
                    metadata=object_metadata(job_id, page=page_number, pages_total=pages_total),
                )
                for page_number, page_pdf in split_pages(reader, first_page=written_before + 1)
            ),
            written=progress.written,
        )
    except DocumentRejected as rejected:
        logger.info("document rejected", extra={"code": rejected.code, "reason": str(rejected)})
        job = JobInput(job_id=job_id, pages_total=0, deadline=deadline, rejection=str(rejected))
        start_job_execution(sfn, settings.state_machine_arn, job)
        return SplitOutcome(job_id=job_id, pages_total=0, rejection=str(rejected))
    jobs.mark_running(job_id, pages_total=pages_total, sha256=sha256)
    start_job_execution(
        sfn, settings.state_machine_arn, JobInput(job_id=job_id, pages_total=pages_total, deadline=deadline)
    )
    return SplitOutcome(job_id=job_id, pages_total=pages_total, pages_resumed=written_before)
