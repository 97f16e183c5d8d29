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

The sample events it is given by default are those of events/
(:mod:`pagefan.local.emulator.sample_events`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote_plus

from botocore.exceptions import ClientError

from pagefan import layout
from pagefan.aws.jobs import JobStore
from pagefan.formats.jobs_table import PageStatus
from pagefan.formats.payloads import PdfExportInput, PdfExportMode
from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.environments import InvocationResult
from pagefan.local.emulator.sample_events import (
    PAGE_WORKER,
    PDF_EXPORTER,
    SPLITTER,
    STACK_NAME,
    event_file_name,
    s3_put_event,
)
from pagefan.local.emulator.template import load_template, template_functions

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


def check_function(template_path: Path, function: str) -> None:
    """Raise UsageProblem unless ``function`` is a function's logical id in the template."""
    functions = template_functions(load_template(template_path))
    if function not in functions:
        raise UsageProblem(
            f"unknown function {function!r}; {template_path.name} defines: {', '.join(functions)}"
        )


STDIN = Path("-")
"""The event path that stands for standard input, as for `sam local invoke -e -`."""


def read_event(path: Path) -> Any:
    """Read an event file, or standard input for ``-``: any JSON value, as Lambda accepts.

    Raises UsageProblem when there is no such file or it holds no JSON.
    """
    if path == STDIN:
        return _parse_event(sys.stdin.read(), "the event on standard input")
    if not path.exists():
        raise UsageProblem(f"event file {path}: no such file")
    if path.is_dir():
        raise UsageProblem(f"event file {path} is a directory; give a JSON file")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UsageProblem(f"event file {path} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageProblem(f"event file {path} is not UTF-8 text") from None
    return _parse_event(text, f"event file {path}")


def _parse_event(text: str, origin: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageProblem(
            f"{origin} is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


# --- invoking -----------------------------------------------------------------------------------


def open_account(
    template_path: Path,
    work_dir: Path,
    *,
    enforce_iam: bool = True,
    parameters: Mapping[str, str] | None = None,
    environment: Mapping[str, Mapping[str, str]] | None = None,
) -> EmulatedAccount:
    """An emulated account for `pagefan invoke` (start it with ``with``).

    Deployed as the stack the sample events name, with the template's ``parameters``, holding S3
    notifications instead of delivering them, with one environment per function (invocations run
    one at a time). ``environment`` changes functions' variables (logical id → variables) as
    `sam local invoke --env-vars` does. The function runs as its own role with IAM enforced
    (unless ``enforce_iam`` is False), as `pagefan run` does: what its role does not grant fails here.
    """
    return EmulatedAccount(
        template_path,
        work_dir=work_dir,
        stack_name=STACK_NAME,
        workers=1,
        deliver_events=False,
        enforce_iam=enforce_iam,
        parameters=dict(parameters or {}),
        function_overrides={
            function: {"environment": dict(variables)} for function, variables in (environment or {}).items()
        },
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
    template_path: Path,
    *,
    source_file: Path | None = None,
    say: Say = _quiet,
    enforce_iam: bool = True,
    parameters: Mapping[str, str] | None = None,
    environment: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[Invoker]:
    """An :class:`Invoker` on a fresh account in a temporary folder, stopped on exit."""
    with (
        tempfile.TemporaryDirectory(prefix="pagefan-invoke-") as scratch,
        open_account(
            template_path,
            Path(scratch),
            enforce_iam=enforce_iam,
            parameters=parameters,
            environment=environment,
        ) as account,
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
    parameters: Mapping[str, str] | None = None,
    environment: Mapping[str, Mapping[str, str]] | None = None,
) -> Invocation:
    """What `pagefan invoke FUNCTION -e EVENT_PATH` does, minus the printing.

    Checks the function, the event (a file, or ``-`` for standard input) and ``source_file``
    before starting anything, then runs the one invocation in a fresh emulated account deployed
    with ``parameters``, the functions' variables changed by ``environment``.

    Raises:
        UsageProblem: exit status 2.
        PreparationFailed: exit status 1.

    """
    check_function(template_path, function)
    event = read_event(event_path)
    if source_file is not None and not source_file.is_file():
        raise UsageProblem(f"--file {source_file}: no such file")
    with invoker(
        template_path,
        source_file=source_file,
        say=say,
        enforce_iam=enforce_iam,
        parameters=parameters,
        environment=environment,
    ) as runner:
        return runner.invoke(function, event)
