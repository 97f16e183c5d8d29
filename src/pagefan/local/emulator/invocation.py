"""`pagefan invoke`: one function of the template, one event, no Docker.

The local counterpart of ``sam local invoke FUNCTION -e EVENT``. sam local runs the handler in a
container against the resources of a deployed stack, where the objects and records the event
names already exist. Here the template is deployed into an emulated account
(:class:`~pagefan.local.emulator.account.EmulatedAccount`) that starts empty, so before the one
invocation asked for, :class:`Invoker` creates what the event points at, running the real
upstream handlers on the files in samples/ (never writing made-up data):

* an S3 event on the raw bucket: the object is uploaded (samples/<key's name>, or ``--file``);
* an S3 event on the work bucket's ``pages/``: the Splitter runs on events/splitter.json;
* a JobInput (Combiner, exporters): the Splitter, then the PageWorker for every page.

Nothing else runs behind the user's back: the account holds S3 notifications instead of
delivering them (``deliver_events=False``), and every state machine execution an invocation
starts (the Splitter starts DocumentJob) is stopped right after it.

The sample events in events/ are written by this module too (:func:`render_events`, or
``python -m pagefan.local.emulator.invocation --write-events``), from template.yaml and samples/sample.pdf,
so they cannot drift from either; a test compares the committed files with what it renders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats.jobs_table import PageStatus
from pagefan.formats.payloads import JobInput, PdfExportInput, PdfExportMode
from pagefan.formats.timestamps import iso_timestamp
from pagefan.formats.versions import FORMAT_VERSION
from pagefan.job_ids import derive_job_id
from pagefan.local.emulator.account import REGION, EmulatedAccount
from pagefan.local.emulator.environments import InvocationResult
from pagefan.local.emulator.stack import ACCOUNT_ID
from pagefan.local.emulator.template import load_template

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
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")

Say = Callable[[str], None]


def _quiet(_line: str) -> None:
    """Default for ``say``: print nothing."""


class UsageProblem(Exception):
    """The request cannot run as given (exit status 2): function, event file or source file."""


class PreparationFailed(Exception):
    """An upstream function failed while creating what the event points at (exit status 1)."""


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome and the lines its function wrote to its log."""

    result: InvocationResult
    log_lines: list[str]
    aftermath: list[str]
    """What the invocation set off and pagefan invoke held back (stopped executions, S3 notifications)."""

    @property
    def response(self) -> Any:
        """What Lambda returns: the handler's value, or the error payload of a function error."""
        return self.result.payload if self.result.ok else self.result.error_payload()


# --- the template and the event file ---------------------------------------------------------


def template_functions(template: dict[str, Any]) -> list[str]:
    """The logical ids of the template's functions, sorted."""
    return sorted(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in _FUNCTION_TYPES
    )


def check_function(template_path: Path, function: str) -> None:
    """Raise UsageProblem unless ``function`` is a function's logical id in the template."""
    functions = template_functions(load_template(template_path))
    if function not in functions:
        raise UsageProblem(
            f"unknown function {function!r}; {template_path.name} defines: {', '.join(functions)}"
        )


def read_event(path: Path) -> Any:
    """Read an event file (any JSON value, as Lambda accepts), or raise UsageProblem."""
    if not path.exists():
        raise UsageProblem(f"event file {path}: no such file")
    if path.is_dir():
        raise UsageProblem(f"event file {path} is a directory; give a JSON file")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageProblem(f"event file {path} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"event file {path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise UsageProblem(
            f"event file {path} is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


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


# --- invoking -----------------------------------------------------------------------------------


def open_account(template_path: Path, work_dir: Path, *, enforce_iam: bool = True) -> EmulatedAccount:
    """An emulated account for `pagefan invoke` (start it with ``with``).

    Deployed as the stack the sample events name, holding S3 notifications instead of delivering
    them, with one environment per function (invocations run one at a time). The function runs as
    its own role with IAM enforced (unless ``enforce_iam`` is False), as `pagefan run` does: what
    its role does not grant fails here.
    """
    return EmulatedAccount(
        template_path,
        work_dir=work_dir,
        stack_name=STACK_NAME,
        workers=1,
        deliver_events=False,
        enforce_iam=enforce_iam,
    )


class _LogTail:
    """What a function's log files gain from now on (environments append to ``<id>-N.log``)."""

    def __init__(self, log_dir: Path, function: str) -> None:
        self._dir = log_dir
        # Logical ids have no "-", so this matches the function's own files only.
        self._pattern = f"{function}-*.log"
        self._sizes = {path: path.stat().st_size for path in log_dir.glob(self._pattern)}

    def new_lines(self) -> list[str]:
        lines: list[str] = []
        for path in sorted(self._dir.glob(self._pattern)):
            with path.open("rb") as log:
                log.seek(self._sizes.get(path, 0))
                lines.extend(log.read().decode("utf-8", errors="replace").splitlines())
        return lines


def without_tracebacks(lines: Iterable[str]) -> list[str]:
    """Drop Python tracebacks (chained ones included) from log lines.

    The emulated runtime logs a function error's traceback; `pagefan invoke` states the error in
    one line instead, unless asked for the traceback.
    """
    kept: list[str] = []
    in_traceback = after_traceback = False
    for line in lines:
        if line == "Traceback (most recent call last):":
            in_traceback, after_traceback = True, False
        elif in_traceback:
            # Frames are indented; the first unindented line is the exception itself.
            in_traceback = line.startswith(" ")
            after_traceback = not in_traceback
        elif after_traceback and (
            not line.strip()
            or line.startswith("The above exception was the direct cause")
            or line.startswith("During handling of the above exception")
        ):
            pass
        else:
            after_traceback = False
            kept.append(line)
    return kept


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _page_ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 5]`` → ``"1-3, 5"``."""
    ranges: list[str] = []
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        ranges.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(ranges)


def _s3_records(event: Any) -> list[dict[str, Any]] | None:
    """The records of an S3 notification event, or None if ``event`` is not one."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        return None
    records: list[dict[str, Any]] = event["Records"]
    for record in records:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            return None
        s3 = record.get("s3")
        bucket = s3.get("bucket") if isinstance(s3, dict) else None
        obj = s3.get("object") if isinstance(s3, dict) else None
        if not (
            isinstance(bucket, dict)
            and isinstance(bucket.get("name"), str)
            and isinstance(obj, dict)
            and isinstance(obj.get("key"), str)
        ):
            return None
    return records


def _failure_records(event: Any) -> list[dict[str, Any]]:
    """The Lambda on-failure records an SQS event carries (empty for any other event)."""
    if not isinstance(event, dict):
        return []
    records = []
    for record in event.get("Records", []):
        if isinstance(record, dict) and record.get("eventSource") == "aws:sqs":
            try:
                body = json.loads(record.get("body", ""))
            except ValueError:
                continue
            if isinstance(body, dict) and "requestPayload" in body:
                records.append(body)
    return records


def _is_pdf_export_input(event: Any) -> bool:
    return isinstance(event, dict) and isinstance(event.get("mode"), str) and _is_job_input(event.get("job"))


def _is_job_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("source") == "pagefan" and "detail-type" in event


def _is_job_input(event: Any) -> bool:
    return (
        isinstance(event, dict)
        and isinstance(event.get("job_id"), str)
        and isinstance(event.get("pages_total"), int)
    )


class Invoker:
    """Single invocations in an :func:`open_account` account, each event's prerequisites first.

    What an event points at is made by the real upstream functions. Safe to use repeatedly on one
    account: what exists already is not made again.
    """

    def __init__(
        self,
        account: EmulatedAccount,
        *,
        project_dir: Path,
        source_file: Path | None = None,
        say: Say = _quiet,
    ) -> None:
        self.account = account
        self.project_dir = project_dir
        self.source_file = source_file
        self.say = say
        outputs = account.deployment.outputs
        self.raw_bucket = outputs["RawBucketName"]
        self.work_bucket = outputs["WorkBucketName"]
        self.s3 = account.client("s3")
        self.sfn = account.client("stepfunctions")
        self.jobs = JobStore(account.client("dynamodb"), outputs["JobsTableName"])

    # --- the invocation asked for -----------------------------------------------------------

    def invoke(self, function: str, event: Any) -> Invocation:
        """Create what ``event`` points at, then invoke ``function`` once, synchronously.

        Raises:
            UsageProblem: unknown function, or the event names something that cannot be made.
            PreparationFailed: an upstream function failed while preparing.

        """
        if function not in self.account.functions:
            known = ", ".join(sorted(self.account.functions))
            raise UsageProblem(f"unknown function {function!r}; the template defines: {known}")
        self.prepare(event)
        held_before = len(self.account.held_events)
        tail = _LogTail(self.account.work_dir / "logs", function)
        result = self.account.invoke(function, event)
        log_lines = tail.new_lines()
        aftermath = self._stop_executions(function)
        aftermath += self._held(self.account.held_events[held_before:])
        return Invocation(result, log_lines, aftermath)

    # --- preparing ----------------------------------------------------------------------------

    def prepare(self, event: Any) -> None:
        """Create what ``event`` names, if it does not exist yet."""
        records = _s3_records(event)
        if records is not None:
            for record in records:
                bucket = record["s3"]["bucket"]["name"]
                key = unquote_plus(record["s3"]["object"]["key"])
                if bucket == self.raw_bucket:
                    self._ensure_upload(record)
                elif bucket == self.work_bucket and key.startswith(layout.PAGES_PREFIX):
                    self._ensure_page(record)
                else:
                    self.say(
                        f"nothing to prepare for s3://{bucket}/{key}: pagefan invoke creates uploads "
                        f"in {self.raw_bucket} and pages in {self.work_bucket}/{layout.PAGES_PREFIX}"
                    )
        elif _is_job_input(event):
            self._ensure_page_results(event["job_id"], event["pages_total"])
        elif _is_pdf_export_input(event):
            task = PdfExportInput.from_dict(event)
            self._ensure_page_results(task.job_id, task.pages_total)
            if task.mode == PdfExportMode.MERGE:
                self._ensure_pdf_parts(task)
        elif _failure_records(event):
            # A failed invocation names the event that failed: prepare what that event needs.
            for failure in _failure_records(event):
                self.prepare(failure["requestPayload"])
        elif _is_job_event(event):
            self.say("nothing to prepare: a job event names no object, only the job")
        else:
            self.say("nothing to prepare: the event is neither an S3 event nor a job's task input")

    def _head(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            head: dict[str, Any] = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head

    def _check_etag(self, record: dict[str, Any], head: dict[str, Any], consequence: str = "") -> None:
        obj = record["s3"]["object"]
        expected = str(obj.get("eTag", "")).strip('"')
        actual = str(head["ETag"]).strip('"')
        if expected and expected != actual:
            where = f"s3://{record['s3']['bucket']['name']}/{unquote_plus(obj['key'])}"
            self.say(
                f"warning: {where} has ETag {actual} but the event says {expected}: "
                f"it is not the file the event was made from{consequence}"
            )

    def _ensure_upload(self, record: dict[str, Any]) -> None:
        """An upload the event names: put the sample file (or --file) there if it is missing."""
        bucket, obj = record["s3"]["bucket"]["name"], record["s3"]["object"]
        key = unquote_plus(obj["key"])
        head = self._head(bucket, key)
        if head is None:
            path = self.source_file or self.project_dir / "samples" / PurePosixPath(key).name
            if not path.is_file():
                raise UsageProblem(
                    f"s3://{bucket}/{key} does not exist and there is no {_shown(path)} to upload: "
                    "give the file with --file PATH"
                )
            response = self.s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
            self.say(f"preparing: uploaded {_shown(path)} to s3://{bucket}/{key}")
            head = {"ETag": response["ETag"], "VersionId": response.get("VersionId")}
        self._check_etag(record, head, "; the job id comes from the event's eTag all the same")
        version = obj.get("versionId")
        if version and version != head.get("VersionId"):
            self.say(
                f"warning: the event names version {version} of s3://{bucket}/{key}, which this "
                f"fresh account cannot have (it holds {head.get('VersionId')}); drop versionId from "
                "the event to read the latest version"
            )

    def _splitter_event(self) -> tuple[Path, Any]:
        path = self.project_dir / "events" / event_file_name(SPLITTER)
        return path, read_event(path)

    def _split_sample(self) -> tuple[str, int]:
        """Run the Splitter on events/splitter.json's upload; return its job id and page count."""
        path, event = self._splitter_event()
        self.prepare(event)
        result, stopped = self._run_upstream(SPLITTER, event)
        job = ((result.payload or {}).get("jobs") or [{}])[0]
        job_id, pages_total = str(job.get("job_id")), int(job.get("pages_total") or 0)
        if job.get("rejection"):
            raise PreparationFailed(
                f"the Splitter rejected the upload {_shown(path)} names: {job['rejection']}"
            )
        self.say(
            f"preparing: the Splitter split the upload {_shown(path)} names into job {job_id} "
            f"({pages_total} pages)"
        )
        for line in stopped:
            self.say(f"preparing: {line}")
        return job_id, pages_total

    def _ensure_page(self, record: dict[str, Any]) -> None:
        """A page object the event names: split the sample upload if it is missing."""
        bucket, key = record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"])
        head = self._head(bucket, key)
        if head is None:
            job_id, pages_total = self._split_sample()
            head = self._head(bucket, key)
            if head is None:
                path, _ = self._splitter_event()
                raise UsageProblem(
                    f"s3://{bucket}/{key} is still missing after the Splitter ran on {_shown(path)} "
                    f"(job {job_id}, {pages_total} pages): the event names another job's page "
                    "or a page that document does not have"
                )
        self._check_etag(record, head)

    def _ensure_page_results(self, job_id: str, pages_total: int) -> None:
        """A JobInput: make the job's page results (Splitter, then PageWorker per missing page)."""
        record = self.jobs.get_job(job_id, count_pages=False)
        if record is None:
            split_job, _ = self._split_sample()
            record = self.jobs.get_job(job_id, count_pages=False)
            if record is None:
                path, _ = self._splitter_event()
                raise UsageProblem(
                    f"job {job_id} does not exist, and it is not the job of {_shown(path)} ({split_job}): "
                    "give a JobInput for that job"
                )
        if record.pages_total != pages_total:
            self.say(
                f"warning: the event says pages_total {pages_total}; job {job_id} has {record.pages_total}"
            )
        missing = [
            page
            for page in range(1, record.pages_total + 1)
            if self._head(self.work_bucket, layout.page_result_key(job_id, page)) is None
        ]
        for page in missing:
            key = layout.page_key(job_id, page)
            head = self._head(self.work_bucket, key)
            if head is None:
                raise UsageProblem(f"page {page} of job {job_id} is missing: s3://{self.work_bucket}/{key}")
            event = s3_put_event(
                self.work_bucket, key, size=int(head["ContentLength"]), etag=str(head["ETag"])
            )
            _, stopped = self._run_upstream(PAGE_WORKER, event)
            for line in stopped:
                self.say(f"preparing: {line}")
            if self._head(self.work_bucket, layout.page_result_key(job_id, page)) is None:
                reasons = [p.reason for p in self.jobs.iter_pages(job_id) if p.page_number == page]
                status = f"{PageStatus.FAILED}: {reasons[0]}" if reasons else "no result written"
                raise PreparationFailed(
                    f"the PageWorker could not analyse page {page} of job {job_id} ({status})"
                )
        if missing:
            self.say(f"preparing: the PageWorker analysed page {_page_ranges(missing)} of job {job_id}")

    def _ensure_pdf_parts(self, task: PdfExportInput) -> None:
        """A merge: render each part the work bucket lacks, as DocumentJob's Map would."""
        rendered = []
        for first, last in task.part_ranges:
            if self._head(self.work_bucket, layout.pdf_part_key(task.job_id, first, last)) is not None:
                continue
            part = PdfExportInput(PdfExportMode.PART, task.job, task.pages_per_part, first_page=first)
            self._run_upstream(PDF_EXPORTER, part.to_dict())
            rendered.append(f"{first}-{last}")
        if rendered:
            self.say(f"preparing: the PdfExporter rendered pages {', '.join(rendered)} of job {task.job_id}")

    def _run_upstream(self, function: str, event: Any) -> tuple[InvocationResult, list[str]]:
        """Invoke a function the event depends on; return its result and the executions stopped."""
        result = self.account.invoke(function, event)
        stopped = self._stop_executions(function)
        if not result.ok:
            raise PreparationFailed(
                f"{function} failed while preparing the event: {result.error_type}: {result.error_message}"
            )
        return result, stopped

    # --- keeping the rest of the pipeline still ----------------------------------------------

    def _stop_executions(self, function: str) -> list[str]:
        """Stop every running state machine execution (the Splitter starts one per job); say which."""
        stopped = []
        for machine in self.sfn.list_state_machines()["stateMachines"]:
            running = self.sfn.list_executions(
                stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
            )["executions"]
            for execution in running:
                self.sfn.stop_execution(
                    executionArn=execution["executionArn"],
                    error="pagefan.invoke",
                    cause="pagefan invoke runs one function; pagefan run runs the whole pipeline",
                )
                stopped.append(
                    f"{function} started {machine['name']} execution {execution['name']}, stopped: "
                    "pagefan invoke runs one function (pagefan run runs the whole pipeline)"
                )
        return stopped

    def _held(self, held: list[tuple[str, dict[str, Any]]]) -> list[str]:
        """Say which functions the held S3 notifications would have invoked."""
        counts: dict[str, int] = {}
        for function_arn, _event in held:
            name = self.account.deployment.function_by_arn(function_arn).logical_id
            counts[name] = counts.get(name, 0) + 1
        return [
            f"not delivered: {count} S3 notification(s) that would invoke {name}"
            for name, count in sorted(counts.items())
        ]


@contextmanager
def invoker(
    template_path: Path, *, source_file: Path | None = None, say: Say = _quiet, enforce_iam: bool = True
) -> Iterator[Invoker]:
    """An :class:`Invoker` on a fresh account in a temporary folder, stopped on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="pagefan-invoke-") as scratch,
        open_account(template_path, Path(scratch), enforce_iam=enforce_iam) as account,
    ):
        yield Invoker(account, project_dir=template_path.parent, source_file=source_file, say=say)


def run_invoke(
    function: str,
    event_path: Path,
    *,
    template_path: Path,
    source_file: Path | None = None,
    say: Say = _quiet,
    enforce_iam: bool = True,
) -> Invocation:
    """What `pagefan invoke FUNCTION -e EVENT_PATH` does, minus the printing.

    Checks the function, the event file and ``source_file`` before starting anything, then runs
    the one invocation in a fresh emulated account.

    Raises:
        UsageProblem: exit status 2.
        PreparationFailed: exit status 1.

    """
    check_function(template_path, function)
    event = read_event(event_path)
    if source_file is not None and not source_file.is_file():
        raise UsageProblem(f"--file {source_file}: no such file")
    with invoker(template_path, source_file=source_file, say=say, enforce_iam=enforce_iam) as runner:
        return runner.invoke(function, event)


def main(argv: list[str] | None = None) -> int:
    """``python -m pagefan.local.emulator.invocation --write-events``: regenerate events/."""
    parser = argparse.ArgumentParser(
        prog="python -m pagefan.local.emulator.invocation",
        description="Write events/*.json from template.yaml and samples/sample.pdf.",
    )
    parser.add_argument("--write-events", action="store_true", help="rewrite the sample events")
    parser.add_argument(
        "--template", type=Path, default=Path("template.yaml"), help="default: ./template.yaml"
    )
    args = parser.parse_args(argv)
    if not args.write_events:
        parser.print_usage(sys.stderr)
        return 2
    for path in write_events(args.template):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
