"""The jobs table: one job item per job and one item per finished page.

**Data ownership.** Many Lambda instances never write one item. A page's item is written by that
page alone, with one conditional ``PutItem`` (``attribute_not_exists``), so a page counts once
however often its worker runs (S3 at-least-once delivery, Lambda retries). Progress is derived,
not counted: the state machine, the one owner of the job item, counts the page items with a
``Query`` (``Select: COUNT``). A transaction that also bumped a counter on the job item from every
page made that item hot: DynamoDB cancels overlapping transactions on one item
(``TransactionConflict``), refuses single writes to an item a transaction holds, and serves one
partition 1,000 write units a second, twice per transactional item; botocore retries none of the
conflicts. The job item is written only by the Splitter (create, split progress, RUNNING), the state machine
(COMPLETED/FAILED) and `pagefan retry` (reopen), one writer at a time; the first failure's note
is put-if-absent by failed pages only.

Conditional writes are used instead of Powertools Idempotency: the page item *is* the idempotency
record, and a second table or a cached response would add a write per page without making the
count any more exact. Throttled writes are retried by botocore's standard mode (full-jitter
backoff, :mod:`pagefan.aws.clients`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import (
    FIRST_FAILURE_SORT_KEY,
    JOB_ITEM_SORT_KEY,
    PAGE_ITEM_SORT_KEY_PREFIX,
    JobRecord,
    JobStatus,
    PageCounts,
    PageRecord,
    PageStatus,
    page_sort_key,
)
from pagefan.formats.timestamps import utc_now
from pagefan.formats.versions import FORMAT_VERSION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# A page's failure reason is stored whole on its page item; the job item keeps only the first one.
_MAX_REASON_CHARS = 1000


def _serialize(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class JobStore:
    """Job bookkeeping on one DynamoDB table (``job_id`` partition key, ``item`` sort key)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, ttl_days: int = 30) -> None:
        self._client = client
        self._table = table_name
        self._ttl = timedelta(days=ttl_days)

    def _key(self, job_id: str, item: str) -> dict[str, Any]:
        return _serialize({"job_id": job_id, "item": item})

    def _expires_at(self) -> int:
        return int((datetime.now(UTC) + self._ttl).timestamp())

    def create_job(self, job_id: str, source: SourceRef, *, deadline: str) -> bool:
        """Create the job item in SPLITTING state; False if it already exists (a duplicate event)."""
        now = utc_now()
        item = {
            "job_id": job_id,
            "item": JOB_ITEM_SORT_KEY,
            "format_version": FORMAT_VERSION,
            "status": JobStatus.SPLITTING,
            "source": {k: v for k, v in asdict(source).items() if v is not None},
            "pages_total": 0,
            "created_at": now,
            "updated_at": now,
            "deadline": deadline,
            "expires_at": self._expires_at(),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_serialize(item),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def get_job(self, job_id: str, *, count_pages: bool = True) -> JobRecord | None:
        """Read a job item (strongly consistent), or None if there is none.

        With ``count_pages`` its ``pages_done`` and ``pages_failed`` are counted from the page items
        (one paginated Query); without, they are 0, for callers that need only the job's state.
        """
        response = self._client.get_item(
            TableName=self._table, Key=self._key(job_id, JOB_ITEM_SORT_KEY), ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return None
        record = JobRecord.from_item(_deserialize(item))
        if not count_pages:
            return record
        counts = self.count_pages(job_id)
        return replace(record, pages_done=counts.done, pages_failed=counts.failed)

    def mark_running(self, job_id: str, *, pages_total: int, sha256: str) -> None:
        """Record the page count once every page object is written; harmless when repeated."""
        self._client.update_item(
            TableName=self._table,
            Key=self._key(job_id, JOB_ITEM_SORT_KEY),
            UpdateExpression="SET #status = :running, pages_total = :total, updated_at = :now, "
            "#source.sha256 = :sha",
            ConditionExpression="#status IN (:splitting, :running)",
            ExpressionAttributeNames={"#status": "status", "#source": "source"},
            ExpressionAttributeValues=_serialize(
                {
                    ":running": JobStatus.RUNNING,
                    ":splitting": JobStatus.SPLITTING,
                    ":total": pages_total,
                    ":now": utc_now(),
                    ":sha": sha256,
                }
            ),
        )

    def record_split_progress(self, job_id: str, *, pages_split: int) -> bool:
        """Keep that pages 1 to ``pages_split`` of a job still SPLITTING are written.

        A split that runs out of time (or memory) is retried by Lambda from the start of the
        upload; the retry reads this and splits only the pages after it. The Splitter is the only
        writer of a SPLITTING job's item, and the value only grows: an older, smaller figure (from
        a duplicate invocation) is refused. Returns False when nothing was changed.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(job_id, JOB_ITEM_SORT_KEY),
                UpdateExpression="SET pages_split = :split, updated_at = :now",
                ConditionExpression="#status = :splitting AND "
                "(attribute_not_exists(pages_split) OR pages_split < :split)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialize(
                    {":split": pages_split, ":splitting": JobStatus.SPLITTING, ":now": utc_now()}
                ),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def record_page(
        self,
        job_id: str,
        page_number: int,
        *,
        status: PageStatus,
        duration_ms: int,
        reason: str | None = None,
    ) -> bool:
        """Record one page as DONE or FAILED: one conditional write of the page's own item.

        Returns False when the page was already recorded (by an earlier delivery): nothing changes.
        A FAILED page also offers its reason as the job's first failure (kept only if none is).
        """
        now = utc_now()
        page_item: dict[str, Any] = {
            "job_id": job_id,
            "item": page_sort_key(page_number),
            "format_version": FORMAT_VERSION,
            "page_number": page_number,
            "status": status,
            "duration_ms": duration_ms,
            "finished_at": now,
            "expires_at": self._expires_at(),
        }
        if status == PageStatus.FAILED:
            page_item["reason"] = (reason or "unknown reason")[:_MAX_REASON_CHARS]
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_serialize(page_item),
                ConditionExpression="attribute_not_exists(job_id)",
            )
            counted = True
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            counted = False
        if status == PageStatus.FAILED:
            # After the page item, and again on every delivery: a crash between the two writes is
            # mended by the retry, which finds the page recorded and still offers the reason.
            self._offer_first_failure(job_id, f"page {page_number}: {page_item['reason']}")
        return counted

    def _offer_first_failure(self, job_id: str, note: str) -> None:
        """Keep ``note`` as the job's first failure unless one is kept (only failed pages write it)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_serialize(
                    {
                        "job_id": job_id,
                        "item": FIRST_FAILURE_SORT_KEY,
                        "format_version": FORMAT_VERSION,
                        "note": note,
                        "expires_at": self._expires_at(),
                    }
                ),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    def count_pages(self, job_id: str) -> PageCounts:
        """How many of the job's pages are recorded, and how many of those FAILED.

        The same strongly consistent Query the state machine's poll makes (``Select: COUNT``,
        paginated): the page items are the only record of progress.
        """
        finished = failed = 0
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(**self._failed_pages_query(job_id), Select="COUNT"):
            finished += int(page.get("ScannedCount", 0))
            failed += int(page.get("Count", 0))
        return PageCounts(done=finished - failed, failed=failed)

    def first_failure(self, job_id: str) -> str | None:
        """The first failed page's note (``page N: reason``), if any page failed."""
        response = self._client.get_item(
            TableName=self._table, Key=self._key(job_id, FIRST_FAILURE_SORT_KEY), ConsistentRead=True
        )
        item = response.get("Item")
        return str(_deserialize(item)["note"]) if item else None

    def _failed_pages_query(self, job_id: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "KeyConditionExpression": "job_id = :job AND begins_with(#item, :prefix)",
            "FilterExpression": "#status = :failed",
            "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
            "ExpressionAttributeValues": _serialize(
                {":job": job_id, ":prefix": PAGE_ITEM_SORT_KEY_PREFIX, ":failed": PageStatus.FAILED}
            ),
            "ConsistentRead": True,
        }

    def forget_failed_page(self, job_id: str, page_number: int) -> bool:
        """Remove a FAILED page item, so the page can be processed again.

        Conditional on the item still being FAILED: repeating it changes nothing. The job's first
        failure goes with the first page forgotten (`pagefan retry` forgets every failed page).
        """
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(job_id, page_sort_key(page_number)),
                ConditionExpression="#status = :failed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_serialize({":failed": PageStatus.FAILED}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        self._client.delete_item(TableName=self._table, Key=self._key(job_id, FIRST_FAILURE_SORT_KEY))
        return True

    def reopen_job(self, job_id: str, *, deadline: str) -> int | None:
        """Set a FAILED job RUNNING again with a new deadline; return its retry number.

        None when the job is not FAILED (already reopened by another retry, or never failed).
        """
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=self._key(job_id, JOB_ITEM_SORT_KEY),
                UpdateExpression="SET #status = :running, deadline = :deadline, updated_at = :now "
                "REMOVE #error, first_failure, finished_at ADD retries :one",
                ConditionExpression="#status = :failed",
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues=_serialize(
                    {
                        ":running": JobStatus.RUNNING,
                        ":failed": JobStatus.FAILED,
                        ":deadline": deadline,
                        ":now": utc_now(),
                        ":one": 1,
                    }
                ),
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return int(_deserialize(response["Attributes"])["retries"])

    def iter_pages(self, job_id: str) -> Iterator[PageRecord]:
        """Every recorded page of a job, in page order."""
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="job_id = :job AND begins_with(#item, :prefix)",
            ExpressionAttributeNames={"#item": "item"},
            ExpressionAttributeValues=_serialize({":job": job_id, ":prefix": PAGE_ITEM_SORT_KEY_PREFIX}),
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                yield PageRecord.from_item(_deserialize(item))
