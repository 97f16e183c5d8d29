"""One job's log lines, from every function of a stack and from its state machine, merged by time.

Works the same on a deployed stack and on the emulated account: it reads CloudWatch Logs with
``filter_log_events``, in the log groups the functions' LoggingConfig and the state machine's
logging configuration name (as `pagefan cost JOB_ID` finds the functions' REPORT lines). A
handler's lines carry the job id once it knows the job (``tag_job``); Lambda's START, END and
REPORT lines of those invocations are taken with them, by request id; the state machine's lines
(level ERROR on AWS) name the job's executions, whose names start with the job id.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pagefan.formats.timestamps import iso_timestamp
from pagefan.local.client.reports import request_ids_of_job

STATE_MACHINE = "DocumentJob"
"""How the state machine's lines are labelled (its logical id, as functions are labelled by theirs)."""

_PLATFORM = re.compile(r"^(START|END|REPORT) RequestId: (?P<request_id>[0-9a-f-]+)")
# Keys every Powertools line carries: shown as columns (or not at all), never as extras.
_STANDARD_KEYS = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "job_id",
        "page",
        "xray_trace_id",
        "sampling_rate",
        "exception_name",
        "stack_trace",
    }
)


@dataclass(frozen=True)
class JobLogLine:
    """One line of a job's logs: when, which function (or the state machine), which page, what."""

    timestamp_ms: int
    source: str
    message: str
    event_id: str = ""
    invocation_page: int | None = None
    """The page of the invocation the line belongs to (Lambda's START/END/REPORT lines name none)."""

    @property
    def record(self) -> dict[str, Any] | None:
        """The line as a JSON object (a handler's or the state machine's), else None (Lambda's)."""
        try:
            parsed = json.loads(self.message)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) else None

    @property
    def page(self) -> int | None:
        """The page the line is about, when it names one (the PageWorker's lines do)."""
        record = self.record
        page = record.get("page") if record else None
        if isinstance(page, int) and not isinstance(page, bool):
            return page
        return self.invocation_page

    def render(self) -> str:
        """``time  source  page  level  message  key=value ...`` for a terminal."""
        moment = iso_timestamp(datetime.fromtimestamp(self.timestamp_ms / 1000, UTC))
        page = f"p{self.page}" if self.page is not None else "-"
        record = self.record
        if record is None:
            text = self.message.strip().replace("\t", " ")
            level = "-"
        elif "message" in record:
            level = str(record.get("level", "-"))
            extras = {k: v for k, v in record.items() if k not in _STANDARD_KEYS and k != "exception"}
            text = str(record["message"]) + "".join(f" {k}={_short(v)}" for k, v in extras.items())
            if record.get("exception"):
                text += f" | {str(record['exception']).strip().splitlines()[-1]}"
        else:  # the state machine's execution history event
            level = "ERROR"
            text = f"{record.get('type', '?')} {_short(record.get('details', {}))}"
        return f"{moment}  {self.source:<15} {page:>6}  {level:<7} {text}"


def _short(value: Any) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, ensure_ascii=False)


def state_machine_log_group(sfn: Any, state_machine_arn: str) -> str | None:
    """The CloudWatch log group the state machine logs to, or None when it logs nowhere."""
    config = sfn.describe_state_machine(stateMachineArn=state_machine_arn).get("loggingConfiguration", {})
    for destination in config.get("destinations", []):
        arn = destination.get("cloudWatchLogsLogGroup", {}).get("logGroupArn", "")
        if ":log-group:" in arn:
            return str(arn.split(":log-group:", 1)[1].removesuffix(":*"))
    return None


def _is_job_execution_line(message: str, job_id: str) -> bool:
    try:
        arn = str(json.loads(message).get("execution_arn", ""))
    except (ValueError, AttributeError):
        return False
    name = arn.rsplit(":", 1)[-1]
    return name == job_id or name.startswith(f"{job_id}-retry-")


class JobLogs:
    """Reads one job's lines from log groups by source (function logical id, or STATE_MACHINE)."""

    def __init__(self, logs: Any, groups: Mapping[str, str]) -> None:
        self._logs = logs
        self.groups = dict(groups)

    def _events(
        self, group: str, pattern: str, start_ms: int, end_ms: int | None
    ) -> Iterator[dict[str, Any]]:
        window: dict[str, Any] = {"startTime": start_ms}
        if end_ms is not None:
            window["endTime"] = end_ms
        paginator = self._logs.get_paginator("filter_log_events")
        try:
            for page in paginator.paginate(logGroupName=group, filterPattern=pattern, **window):
                yield from page.get("events", [])
        except self._logs.exceptions.ResourceNotFoundException:
            return  # a function that never ran, in a group nobody created

    def lines(self, job_id: str, start_ms: int, end_ms: int | None = None) -> list[JobLogLine]:
        """Every line of the job in [start_ms, end_ms], merged by time (then by source and order)."""
        found: list[tuple[int, str, int, JobLogLine]] = []
        for source, group in sorted(self.groups.items()):
            if source == STATE_MACHINE:
                events = [
                    e
                    for e in self._events(group, f'"{job_id}"', start_ms, end_ms)
                    if _is_job_execution_line(e["message"], job_id)
                ]
            else:
                # One search for both kinds of line (moto and AWS both return at least these), matched
                # again here: the handler's lines with the job id, Lambda's lines of those requests.
                candidates = list(self._events(group, f'?"{job_id}" ?"RequestId"', start_ms, end_ms))
                request_ids = request_ids_of_job((e["message"] for e in candidates), job_id)
                events = [e for e in candidates if _belongs(e["message"], job_id, request_ids)]
            pages = _pages_of_requests(event["message"] for event in events)
            for order, event in enumerate(events):
                platform = _PLATFORM.match(event["message"])
                line = JobLogLine(
                    int(event["timestamp"]),
                    source,
                    event["message"],
                    str(event.get("eventId", "")),
                    pages.get(platform.group("request_id")) if platform else None,
                )
                found.append((line.timestamp_ms, source, order, line))
        return [line for *_, line in sorted(found, key=lambda item: item[:3])]

    def follow(
        self,
        job_id: str,
        start_ms: int,
        *,
        ended: Callable[[], bool],
        settle_s: float = 15.0,
        poll_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Iterator[JobLogLine]:
        """Yield the job's lines as they arrive, until the job has ended and ``settle_s`` passed.

        Lambda delivers lines to CloudWatch Logs seconds after they are written, and JobMetrics runs
        after the job ends: lines keep coming for a while after the end.
        """
        seen: set[tuple[str, str, int, str]] = set()
        ended_at: float | None = None
        while True:
            finished = ended()
            for line in self.lines(job_id, start_ms):
                key = (line.source, line.event_id, line.timestamp_ms, line.message)
                if key not in seen:
                    seen.add(key)
                    yield line
            if finished:
                ended_at = ended_at if ended_at is not None else time.monotonic()
                if time.monotonic() - ended_at >= settle_s:
                    return
            sleep(poll_s)


def _belongs(message: str, job_id: str, request_ids: Iterable[str]) -> bool:
    if job_id in message:
        return True
    platform = _PLATFORM.match(message)
    return platform is not None and platform.group("request_id") in set(request_ids)


def _pages_of_requests(messages: Iterable[str]) -> dict[str, int]:
    """Request id → the page its lines name (a PageWorker invocation handles one page)."""
    pages: dict[str, int] = {}
    for message in messages:
        line = JobLogLine(0, "", message)
        record, page = line.record, line.page
        if record is not None and page is not None and record.get("function_request_id"):
            pages[str(record["function_request_id"])] = page
    return pages
