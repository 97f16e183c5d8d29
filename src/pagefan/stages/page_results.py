"""Reading a job's stored page results and document info, one page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.objects import read_object
from pagefan.errors import PagefanError
from pagefan.formats import DocumentInfo, PageResult

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class MissingPageResult(PagefanError):
    """A page counted as done has no stored result (expired by lifecycle, or deleted)."""


def read_document_info(s3: S3Client, work_bucket: str, job_id: str) -> DocumentInfo:
    """The document-level facts the Splitter stored for the job."""
    return DocumentInfo.from_json(read_object(s3, work_bucket, layout.document_info_key(job_id)).body)


def iter_page_results(
    s3: S3Client,
    work_bucket: str,
    job_id: str,
    pages_total: int,
    *,
    first_page: int = 1,
    last_page: int | None = None,
) -> Iterator[PageResult]:
    """Yield the results of pages ``first_page`` to ``last_page`` (default: every page) in order.

    One object is read at a time.
    """
    last = pages_total if last_page is None else min(last_page, pages_total)
    for page_number in range(first_page, last + 1):
        key = layout.page_result_key(job_id, page_number)
        try:
            body = read_object(s3, work_bucket, key).body
        except ClientError as error:
            # Without s3:ListBucket (the roles have none), S3 answers a missing key with 403, not 404.
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "AccessDenied"):
                raise
            raise MissingPageResult(
                f"The result of page {page_number} ({key}) is missing from the work bucket; "
                "it may have expired. Upload the document again."
            ) from error
        yield PageResult.from_json(body)
