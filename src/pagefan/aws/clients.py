"""AWS clients and the job store, created once per execution environment and only when first used.

boto3 honours AWS_ENDPOINT_URL (and the per-service variants), which is how the local runtime
points the same code at its emulated account.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Protocol

import boto3
from botocore.config import Config

from pagefan.aws.jobs import JobStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

# Standard retry mode backs off on throttling and transient 5xx answers by itself.
# An exporter reads page results ahead (objects.READ_AHEAD) while it writes outputs
# (objects.write_objects): up to 16 requests at once on one client, beyond botocore's 10 pooled
# connections, which would open and drop extra connections ("Connection pool is full").
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=60,
    max_pool_connections=20,
)


@cache
def s3_client() -> S3Client:
    """The execution environment's S3 client."""
    return boto3.client("s3", config=_CONFIG)


@cache
def dynamodb_client() -> DynamoDBClient:
    """The execution environment's DynamoDB client."""
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def sfn_client() -> SFNClient:
    """The execution environment's Step Functions client."""
    return boto3.client("stepfunctions", config=_CONFIG)


class JobsTableSettings(Protocol):
    """What a function's settings say of the jobs table it keeps jobs in."""

    @property
    def jobs_table(self) -> str:
        """The table's name."""

    @property
    def job_ttl_days(self) -> int:
        """How long the table keeps a job's items."""


@cache
def job_store(settings: JobsTableSettings) -> JobStore:
    """The execution environment's jobs table: the one ``settings`` name, on its DynamoDB client."""
    return JobStore(dynamodb_client(), settings.jobs_table, ttl_days=settings.job_ttl_days)
