"""Pages recorded per second on one job under DynamoDB's emulated limits: the old design against the new.

Both designs run in the same process, against the same moto server with pagefan's DynamoDB
emulation attached at AWS's defaults (transaction conflicts, 1,000 write units a second per
partition), with ``--recorders`` concurrent recorders (the PageWorker's default reserved concurrency)
each with its own client configured as the handlers' (botocore standard retries, 5 attempts):

- **old**: one transaction per page, the page item plus an ``ADD`` to a counter on the JOB item;
- **new**: ``JobStore.record_page``, one conditional ``PutItem`` of the page's own item.

A page whose recording still fails after botocore's retries would fail its PageWorker invocation
on AWS. Run: ``.venv/bin/python benchmarks/recording.py [--pages 2000] [--recorders 50]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from pagefan.aws.jobs import JobStore
from pagefan.formats.document import SourceRef
from pagefan.formats.jobs_table import PageStatus, page_sort_key
from pagefan.local.emulator import dynamodb_limits, moto_fixes
from pagefan.local.emulator.contention import Pressure
from pagefan.local.emulator.dynamodb_limits import DynamoDbEmulation

TABLE = "jobs"
HANDLER_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=4)
SOURCE = SourceRef(bucket="raw", key="bench.pdf", version_id="v", etag="e", size=1)


@dataclass(frozen=True)
class RecordingRate:
    """One design's run: pages recorded, pages refused after retries, and the rate."""

    design: str
    pages: int
    recorded: int
    refused: int
    seconds: float
    pages_per_second: float
    transaction_conflicts: int
    throttled_writes: int


def _old_recording(client: Any, job_id: str, page: int) -> None:
    client.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {
                        "job_id": {"S": job_id},
                        "item": {"S": page_sort_key(page)},
                        "status": {"S": PageStatus.DONE},
                    },
                    "ConditionExpression": "attribute_not_exists(job_id)",
                }
            },
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"job_id": {"S": job_id}, "item": {"S": "JOB"}},
                    "UpdateExpression": "ADD pages_done :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                    "ConditionExpression": "attribute_exists(job_id)",
                }
            },
        ]
    )


def measure(
    design: str, *, endpoint: str, pages: int, recorders: int, emulation: DynamoDbEmulation
) -> RecordingRate:
    """Record ``pages`` pages of a fresh job with ``recorders`` threads in one design."""
    job_id = f"bench-{design}"
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    JobStore(session.client("dynamodb", endpoint_url=endpoint), TABLE).create_job(
        job_id, SOURCE, deadline="2099-01-01T00:00:00.000Z"
    )
    clients = [
        session.client("dynamodb", endpoint_url=endpoint, config=HANDLER_RETRIES) for _ in range(recorders)
    ]
    stores = [JobStore(client, TABLE) for client in clients]
    before = emulation.contention.of(job_id)

    def record(page: int) -> bool:
        worker = page % recorders
        try:
            if design == "old":
                _old_recording(clients[worker], job_id, page)
            else:
                stores[worker].record_page(job_id, page, status=PageStatus.DONE, duration_ms=1)
        except ClientError:
            return False
        return True

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=recorders) as pool:
        outcomes = list(pool.map(record, range(1, pages + 1)))
    seconds = time.perf_counter() - started
    after = emulation.contention.of(job_id)
    recorded = outcomes.count(True)
    return RecordingRate(
        design=design,
        pages=pages,
        recorded=recorded,
        refused=pages - recorded,
        seconds=round(seconds, 2),
        pages_per_second=round(recorded / seconds, 1),
        transaction_conflicts=after[Pressure.TRANSACTION_CONFLICTS] - before[Pressure.TRANSACTION_CONFLICTS],
        throttled_writes=after[Pressure.THROTTLED_WRITES] - before[Pressure.THROTTLED_WRITES],
    )


def recording_rates(pages: int = 2000, recorders: int = 50) -> list[dict[str, Any]]:
    """Both designs, one after the other, on one emulated DynamoDB at AWS's limits."""
    from moto.server import ThreadedMotoServer

    moto_fixes.apply()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    emulation = DynamoDbEmulation()
    dynamodb_limits.attach(emulation)
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "job_id", "KeyType": "HASH"},
                {"AttributeName": "item", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "job_id", "AttributeType": "S"},
                {"AttributeName": "item", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        return [
            asdict(measure(design, endpoint=endpoint, pages=pages, recorders=recorders, emulation=emulation))
            for design in ("old", "new")
        ]
    finally:
        dynamodb_limits.detach()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--recorders", type=int, default=50)
    args = parser.parse_args()
    print(json.dumps(recording_rates(args.pages, args.recorders), indent=2))


if __name__ == "__main__":
    main()
