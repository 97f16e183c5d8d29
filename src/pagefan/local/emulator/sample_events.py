"""The sample events of events/: one per function of the template, as AWS would send it.

Written from template.yaml and samples/sample.pdf (:func:`render_events`, or
``pagefan events --write``), so that they cannot drift from either; a test compares the
committed files with what :func:`render_events` gives. The Splitter's event is the upload of
samples/sample.pdf; every other event belongs to the job that upload makes, so that `pagefan
invoke` can make what each event points at by running the real upstream functions.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from pagefan import layout
from pagefan.formats.payloads import JobInput, PdfExportInput, PdfExportMode
from pagefan.formats.timestamps import iso_timestamp
from pagefan.formats.versions import FORMAT_VERSION
from pagefan.job_ids import derive_job_id
from pagefan.local.emulator.account import REGION
from pagefan.local.emulator.stack import ACCOUNT_ID
from pagefan.local.emulator.template import load_template, template_functions

STACK_NAME = "pagefan"
"""The stack the sample events name (its buckets); `pagefan invoke` deploys under this name."""
SAMPLE_NAME = "sample.pdf"
SAMPLE_DEADLINE = "2099-01-01T00:00:00.000Z"
"""Deadline of the sample JobInput: far enough that no run ever reaches it."""
# Fixed, so that the generated event files are the same bytes on every run.
SAMPLE_EVENT_TIME = datetime(2026, 1, 1, tzinfo=UTC)
SPLITTER = "Splitter"
PAGE_WORKER = "PageWorker"
PDF_EXPORTER = "PdfExporter"
# The PdfExporter takes two shapes from DocumentJob: a part (its event file) and the merge (this one).
PDF_MERGE_EVENT = "pdf_exporter_merge.json"


# --- events as AWS sends them ------------------------------------------------------------------


def s3_put_event(
    bucket: str,
    key: str,
    *,
    size: int,
    etag: str,
    version_id: str | None = None,
    event_time: datetime | None = None,
) -> dict[str, Any]:
    """An S3 ``ObjectCreated:Put`` notification for one object, shaped as S3 sends it to Lambda.

    The key is URL-encoded as S3 does (``/`` kept). ``versionId`` is present only when given:
    S3 sends it for objects of versioned buckets.
    """
    moment = event_time or datetime.now(UTC)
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"')}
    if version_id is not None:
        obj["versionId"] = version_id
    # S3's sequencer orders events for one key: a hexadecimal value that grows with time.
    obj["sequencer"] = f"{int(moment.timestamp() * 1e6):018X}"
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": iso_timestamp(moment),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:EXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": "EXAMPLE123456789",
                    "x-amz-id-2": "EXAMPLE123/5678abcdefghijklambdaisawesome/mnopqrstuvwxyzABCDEFGH",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "pagefan-sample-event",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "EXAMPLE"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def _s3_bucket_name(template: dict[str, Any], function: str, stack_name: str) -> str:
    """The name of the bucket whose S3 events trigger ``function``, for a stack of that name."""
    resources = template["Resources"]
    pseudo = {
        "AWS::StackName": stack_name,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
    }
    events = resources[function].get("Properties", {}).get("Events", {})
    bucket_refs = [
        source["Properties"]["Bucket"]["Ref"] for source in events.values() if source.get("Type") == "S3"
    ]
    # A bucket's own NotificationConfiguration (the template wires S3 to its functions that way, so that the
    # invoke permission can name the bucket).
    bucket_refs += [
        logical_id
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::S3::Bucket"
        and any(
            config.get("Function") == {"Fn::GetAtt": [function, "Arn"]}
            for config in resource.get("Properties", {})
            .get("NotificationConfiguration", {})
            .get("LambdaConfigurations", [])
        )
    ]
    for bucket_ref in bucket_refs:
        name = resources[bucket_ref]["Properties"]["BucketName"]
        text = name["Fn::Sub"] if isinstance(name, dict) else name
        resolved = re.sub(r"\$\{([^}]+)\}", lambda m: pseudo.get(m.group(1), m.group(0)), str(text))
        if "${" in resolved:
            raise ValueError(f"the name of {bucket_ref} depends on more than the stack: {text}")
        return resolved
    raise ValueError(f"{function} has no S3 event source in the template")


def _state_machine_tasks(template: dict[str, Any]) -> set[str]:
    """Functions a state machine of the template invokes (their ARN is one of its substitutions)."""
    tasks = set()
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::StateMachine":
            continue
        for value in resource.get("Properties", {}).get("DefinitionSubstitutions", {}).values():
            if isinstance(value, dict) and isinstance(value.get("Fn::GetAtt"), list):
                tasks.add(value["Fn::GetAtt"][0])
    return tasks


def _sqs_consumers(template: dict[str, Any]) -> dict[str, str]:
    """Function logical id → logical id of the queue its SQS event reads."""
    consumers = {}
    for name, resource in template["Resources"].items():
        for spec in resource.get("Properties", {}).get("Events", {}).values():
            if spec.get("Type") == "SQS":
                queue = spec["Properties"]["Queue"]
                consumers[name] = queue["Fn::GetAtt"][0] if isinstance(queue, dict) else str(queue)
    return consumers


def _event_rule_consumers(template: dict[str, Any]) -> set[str]:
    """Logical ids of the functions an EventBridge rule invokes (SAM ``EventBridgeRule`` events)."""
    return {
        name
        for name, resource in template["Resources"].items()
        for spec in resource.get("Properties", {}).get("Events", {}).values()
        if spec.get("Type") == "EventBridgeRule"
    }


def job_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A job event of the stack's bus as EventBridge hands it to a target (DocumentJob's source)."""
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000003",
        "detail-type": detail_type,
        "source": "pagefan",
        "account": ACCOUNT_ID,
        "time": SAMPLE_EVENT_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def sqs_event(queue_logical_id: str, stack_name: str, body: str) -> dict[str, Any]:
    """An SQS event of one message, as Lambda's poller delivers it."""
    return {
        "Records": [
            {
                "messageId": "00000000-0000-0000-0000-000000000002",
                "receiptHandle": "sample-receipt-handle",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": str(int(SAMPLE_EVENT_TIME.timestamp() * 1000)),
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{stack_name}-{queue_logical_id}",
                "awsRegion": REGION,
            }
        ]
    }


def event_file_name(function: str) -> str:
    """events/ file of a function's sample event: ``PageWorker`` → ``page_worker.json``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", function).lower() + ".json"


def render_events(template_path: Path, *, stack_name: str = STACK_NAME) -> dict[str, str]:
    """The sample event files of events/, by file name, from the template and samples/sample.pdf.

    Splitter: the upload of samples/sample.pdf to the raw bucket, without versionId so that the
    job id is deterministic. PageWorker: page 1 of that job as the Splitter writes it (size and
    ETag come from the Splitter's own split code). Every function a state machine invokes: the
    JobInput of that job, except the PdfExporter: the first part of that job (parts of the template's
    default PdfPagesPerPart), and in ``pdf_exporter_merge.json`` the merge of its parts. Raises
    ValueError for a function no sample event is known for.
    """
    from pagefan.domain.split import open_document, split_pages

    template = load_template(template_path)
    sample = (template_path.parent / "samples" / SAMPLE_NAME).read_bytes()
    raw_bucket = _s3_bucket_name(template, SPLITTER, stack_name)
    work_bucket = _s3_bucket_name(template, PAGE_WORKER, stack_name)
    etag = hashlib.md5(sample, usedforsecurity=False).hexdigest()
    job_id = derive_job_id(raw_bucket, SAMPLE_NAME, None, etag)
    reader = open_document(sample, max_bytes=len(sample), max_pages=len(sample))
    _, first_page = next(split_pages(reader))
    events: dict[str, Any] = {
        SPLITTER: s3_put_event(
            raw_bucket, SAMPLE_NAME, size=len(sample), etag=etag, event_time=SAMPLE_EVENT_TIME
        ),
        PAGE_WORKER: s3_put_event(
            work_bucket,
            layout.page_key(job_id, 1),
            size=len(first_page),
            etag=hashlib.md5(first_page, usedforsecurity=False).hexdigest(),
            event_time=SAMPLE_EVENT_TIME,
        ),
    }
    job_input = JobInput(job_id=job_id, pages_total=len(reader.pages), deadline=SAMPLE_DEADLINE).to_dict()
    tasks = _state_machine_tasks(template)
    queue_consumers = _sqs_consumers(template)
    rule_consumers = _event_rule_consumers(template)
    for function in template_functions(template):
        if function in events:
            continue
        if function in queue_consumers:
            # What Lambda sends to the on-failure destination when page 1 failed every attempt.
            failure = {
                "version": "1.0",
                "timestamp": SAMPLE_EVENT_TIME.isoformat(),
                "requestContext": {
                    "requestId": "00000000-0000-0000-0000-000000000001",
                    "functionArn": (
                        f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{stack_name}-{PAGE_WORKER}:$LATEST"
                    ),
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 3,
                },
                "requestPayload": events[PAGE_WORKER],
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": {
                    "errorType": "ResourceNotFoundException",
                    "errorMessage": "Requested resource not found",
                },
            }
            events[function] = sqs_event(queue_consumers[function], stack_name, json.dumps(failure))
            continue
        if function in rule_consumers:
            # The JobFailed event DocumentJob publishes when that job's page 1 failed.
            events[function] = job_event(
                "JobFailed",
                {
                    "format_version": FORMAT_VERSION,
                    "job_id": job_id,
                    "status": "FAILED",
                    "stage": "pages",
                    "reason": (
                        f"1 of {len(reader.pages)} pages could not be processed. First failure: page 1: "
                        "Page 1 has an empty or invalid page size."
                    ),
                },
            )
            continue
        if function not in tasks:
            raise ValueError(f"no sample event is known for {function}: teach render_events its event")
        events[function] = job_input
    files = {event_file_name(function): event for function, event in events.items()}
    if PDF_EXPORTER in events:
        job = JobInput.from_dict(job_input)
        pages_per_part = int(template["Parameters"]["PdfPagesPerPart"]["Default"])
        part = PdfExportInput(PdfExportMode.PART, job, pages_per_part, first_page=1)
        files[event_file_name(PDF_EXPORTER)] = part.to_dict()
        files[PDF_MERGE_EVENT] = PdfExportInput(PdfExportMode.MERGE, job, pages_per_part).to_dict()
    return {
        name: json.dumps(event, indent=2, ensure_ascii=False) + "\n" for name, event in sorted(files.items())
    }


def write_events(template_path: Path, directory: Path | None = None) -> list[Path]:
    """Write :func:`render_events` into ``directory`` (default: events/ beside the template)."""
    target = directory or template_path.parent / "events"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_events(template_path).items():
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
