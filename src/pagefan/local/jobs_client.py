"""Following documents through a pagefan stack: upload, progress, outputs.

Works the same against the emulated account and a deployed stack: it needs only the stack's
outputs (bucket and table names) and boto3 clients.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats import JobRecord
from pagefan.job_ids import derive_job_id


@dataclass(frozen=True)
class StackOutputs:
    """The names a client needs, from the template's Outputs."""

    raw_bucket: str
    results_bucket: str
    jobs_table: str

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackOutputs:
        """Pick the names from a stack's outputs (as `describe_stacks` or the local deploy give them)."""
        try:
            return cls(
                raw_bucket=outputs["RawBucketName"],
                results_bucket=outputs["ResultsBucketName"],
                jobs_table=outputs["JobsTableName"],
            )
        except KeyError as missing:
            raise ValueError(f"the stack has no output {missing}; is it a pagefan stack?") from None


@dataclass(frozen=True)
class Upload:
    """A document put into the raw bucket, and the job it becomes."""

    path: Path
    key: str
    job_id: str


class JobsClient:
    """Upload documents, follow their jobs and fetch their outputs."""

    def __init__(self, s3: Any, dynamodb: Any, outputs: StackOutputs) -> None:
        self._s3 = s3
        self.outputs = outputs
        self.jobs = JobStore(dynamodb, outputs.jobs_table)

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
