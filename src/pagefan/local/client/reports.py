"""Lambda's REPORT lines: what each invocation was billed, and which invocations served a job.

The lines come from CloudWatch Logs on AWS, and from the local runtime's log groups alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

# What Lambda writes after every invocation, in its text log format (tab separated on AWS):
# "REPORT RequestId: <id>  Duration: 12.34 ms  Billed Duration: 13 ms  Memory Size: 1024 MB
#  Max Memory Used: 80 MB  Init Duration: 301.20 ms" (Init only on a cold start).
_REPORT = re.compile(
    r"REPORT RequestId:\s*(?P<request_id>\S+)\s+Duration:\s*(?P<duration>[\d.]+) ms"
    r"\s+Billed Duration:\s*(?P<billed>\d+) ms\s+Memory Size:\s*(?P<memory>\d+) MB"
    r"(?:\s+Max Memory Used:\s*(?P<used>\d+) MB)?(?:\s+Init Duration:\s*(?P<init>[\d.]+) ms)?"
)


@dataclass(frozen=True)
class InvocationReport:
    """One invocation as Lambda's REPORT line gives it."""

    request_id: str
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_memory_used_mb: int = 0
    init_ms: float = 0.0


def parse_report(message: str) -> InvocationReport | None:
    """The REPORT line's figures, in Lambda's text or JSON log format; None for any other line.

    The JSON format (``LoggingConfig: LogFormat: JSON``) writes a ``platform.report`` record.
    """
    text = message.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except ValueError:
            return None
        if not isinstance(record, dict) or record.get("type") != "platform.report":
            return None
        body = record.get("record", {})
        metrics = body.get("metrics", {})
        return InvocationReport(
            request_id=str(body.get("requestId", "")),
            duration_ms=float(metrics.get("durationMs", 0.0)),
            billed_ms=int(metrics.get("billedDurationMs", 0)),
            memory_mb=int(metrics.get("memorySizeMB", 0)),
            max_memory_used_mb=int(metrics.get("maxMemoryUsedMB", 0)),
            init_ms=float(metrics.get("initDurationMs", 0.0)),
        )
    match = _REPORT.search(text)
    if match is None:
        return None
    return InvocationReport(
        request_id=match["request_id"],
        duration_ms=float(match["duration"]),
        billed_ms=int(match["billed"]),
        memory_mb=int(match["memory"]),
        max_memory_used_mb=int(match["used"] or 0),
        init_ms=float(match["init"] or 0.0),
    )


def request_ids_of_job(messages: Iterable[str], job_id: str) -> set[str]:
    """The request ids of the invocations that logged a line about ``job_id``.

    Every pagefan handler logs JSON lines (Powertools) carrying ``job_id`` (or ``correlation_id``)
    and ``function_request_id`` once it knows the job.
    """
    found: set[str] = set()
    for message in messages:
        text = message.strip()
        if not text.startswith("{"):
            continue
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if not isinstance(line, dict) or not line.get("function_request_id"):
            continue
        if job_id in (line.get("job_id"), line.get("correlation_id")):
            found.add(str(line["function_request_id"]))
    return found
