"""Following documents through a pagefan stack: upload, progress, outputs.

Works the same against the emulated account and a deployed stack: it needs only the stack's
outputs (bucket and table names) and boto3 clients.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats import JobInput, JobRecord, JobStatus, PageStatus
from pagefan.job_ids import derive_job_id


def _same_span_from_now(record: JobRecord) -> str:
    """A new deadline as far from now as the job's first deadline was from its creation."""
    span = timedelta(hours=1)
    if record.deadline:
        parse = datetime.fromisoformat
        span = parse(record.deadline.replace("Z", "+00:00")) - parse(record.created_at.replace("Z", "+00:00"))
    moment = datetime.now(UTC) + span
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class StackOutputs:
    """The names a client needs, from the template's Outputs."""

    raw_bucket: str
    results_bucket: str
    jobs_table: str
    work_bucket: str = ""
    state_machine_arn: str = ""

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackOutputs:
        """Pick the names from a stack's outputs (as `describe_stacks` or the local deploy give them)."""
        try:
            return cls(
                raw_bucket=outputs["RawBucketName"],
                results_bucket=outputs["ResultsBucketName"],
                jobs_table=outputs["JobsTableName"],
                work_bucket=outputs.get("WorkBucketName", ""),
                state_machine_arn=outputs.get("DocumentJobArn", ""),
            )
        except KeyError as missing:
            raise ValueError(f"the stack has no output {missing}; is it a pagefan stack?") from None


@dataclass(frozen=True)
class Upload:
    """A document put into the raw bucket, and the job it becomes."""

    path: Path
    key: str
    job_id: str


@dataclass(frozen=True)
class RetryOutcome:
    """What `pagefan retry` did."""

    job_id: str
    retried: bool
    message: str
    pages: list[int]


class JobsClient:
    """Upload documents, follow their jobs, fetch their outputs, retry what failed."""

    def __init__(self, s3: Any, dynamodb: Any, outputs: StackOutputs, sfn: Any = None) -> None:
        self._s3 = s3
        self._sfn = sfn
        self.outputs = outputs
        self.jobs = JobStore(dynamodb, outputs.jobs_table)

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's state, counts, failed pages with their reasons, and timings."""
        record = self.jobs.get_job(job_id)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        failed = [
            {"page": page.page_number, "reason": page.reason}
            for page in self.jobs.iter_pages(job_id)
            if page.status == PageStatus.FAILED
        ]
        return {
            "job_id": job_id,
            "status": record.status,
            "source": f"s3://{record.source.bucket}/{record.source.key}",
            "pages_total": record.pages_total,
            "pages_done": record.pages_done,
            "pages_failed": record.pages_failed,
            "failed_pages": failed,
            "error": None
            if record.error is None
            else {"stage": record.error.stage, "reason": record.error.reason},
            "outputs": record.outputs,
            "timings": {
                "created_at": record.created_at,
                "updated_at": record.updated_at,
                "deadline": record.deadline,
            },
        }

    def retry(self, job_id: str) -> RetryOutcome:
        """Process a FAILED job's failed (and never finished) pages again and resume the job.

        Each step is safe to repeat, so an interrupted retry is finished by running it again; a job
        that is no longer FAILED is left alone, which makes a second retry harmless.
        """
        record = self.jobs.get_job(job_id)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        if record.status != JobStatus.FAILED:
            return RetryOutcome(job_id, False, f"the job is {record.status}: nothing to retry", [])
        if record.error is not None and record.error.stage == "split":
            return RetryOutcome(
                job_id,
                False,
                f"the upload itself was refused ({record.error.reason}): upload a fixed document",
                [],
            )
        recorded = {page.page_number: page.status for page in self.jobs.iter_pages(job_id)}
        again = [n for n in range(1, record.pages_total + 1) if recorded.get(n) != PageStatus.DONE]
        for page_number in again:
            if recorded.get(page_number) == PageStatus.FAILED:
                self.jobs.forget_failed_page(job_id, page_number)
        for page_number in again:
            self._redeliver_page(job_id, page_number)
        deadline = _same_span_from_now(record)
        retry_number = self.jobs.reopen_job(job_id, deadline=deadline)
        if retry_number is None:
            return RetryOutcome(job_id, False, "another retry reopened the job first", again)
        job = JobInput(job_id=job_id, pages_total=record.pages_total, deadline=deadline)
        self._sfn.start_execution(
            stateMachineArn=self.outputs.state_machine_arn,
            name=f"{job_id}-retry-{retry_number}",
            input=json.dumps(job.to_dict()),
        )
        what = f"{len(again)} page(s) sent again" if again else "no page needed processing again"
        return RetryOutcome(job_id, True, f"retry {retry_number} started: {what}", again)

    def _redeliver_page(self, job_id: str, page_number: int) -> None:
        """Write a page object onto itself, so S3 reports it again and a PageWorker processes it."""
        key = layout.page_key(job_id, page_number)
        head = self._s3.head_object(Bucket=self.outputs.work_bucket, Key=key)
        # S3 refuses a copy onto itself unless something changes: the metadata is replaced by itself.
        self._s3.copy_object(
            Bucket=self.outputs.work_bucket,
            Key=key,
            CopySource={"Bucket": self.outputs.work_bucket, "Key": key},
            Metadata=head.get("Metadata", {}),
            ContentType=head.get("ContentType", "application/pdf"),
            MetadataDirective="REPLACE",
        )

    def upload(self, path: Path, key: str | None = None) -> Upload:
        """Put a file into the raw bucket; return the job id the pipeline will give it."""
        key = key or path.name
        with path.open("rb") as body:
            response = self._s3.put_object(Bucket=self.outputs.raw_bucket, Key=key, Body=body)
        job_id = derive_job_id(self.outputs.raw_bucket, key, response.get("VersionId"), response["ETag"])
        return Upload(path=path, key=key, job_id=job_id)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float,
        on_progress: Callable[[JobRecord | None], None] | None = None,
        interval: float = 0.2,
    ) -> JobRecord | None:
        """Poll the job until it is COMPLETED or FAILED (or ``timeout`` passes); return its record."""
        deadline = time.monotonic() + timeout
        record = None
        while time.monotonic() < deadline:
            record = self.jobs.get_job(job_id)
            if on_progress:
                on_progress(record)
            if record is not None and record.terminal:
                return record
            time.sleep(interval)
        return record

    def download(self, record: JobRecord, out_dir: Path) -> dict[str, Path]:
        """Fetch a completed job's outputs into ``out_dir`` (document.json, .txt, .pdf, svg/)."""
        out_dir.mkdir(parents=True, exist_ok=True)
        bucket = self.outputs.results_bucket
        files: dict[str, Path] = {}
        for name, key in (
            ("document_json", layout.document_json_key(record.job_id)),
            ("document_text", layout.document_text_key(record.job_id)),
            ("document_pdf", layout.pdf_key(record.job_id)),
        ):
            target = out_dir / key.rsplit("/", 1)[1]
            self._s3.download_file(bucket, key, str(target))
            files[name] = target
        svg_dir = out_dir / "svg"
        svg_dir.mkdir(exist_ok=True)
        prefix = layout.svg_key(record.job_id, 1).rsplit("/", 1)[0] + "/"
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                self._s3.download_file(bucket, item["Key"], str(svg_dir / item["Key"].rsplit("/", 1)[1]))
        files["svg"] = svg_dir
        return files
