"""The jobs table as template.yaml defines it (job_id/item keys, on demand), for in-process moto tests."""

from __future__ import annotations

from typing import Any


def create_jobs_table(client: Any, name: str, **extra: Any) -> None:
    """Create a table with the jobs table's key schema through ``client`` (a DynamoDB client)."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "job_id", "KeyType": "HASH"},
            {"AttributeName": "item", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "job_id", "AttributeType": "S"},
            {"AttributeName": "item", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
