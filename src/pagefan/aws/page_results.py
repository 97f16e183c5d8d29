"""Reading a job's stored page results and document info, in page order, a few GETs ahead."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.objects import READ_AHEAD, is_missing, read_object, read_objects
from pagefan.errors import MissingPageResult
from pagefan.formats.document import DocumentInfo
from pagefan.formats.page_result import PageResult

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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
    read_ahead: int = READ_AHEAD,
) -> Iterator[PageResult]:
    """Yield the results of pages ``first_page`` to ``last_page`` (default: every page) in order.

    Up to ``read_ahead`` results are read concurrently ahead of the page yielded (see
    :func:`~pagefan.aws.objects.read_objects`), so memory holds at most that many whatever the
    page count. A missing result raises :class:`MissingPageResult` when its page's turn comes,
    after every page before it was yielded; closing the iterator early stops the reads.
    """
    last = pages_total if last_page is None else min(last_page, pages_total)
    page_numbers = range(first_page, last + 1)
    keys = (layout.page_result_key(job_id, page_number) for page_number in page_numbers)
    with closing(read_objects(s3, work_bucket, keys, concurrency=read_ahead)) as stored:
        for page_number in page_numbers:
            try:
                body = next(stored).body
            except ClientError as error:
                if not is_missing(error):
                    raise
                key = layout.page_result_key(job_id, page_number)
                raise MissingPageResult(
                    f"The result of page {page_number} ({key}) is missing from the work bucket; "
                    "it may have expired. Upload the document again."
                ) from error
            yield PageResult.from_json(body)
