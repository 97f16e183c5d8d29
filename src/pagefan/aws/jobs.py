"""The jobs table: one job item per job and one item per finished page.

A page is recorded in one transaction with the job's counter, conditional on the page item not
existing yet, so a page counts once however often its worker runs (S3 at-least-once delivery,
Lambda retries). Conditional writes are used instead of Powertools Idempotency: the page item
*is* the idempotency record, and a second table or a cached response would add a write per page
without making the count any more exact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pagefan.formats import (
    FORMAT_VERSION,
    JOB_ITEM_SORT_KEY,
    PAGE_ITEM_SORT_KEY_PREFIX,
    JobRecord,
    JobStatus,
    PageRecord,
    PageStatus,
    SourceRef,
    page_sort_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# A page's failure reason is stored whole on its page item; the job item keeps only the first one.
_MAX_REASON_CHARS = 1000


def utc_now() -> str:
    """The current time as Step Functions writes it (ISO 8601, UTC, milliseconds, ``Z``)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def deadline_after(seconds: int) -> str:
    """The ISO timestamp ``seconds`` from now, in the form the state machine compares."""
    moment = datetime.now(UTC) + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _serialize(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _first_condition_failed(error: ClientError) -> bool:
    """Whether a transaction was cancelled because its first item's condition did not hold.

    Any other cancellation (a conflict with a concurrent transaction, throttling) is not an answer
    about the item and must be raised, not read as "already done".
    """
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return False
    reasons = error.response.get("CancellationReasons", [])
    return bool(reasons) and reasons[0].get("Code") == "ConditionalCheckFailed"


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
            "pages_done": 0,
            "pages_failed": 0,
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

    def get_job(self, job_id: str) -> JobRecord | None:
        """Read a job item (strongly consistent), or None if there is none."""
        response = self._client.get_item(
            TableName=self._table, Key=self._key(job_id, JOB_ITEM_SORT_KEY), ConsistentRead=True
        )
        item = response.get("Item")
        return JobRecord.from_item(_deserialize(item)) if item else None

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

    def record_page(
        self, job_id: str, page_number: int, *, status: str, duration_ms: int, reason: str | None = None
    ) -> bool:
        """Record one page as DONE or FAILED together with the job's counter.

        Returns False when the page was already recorded (by an earlier delivery): nothing changes.
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
        values: dict[str, Any] = {":one": 1, ":now": now}
        if status == PageStatus.DONE:
            update = "ADD pages_done :one SET updated_at = :now"
        else:
            short = (reason or "unknown reason")[:_MAX_REASON_CHARS]
            page_item["reason"] = short
            update = (
                "ADD pages_failed :one "
                "SET updated_at = :now, first_failure = if_not_exists(first_failure, :note)"
            )
            values[":note"] = f"page {page_number}: {short}"
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _serialize(page_item),
                            "ConditionExpression": "attribute_not_exists(job_id)",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": self._key(job_id, JOB_ITEM_SORT_KEY),
                            "UpdateExpression": update,
                            "ConditionExpression": "attribute_exists(job_id)",
                            "ExpressionAttributeValues": _serialize(values),
                        }
                    },
                ]
            )
        except ClientError as error:
            if _first_condition_failed(error):
                return False
            raise
        return True

    def forget_failed_page(self, job_id: str, page_number: int) -> bool:
        """Remove a FAILED page item and its count, so the page can be processed again.

        One transaction, conditional on the item still being FAILED: repeating it changes nothing.
        """
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": self._key(job_id, page_sort_key(page_number)),
                            "ConditionExpression": "#status = :failed",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": _serialize({":failed": PageStatus.FAILED}),
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table,
                            "Key": self._key(job_id, JOB_ITEM_SORT_KEY),
                            "UpdateExpression": "ADD pages_failed :minus_one SET updated_at = :now",
                            "ExpressionAttributeValues": _serialize({":minus_one": -1, ":now": utc_now()}),
                        }
                    },
                ]
            )
        except ClientError as error:
            if _first_condition_failed(error):
                return False
            raise
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
