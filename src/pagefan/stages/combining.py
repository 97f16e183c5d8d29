"""Combining page results into document.json and document.txt."""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

from pagefan import layout
from pagefan.aws.objects import upload_file
from pagefan.aws.page_results import iter_page_results, read_document_info
from pagefan.config import CombinerSettings
from pagefan.domain.combine import write_documents
from pagefan.formats.payloads import JobInput
from pagefan.formats.versions import object_metadata

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def combine_job(*, s3: S3Client, settings: CombinerSettings, job: JobInput) -> dict[str, str]:
    """Write the job's document.json and document.txt to the results bucket; return their keys.

    One pass over the page results feeds both files, streamed to local temporary files page by
    page (each result is read from S3 once, and memory does not grow with the page count), which
    are then uploaded (multipart when large).
    """
    info = read_document_info(s3, settings.work_bucket, job.job_id)
    metadata = object_metadata(job.job_id, pages_total=job.pages_total)
    keys = {
        "document_json": layout.document_json_key(job.job_id),
        "document_text": layout.document_text_key(job.job_id),
    }
    with tempfile.TemporaryDirectory() as scratch:
        json_path = f"{scratch}/document.json"
        text_path = f"{scratch}/document.txt"
        with (
            open(json_path, "w", encoding="utf-8") as json_out,
            open(text_path, "w", encoding="utf-8") as text_out,
        ):
            pages = iter_page_results(s3, settings.work_bucket, job.job_id, job.pages_total)
            write_documents(job_id=job.job_id, info=info, pages=pages, json_out=json_out, text_out=text_out)
        upload_file(
            s3,
            settings.results_bucket,
            keys["document_json"],
            json_path,
            content_type="application/json",
            metadata=metadata,
        )
        upload_file(
            s3,
            settings.results_bucket,
            keys["document_text"],
            text_path,
            content_type="text/plain; charset=utf-8",
            metadata=metadata,
        )
    return keys
