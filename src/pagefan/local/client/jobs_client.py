"""Following documents through a pagefan stack: upload, progress, outputs.

Works the same against the emulated account and a deployed stack: it needs only the stack's
outputs (bucket, table and function names) and boto3 clients.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.exceptions import BotoCoreError, ClientError
from s3transfer.exceptions import RetriesExceededError
from s3transfer.futures import TransferFuture
from s3transfer.subscribers import BaseSubscriber

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats.jobs_table import JobRecord, JobStatus, PageStatus
from pagefan.formats.payloads import JobInput
from pagefan.formats.timestamps import iso_timestamp
from pagefan.job_ids import derive_job_id, job_id_of_execution
from pagefan.local.client.cost import JobUsage, usage_from_reports
from pagefan.local.client.job_logs import STATE_MACHINE, JobLogs, state_machine_log_group
from pagefan.local.client.reports import InvocationReport, parse_report, request_ids_of_job
from pagefan.local.client.transitions import execution_counts

# Lambda's log lines reach CloudWatch Logs within seconds; a job's first invocation starts after
# its record is created, so the search starts a little before (clocks differ).
_LOG_WINDOW_SLACK_MS = 5 * 60 * 1000
# Pages `pagefan retry` sends again per second: the PageWorker's default reserved concurrency (50)
# over pages of about a second each.
RETRY_PAGES_PER_SECOND = 50.0
_LAMBDA_MAX_MS = 15 * 60 * 1000


def _same_span_from_now(record: JobRecord) -> str:
    """A new deadline as far from now as the job's first deadline was from its creation."""
    span = timedelta(hours=1)
    if record.deadline:
        parse = datetime.fromisoformat
        span = parse(record.deadline.replace("Z", "+00:00")) - parse(record.created_at.replace("Z", "+00:00"))
    return iso_timestamp(datetime.now(UTC) + span)


@dataclass(frozen=True)
class StackOutputs:
    """The names a client needs, from the template's Outputs."""

    raw_bucket: str
    results_bucket: str
    jobs_table: str
    work_bucket: str = ""
    state_machine_arn: str = ""
    functions: Mapping[str, str] = field(default_factory=dict)
    """Function name by logical id (the ``<LogicalId>FunctionName`` outputs)."""

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackOutputs:
        """Pick the names from a stack's outputs (as `describe_stacks` or the local deploy give them)."""
        try:
            return cls(
                raw_bucket=outputs["RawBucketName"],
                results_bucket=outputs["ResultsBucketName"],
                jobs_table=outputs["JobsTableName"],
                work_bucket=outputs.get("WorkBucketName", ""),
                state_machine_arn=outputs.get("DocumentJobArn", ""),
                functions={
                    key.removesuffix("FunctionName"): value
                    for key, value in outputs.items()
                    if key.endswith("FunctionName")
                },
            )
        except KeyError as missing:
            raise ValueError(f"the stack has no output {missing}; is it a pagefan stack?") from None


@dataclass(frozen=True)
class Upload:
    """A document put into the raw bucket, and the job it becomes."""

    path: Path
    key: str
    job_id: str


@dataclass(frozen=True)
class RetryOutcome:
    """What `pagefan retry` did."""

    job_id: str
    retried: bool
    message: str
    pages: list[int]


class JobsClient:
    """Upload documents, follow their jobs, fetch their outputs, retry what failed."""

    def __init__(
        self,
        s3: Any,
        dynamodb: Any,
        outputs: StackOutputs,
        sfn: Any = None,
        *,
        logs: Any = None,
        lambda_: Any = None,
        log_groups: Mapping[str, str] | None = None,
    ) -> None:
        self._s3 = s3
        self._sfn = sfn
        self._logs = logs
        self._lambda = lambda_
        # Function name → log group, where the caller knows it without asking Lambda (a local run).
        self._log_groups = dict(log_groups or {})
        self.outputs = outputs
        self.jobs = JobStore(dynamodb, outputs.jobs_table)

    def status(self, job_id: str) -> dict[str, Any]:
        """The job's state, counts, failed pages with their reasons, and timings."""
        record = self.jobs.get_job(job_id)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        failed = [
            {"page": page.page_number, "reason": page.reason}
            for page in self.jobs.iter_pages(job_id)
            if page.status == PageStatus.FAILED
        ]
        return {
            "job_id": job_id,
            "status": record.status,
            "source": f"s3://{record.source.bucket}/{record.source.key}",
            "pages_total": record.pages_total,
            "pages_done": record.pages_done,
            "pages_failed": record.pages_failed,
            "failed_pages": failed,
            "error": None
            if record.error is None
            else {"stage": record.error.stage, "reason": record.error.reason},
            "outputs": record.outputs,
            "timings": {
                "created_at": record.created_at,
                "updated_at": record.updated_at,
                "deadline": record.deadline,
            },
        }

    def usage(self, job_id: str) -> JobUsage:
        """What one job used, from what AWS recorded of it (the cost model's input).

        Lambda: each function's log group holds the handlers' lines, which carry the job id and the
        request id, and Lambda's REPORT line of every invocation (billed duration, memory size).
        Step Functions: the job's executions' histories (transitions, progress reads), read against
        the deployed definition. Pages: the job record. S3 and DynamoDB requests follow pagefan's
        model of a job of that many pages. Needs cloudformation:DescribeStacks, dynamodb:GetItem,
        lambda:GetFunctionConfiguration, logs:FilterLogEvents,
        states:DescribeStateMachine and states:GetExecutionHistory.
        """
        record = self.jobs.get_job(job_id, count_pages=False)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        if not self.outputs.functions:
            raise ValueError("the stack has no <Function>FunctionName outputs to find its logs by")

        def epoch_ms(moment: str) -> int:
            return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)

        # From the job's creation to its last update plus Lambda's longest invocation: an
        # invocation the job started cannot end later, and the search scans nothing more.
        window = (
            epoch_ms(record.created_at) - _LOG_WINDOW_SLACK_MS,
            epoch_ms(record.updated_at) + _LOG_WINDOW_SLACK_MS + _LAMBDA_MAX_MS,
        )
        reports = {
            logical_id: self._reports_of_job(name, job_id, window)
            for logical_id, name in sorted(self.outputs.functions.items())
        }
        transitions = reads = 0
        asl: dict[str, Any] = {}
        if self._sfn is not None and self.outputs.state_machine_arn:
            machine = self._sfn.describe_state_machine(stateMachineArn=self.outputs.state_machine_arn)
            asl = json.loads(machine["definition"])
        for history in self._execution_histories(job_id):
            entered, read = execution_counts(history, asl)
            transitions, reads = transitions + entered, reads + read
        return usage_from_reports(
            pages=record.pages_total, reports=reports, state_transitions=transitions, progress_reads=reads
        )

    def job_logs(self, job_id: str) -> tuple[JobLogs, int]:
        """A reader of the stack's log groups, and the time (epoch ms) the job's lines start from.

        The groups are every function's and the state machine's; the time is a little before the
        job was created. Needs lambda:GetFunctionConfiguration, states:DescribeStateMachine and
        logs:FilterLogEvents. Raises LookupError when the table holds no such job.
        """
        record = self.jobs.get_job(job_id)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        if not self.outputs.functions:
            raise ValueError("the stack has no <Function>FunctionName outputs to find its logs by")
        groups = {logical_id: self._log_group(name) for logical_id, name in self.outputs.functions.items()}
        if self._sfn is not None and self.outputs.state_machine_arn:
            group = state_machine_log_group(self._sfn, self.outputs.state_machine_arn)
            if group is not None:
                groups[STATE_MACHINE] = group
        created = datetime.fromisoformat(record.created_at.replace("Z", "+00:00"))
        return JobLogs(self._logs, groups), int(created.timestamp() * 1000) - _LOG_WINDOW_SLACK_MS

    def _log_group(self, function_name: str) -> str:
        """Where Lambda writes the function's lines: its LoggingConfig's group, else the default."""
        if function_name in self._log_groups:
            return self._log_groups[function_name]
        config = self._lambda.get_function_configuration(FunctionName=function_name)
        group = config.get("LoggingConfig", {}).get("LogGroup")
        return str(group) if group else f"/aws/lambda/{function_name}"

    def _reports_of_job(
        self, function_name: str, job_id: str, window: tuple[int, int]
    ) -> list[InvocationReport]:
        """The REPORT lines of the function's invocations that logged the job id.

        One search returns both kinds of line (``?`` joins terms): the job's lines give the
        request ids, the REPORT lines their figures. Matched again here, as the pattern only narrows
        (moto 5.2.5 reads only a single plain or quoted term and returns every event for ``?``).
        """
        paginator = self._logs.get_paginator("filter_log_events")
        messages: list[str] = []
        try:
            for page in paginator.paginate(
                logGroupName=self._log_group(function_name),
                startTime=window[0],
                endTime=window[1],
                filterPattern=f'?"{job_id}" ?"REPORT RequestId"',
            ):
                messages.extend(event["message"] for event in page.get("events", []))
        except self._logs.exceptions.ResourceNotFoundException:
            return []  # the function never ran since the group would have been created
        request_ids = request_ids_of_job(messages, job_id)
        reports = (parse_report(message) for message in messages)
        return [r for r in reports if r is not None and r.request_id in request_ids]

    def _execution_histories(self, job_id: str) -> Iterator[list[dict[str, Any]]]:
        """The history of each of the job's executions: the first, continuations and retries.

        Every execution of a job is named ``<job id>`` or ``<job id>-<what it is>``.
        """
        if not self.outputs.state_machine_arn or self._sfn is None:
            return
        executions = self._sfn.get_paginator("list_executions")
        history = self._sfn.get_paginator("get_execution_history")
        for page in executions.paginate(stateMachineArn=self.outputs.state_machine_arn):
            for execution in page.get("executions", []):
                if job_id_of_execution(execution["name"]) != job_id:
                    continue
                yield [
                    event
                    for events in history.paginate(executionArn=execution["executionArn"])
                    for event in events.get("events", [])
                ]

    def retry(self, job_id: str, *, pages_per_second: float = RETRY_PAGES_PER_SECOND) -> RetryOutcome:
        """Process a FAILED job's failed (and never finished) pages again and resume the job.

        Each step is safe to repeat, so an interrupted retry is finished by running it again; a job
        that is no longer FAILED is left alone, which makes a second retry harmless. Pages are sent
        again at ``pages_per_second`` at most, so a retry of thousands of pages arrives as a stream
        the PageWorker's concurrency takes, not as one burst of throttled events.
        """
        record = self.jobs.get_job(job_id, count_pages=False)
        if record is None:
            raise LookupError(f"no job {job_id} in table {self.outputs.jobs_table}")
        if record.status != JobStatus.FAILED:
            return RetryOutcome(job_id, False, f"the job is {record.status}: nothing to retry", [])
        if record.error is not None and record.error.stage == "split":
            return RetryOutcome(
                job_id,
                False,
                f"the upload itself was refused ({record.error.reason}): upload a fixed document",
                [],
            )
        recorded = {page.page_number: page.status for page in self.jobs.iter_pages(job_id)}
        again = [n for n in range(1, record.pages_total + 1) if recorded.get(n) != PageStatus.DONE]
        for page_number in again:
            if recorded.get(page_number) == PageStatus.FAILED:
                self.jobs.forget_failed_page(job_id, page_number)
        started = time.monotonic()
        for sent, page_number in enumerate(again):
            # Paced from the start, so a slow request does not make the next ones burst.
            time.sleep(max(0.0, started + sent / pages_per_second - time.monotonic()))
            self._redeliver_page(job_id, page_number)
        deadline = _same_span_from_now(record)
        retry_number = self.jobs.reopen_job(job_id, deadline=deadline)
        if retry_number is None:
            return RetryOutcome(job_id, False, "another retry reopened the job first", again)
        job = JobInput(job_id=job_id, pages_total=record.pages_total, deadline=deadline)
        self._sfn.start_execution(
            stateMachineArn=self.outputs.state_machine_arn,
            name=f"{job_id}-retry-{retry_number}",
            input=json.dumps(job.to_dict()),
        )
        what = f"{len(again)} page(s) sent again" if again else "no page needed processing again"
        return RetryOutcome(job_id, True, f"retry {retry_number} started: {what}", again)

    def _redeliver_page(self, job_id: str, page_number: int) -> None:
        """Write a page object onto itself, so S3 reports it again and a PageWorker processes it."""
        key = layout.page_key(job_id, page_number)
        head = self._s3.head_object(Bucket=self.outputs.work_bucket, Key=key)
        # S3 refuses a copy onto itself unless something changes: the metadata is replaced by itself.
        self._s3.copy_object(
            Bucket=self.outputs.work_bucket,
            Key=key,
            CopySource={"Bucket": self.outputs.work_bucket, "Key": key},
            Metadata=head.get("Metadata", {}),
            ContentType=head.get("ContentType", "application/pdf"),
            MetadataDirective="REPLACE",
        )

    def upload(self, path: Path, key: str | None = None) -> Upload:
        """Put a file into the raw bucket; return the job id the pipeline will give it."""
        key = key or path.name
        with path.open("rb") as body:
            response = self._s3.put_object(Bucket=self.outputs.raw_bucket, Key=key, Body=body)
        job_id = derive_job_id(self.outputs.raw_bucket, key, response.get("VersionId"), response["ETag"])
        return Upload(path=path, key=key, job_id=job_id)

    def wait(
        self,
        job_id: str,
        *,
        timeout: float,
        on_progress: Callable[[JobRecord | None], None] | None = None,
        interval: float = 0.2,
    ) -> JobRecord | None:
        """Poll the job until it is COMPLETED or FAILED (or ``timeout`` passes); return its record."""
        deadline = time.monotonic() + timeout
        record = None
        while time.monotonic() < deadline:
            record = self.jobs.get_job(job_id)
            if on_progress:
                on_progress(record)
            if record is not None and record.terminal:
                return record
            time.sleep(interval)
        return record

    def download(self, record: JobRecord, out_dir: Path) -> dict[str, Path]:
        """Fetch a completed job's outputs into ``out_dir`` (document.json, .txt, .pdf, svg/).

        One listing of the job's prefix finds every output with its size and ETag, then the files
        are fetched concurrently. Each file appears under its name only once complete (it is
        written to a temporary name beside it, then renamed), so an interrupted download leaves no
        half-written output. DownloadFailed names the first output that could not be fetched (the
        rest are then cancelled); Ctrl-C cancels what is queued and lets what is in flight end.
        """
        bucket = self.outputs.results_bucket
        named = {
            layout.document_json_key(record.job_id): ("document_json", out_dir / "document.json"),
            layout.document_text_key(record.job_id): ("document_text", out_dir / "document.txt"),
            layout.pdf_key(record.job_id): ("document_pdf", out_dir / "document.pdf"),
        }
        svg_dir = out_dir / "svg"
        svg_prefix = layout.svg_key(record.job_id, 1).rsplit("/", 1)[0] + "/"
        wanted: list[tuple[_StoredObject, Path]] = []
        found: set[str] = set()
        paginator = self._s3.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=f"{layout.JOBS_PREFIX}{record.job_id}/"):
                for item in page.get("Contents", []):
                    stored = _StoredObject(item["Key"], int(item["Size"]), str(item["ETag"]))
                    if stored.key in named:
                        found.add(stored.key)
                        wanted.append((stored, named[stored.key][1]))
                    elif stored.key.startswith(svg_prefix) and "/" not in stored.key[len(svg_prefix) :]:
                        wanted.append((stored, svg_dir / stored.key[len(svg_prefix) :]))
        except (BotoCoreError, ClientError) as error:
            raise DownloadFailed(f"cannot list the outputs of job {record.job_id}: {error}") from error
        missing = sorted(named.keys() - found)
        if missing:
            raise DownloadFailed(f"job {record.job_id} has no output s3://{bucket}/{missing[0]}")
        svg_dir.mkdir(parents=True, exist_ok=True)
        # A pool is needed: each output is one small GET, so one after another the job's outputs
        # take a round trip per page. s3transfer's TransferManager is that pool (its threads share
        # the thread-safe client, whose connection pool holds 10), with the atomic rename and the
        # cancelling built in; `s3.download_file` would start and stop a pool for every file.
        with create_transfer_manager(self._s3, _DOWNLOADS) as manager:
            transfers = [
                (stored, manager.download(bucket, stored.key, str(target), subscribers=[stored]))
                for stored, target in wanted
            ]
            for stored, transfer in transfers:
                try:
                    transfer.result()
                except (BotoCoreError, ClientError, RetriesExceededError, OSError) as error:
                    raise DownloadFailed(f"cannot download s3://{bucket}/{stored.key}: {error}") from error
        files = {name: target for name, target in named.values()}
        files["svg"] = svg_dir
        return files


class DownloadFailed(Exception):
    """An output of a completed job could not be fetched (the message says which, and why)."""


# 8 transfers at once: within the client's pool of 10 connections (botocore's default), so no
# transfer waits for a connection; "classic" keeps this behaviour where awscrt is installed.
_DOWNLOADS = TransferConfig(max_concurrency=8, preferred_transfer_client="classic")


class _StoredObject(BaseSubscriber):
    """One listed output; tells the transfer its size and ETag so that it needs no HeadObject."""

    def __init__(self, key: str, size: int, etag: str) -> None:
        self.key, self.size, self.etag = key, size, etag

    def on_queued(self, future: TransferFuture, **kwargs: Any) -> None:
        """Give the transfer what the listing already said (s3transfer's documented use)."""
        future.meta.provide_transfer_size(self.size)
        future.meta.provide_object_etag(self.etag)
