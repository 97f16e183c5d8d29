"""Running documents through the local runtime in tests, and looking at what it left behind."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdf

from pagefan.formats.jobs_table import JobRecord, PageRecord
from pagefan.local.client.jobs_client import JobsClient, StackOutputs
from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.dynamodb_limits import DynamoDbLimits
from pagefan.local.emulator.faults import FaultPlan

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@dataclass
class Pipeline:
    """An emulated account with the template deployed, plus what tests need to inspect it."""

    account: EmulatedAccount
    client: JobsClient
    outputs: dict[str, str]
    observer_url: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def run(self, pdf: bytes, name: str = "document.pdf", *, timeout: float = 120) -> JobRecord:
        """Upload ``pdf`` to the raw bucket and wait until its job ends; return the job record."""
        path = self.account.work_dir / name
        path.write_bytes(pdf)
        upload = self.client.upload(path, key=name)
        record = self.client.wait(upload.job_id, timeout=timeout)
        assert record is not None, "the Splitter never created the job"
        assert record.terminal, f"job still {record.status} after {timeout} s"
        return record

    def job_events(self, job_id: str, *, expect: int = 1, timeout: float = 120) -> list[dict[str, Any]]:
        """The EventBridge events published for a job (read from an observer queue).

        Returns once ``expect`` of them have arrived; ``timeout`` guards against a hang (a correct
        run publishes within a second of the job's end), so a loaded machine changes no verdict.
        """
        sqs = self.account.client("sqs")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in sqs.receive_message(
                QueueUrl=self.observer_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", []):
                self.events.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.observer_url, ReceiptHandle=message["ReceiptHandle"])
            found = [event for event in self.events if event.get("detail", {}).get("job_id") == job_id]
            if len(found) >= expect:
                return found
            time.sleep(0.2)
        return [event for event in self.events if event.get("detail", {}).get("job_id") == job_id]

    def keys(self, output: str, prefix: str = "") -> list[str]:
        """Every key in the bucket a stack output names."""
        s3 = self.account.client("s3")
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.outputs[output], Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def read(self, output: str, key: str) -> bytes:
        """The body of one object in the bucket a stack output names."""
        return self.account.client("s3").get_object(Bucket=self.outputs[output], Key=key)["Body"].read()

    def comparable_outputs(self, record: JobRecord) -> dict[str, Any]:
        """Every output of a job, with what legitimately differs between two runs taken out.

        The job id and the source's version id differ (each upload is a new object version, so a
        new job), and cairo stamps the rebuilt PDF with its creation time: the PDF is compared page
        by page.
        """
        document = json.loads(self.read("ResultsBucketName", record.outputs["document_json"]))
        document.pop("job_id")
        document["source"].pop("version_id")
        svgs = [
            self.read("ResultsBucketName", key)
            for key in self.keys("ResultsBucketName", record.outputs["svg_prefix"])
        ]
        pdf = pypdf.PdfReader(io.BytesIO(self.read("ResultsBucketName", record.outputs["document_pdf"])))
        return {
            "document": document,
            "text": self.read("ResultsBucketName", record.outputs["document_text"]),
            "svgs": svgs,
            "pdf_pages": [
                (page.mediabox.width, page.mediabox.height, page.extract_text()) for page in pdf.pages
            ],
            "pdf_metadata": {k: v for k, v in (pdf.metadata or {}).items() if "Date" not in k},
        }

    def pages(self, job_id: str) -> list[PageRecord]:
        """The job's page items in the jobs table."""
        return list(self.client.jobs.iter_pages(job_id))

    def failed_invocations(self) -> list[dict[str, Any]]:
        """Records that reached the on-failure destination queue."""
        sqs = self.account.client("sqs")
        url = self.outputs["FailedInvocationsQueueUrl"]
        bodies = []
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
        return bodies


@contextmanager
def pipeline(
    work_dir: Path,
    *,
    parameters: dict[str, str] | None = None,
    function_overrides: dict[str, dict[str, Any]] | None = None,
    faults: FaultPlan | None = None,
    workers: int = 2,
    template: Path = TEMPLATE,
    enforce_iam: bool = False,
    dynamodb_limits: DynamoDbLimits | None = None,
    lambda_time_scale: float = 0.01,
) -> Iterator[Pipeline]:
    """Deploy template.yaml into a fresh emulated account, with an observer on the job event bus.

    With ``enforce_iam``, every handler runs as its own role under moto's IAM enforcement.
    ``lambda_time_scale`` runs Lambda's asynchronous clock faster than AWS's (a minute's retry delay
    in 0.6 s, by default here), so that a test of a failing function does not wait minutes.
    """
    with EmulatedAccount(
        template,
        workers=workers,
        lambda_time_scale=lambda_time_scale,
        work_dir=work_dir,
        parameters=parameters,
        function_overrides=function_overrides,
        faults=faults,
        enforce_iam=enforce_iam,
        dynamodb_limits=dynamodb_limits,
    ) as account:
        outputs = account.deployment.outputs
        sqs, events = account.client("sqs"), account.client("events")
        observer_url = sqs.create_queue(QueueName="test-job-events")["QueueUrl"]
        observer_arn = sqs.get_queue_attributes(QueueUrl=observer_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        bus = outputs["JobEventBusName"]
        events.put_rule(
            Name="test-observer", EventBusName=bus, EventPattern=json.dumps({"source": ["pagefan"]})
        )
        events.put_targets(
            Rule="test-observer", EventBusName=bus, Targets=[{"Id": "queue", "Arn": observer_arn}]
        )
        client = JobsClient(
            account.client("s3"), account.client("dynamodb"), StackOutputs.from_outputs(outputs)
        )
        yield Pipeline(account=account, client=client, outputs=outputs, observer_url=observer_url)
