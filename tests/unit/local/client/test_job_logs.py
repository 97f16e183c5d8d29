"""How `pagefan logs` reads and shows lines: which belong to a job, and what each shows."""

from __future__ import annotations

import json

from pagefan.local.client.job_logs import STATE_MACHINE, JobLogLine, JobLogs

JOB = "0123456789abcdef0123456789abcdef"
MACHINE = "arn:aws:states:us-east-1:123456789012:execution:pagefan-DocumentJob"


class _FakeLogs:
    """filter_log_events over fixed events per group, ignoring the pattern (as moto does for ``?``)."""

    class exceptions:
        class ResourceNotFoundException(Exception):
            pass

    def __init__(self, groups: dict[str, list[tuple[int, str]]]) -> None:
        self.groups = groups

    def get_paginator(self, name: str) -> _FakeLogs:
        assert name == "filter_log_events"
        return self

    def paginate(self, *, logGroupName: str, filterPattern: str, startTime: int, **_: int) -> list[dict]:
        if logGroupName not in self.groups:
            raise self.exceptions.ResourceNotFoundException(logGroupName)
        events = [
            {"timestamp": t, "message": m, "eventId": f"{logGroupName}-{i}"}
            for i, (t, m) in enumerate(self.groups[logGroupName])
            if t >= startTime
        ]
        return [{"events": events}]


def _handler_line(job: str, request: str, message: str, **extra: object) -> str:
    return json.dumps(
        {"level": "INFO", "message": message, "job_id": job, "function_request_id": request, **extra}
    )


def test_a_job_has_its_lines_its_invocations_lambda_lines_and_its_executions_only() -> None:
    other = "f" * 32
    logs = _FakeLogs(
        {
            "worker": [
                (10, "START RequestId: aaaa-1 Version: $LATEST"),
                (11, _handler_line(JOB, "aaaa-1", "page failed", page=4, reason="too large")),
                (12, "REPORT RequestId: aaaa-1\tDuration: 5.00 ms\tBilled Duration: 5 ms"),
                (13, "START RequestId: bbbb-2 Version: $LATEST"),
                (14, _handler_line(other, "bbbb-2", "page processed", page=1)),
                (15, "REPORT RequestId: bbbb-2\tDuration: 5.00 ms"),
            ],
            "machine": [
                (12, json.dumps({"type": "TaskFailed", "execution_arn": f"{MACHINE}:{JOB}", "details": {}})),
                (20, json.dumps({"type": "ExecutionFailed", "execution_arn": f"{MACHINE}:{JOB}-retry-1"})),
                (21, json.dumps({"type": "ExecutionFailed", "execution_arn": f"{MACHINE}:{other}"})),
                (22, json.dumps({"type": "ExecutionFailed", "execution_arn": f"{MACHINE}:{JOB}0"})),
            ],
        }
    )
    reader = JobLogs(logs, {"PageWorker": "worker", STATE_MACHINE: "machine", "Combiner": "never-ran"})

    lines = reader.lines(JOB, 0)

    # the job's invocation, its first execution and its retry; merged by time, then by source
    assert [(line.timestamp_ms, line.source) for line in lines] == [
        (10, "PageWorker"),
        (11, "PageWorker"),
        (12, STATE_MACHINE),
        (12, "PageWorker"),
        (20, STATE_MACHINE),
    ]
    # Lambda's own lines take the page of the invocation they frame
    assert [line.page for line in lines if line.source == "PageWorker"] == [4, 4, 4]
    shown = [line.render().split(maxsplit=4) for line in lines]
    assert shown[1][1:4] == ["PageWorker", "p4", "INFO"] and shown[1][4] == 'page failed reason="too large"'
    assert shown[2][1:5] == [STATE_MACHINE, "-", "ERROR", "TaskFailed {}"]
    assert shown[3][4].startswith("REPORT RequestId: aaaa-1 Duration: 5.00 ms")


def test_following_stops_after_the_job_ended_and_prints_no_line_twice() -> None:
    logs = _FakeLogs({"worker": [(10, _handler_line(JOB, "aaaa-1", "working on job"))]})
    reader = JobLogs(logs, {"PageWorker": "worker"})
    ended = iter([False, True])
    sleeps: list[float] = []

    def poll(seconds: float) -> None:
        sleeps.append(seconds)
        logs.groups["worker"].append((30, _handler_line(JOB, "cccc-3", "job completed")))

    followed = list(reader.follow(JOB, 0, ended=lambda: next(ended), settle_s=0, sleep=poll))

    assert [json.loads(line.message)["message"] for line in followed] == ["working on job", "job completed"]
    assert len(sleeps) == 1


def test_a_line_that_is_not_json_has_no_record_and_no_page() -> None:
    line = JobLogLine(0, "Splitter", "END RequestId: aaaa-1")
    assert line.record is None and line.page is None
    assert line.render().split()[1:4] == ["Splitter", "-", "-"]
