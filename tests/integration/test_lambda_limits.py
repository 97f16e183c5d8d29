"""Lambda's and Step Functions' limits, as the local runtime applies them by default.

The function under test waits at a gate the test opens (tests/integration/gated), so that
"every slot is busy" is a state the test sets up, not a race: the tests count overlap and
refusals, never time. Where two limits could strike (the reservation and the event age), the
other one is set out of reach.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.contention import Pressure
from pagefan.local.emulator.moto_fixes import HISTORY_EVENT_LIMIT, HISTORY_LIMIT_CAUSE
from pagefan.local.emulator.stack import ACCOUNT_ID

pytestmark = pytest.mark.slow

GATED = Path(__file__).parent / "gated" / "template.yaml"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/test-state-machine"


def _until(condition: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    """Wait until ``condition`` holds (a generous bound for a loaded machine, never an assertion on time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


@dataclass
class Gated:
    """An account running the gated function, and the gate its invocations wait at."""

    account: EmulatedAccount
    gate: Path

    def upload(self, key: str) -> None:
        self.account.client("s3").put_object(
            Bucket=self.account.deployment.outputs["InboxName"], Key=key, Body=b"x"
        )

    def log(self) -> list[tuple[str, str]]:
        path = self.gate / "log"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in lines]

    def started(self) -> list[str]:
        return [key for kind, key in self.log() if kind == "start"]

    def open(self) -> None:
        (self.gate / "open").touch()

    def most_at_once(self) -> int:
        running = most = 0
        for kind, _ in self.log():
            running += 1 if kind == "start" else -1
            most = max(most, running)
        return most

    def throttles(self) -> int:
        return self.account.contention.of()[Pressure.LAMBDA_THROTTLES]


@contextmanager
def gated(
    tmp_path: Path,
    *,
    reserved: int,
    max_event_age: int = 21600,
    lambda_time_scale: float = 0.01,
    workers: int | None = None,
) -> Iterator[Gated]:
    gate = tmp_path / "gate"
    gate.mkdir()
    with EmulatedAccount(
        GATED,
        workers=workers,
        work_dir=tmp_path / "account",
        parameters={"Reserved": str(reserved), "MaxEventAge": str(max_event_age)},
        function_overrides={"Gated": {"environment": {"GATE_DIR": str(gate)}}},
        # Lambda's asynchronous clock 100 times faster by default: throttle backoff from 10 ms to 3 s.
        lambda_time_scale=lambda_time_scale,
    ) as account:
        try:
            yield Gated(account, gate)
        finally:
            (gate / "open").touch()  # never leave an environment waiting for the account's end


def _state_machine(account: EmulatedAccount, name: str, definition: dict[str, Any]) -> str:
    sfn = account.client("stepfunctions")
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return arn


def _ended(account: EmulatedAccount, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
    sfn = account.client("stepfunctions")
    return _until(  # type: ignore[no-any-return]
        lambda: (d := sfn.describe_execution(executionArn=execution_arn))["status"] != "RUNNING" and d,
        f"{execution_arn} ended",
        timeout,
    )


def test_a_reserved_function_runs_at_most_its_reservation_and_throttles_the_rest(tmp_path: Path) -> None:
    # GIVEN a function reserved 2 environments, whose invocations wait at a closed gate
    with gated(tmp_path, reserved=2) as stack:
        # WHEN 6 objects arrive at once
        keys = [f"object-{n}" for n in range(6)]
        for key in keys:
            stack.upload(key)

        # THEN 2 run, and each of the other 4 is throttled (the gate is still closed)
        _until(lambda: stack.throttles() >= 4 and len(stack.started()) == 2, "4 events throttled, 2 running")
        assert len(stack.started()) == 2

        # WHEN the gate opens THEN every throttled event is retried until it runs: each exactly
        # once, never more than 2 at a time, and a throttle is not a retry after an error
        stack.open()
        assert stack.account.wait_until_idle(timeout=120)
        assert sorted(stack.started()) == keys
        assert sorted(key for kind, key in stack.log() if kind == "end") == keys
        assert stack.most_at_once() == 2
        assert stack.account.functions["Gated"].stats.peak_concurrency == 2
        counts = stack.account.contention.of()
        assert counts[Pressure.LAMBDA_THROTTLES] >= 4
        assert counts[Pressure.RETRIED_INVOCATIONS] == 0
        assert stack.account.failed_deliveries == []


def test_an_event_throttled_past_its_maximum_age_goes_to_the_failure_destination(tmp_path: Path) -> None:
    # GIVEN a function reserved 1 environment, held at the gate, and events kept 60 s at most (6 s
    # here: Lambda's clock 10 times faster, so that however loaded the machine, the event's first
    # attempt, and its throttle, come long before its age is up)
    with gated(tmp_path, reserved=1, max_event_age=60, lambda_time_scale=0.1) as stack:
        stack.upload("holder")
        _until(lambda: stack.started() == ["holder"], "the holder runs")

        # WHEN another event arrives and finds the reservation in use until it is too old
        stack.upload("late")
        sqs = stack.account.client("sqs")
        url = stack.account.deployment.outputs["FailuresUrl"]
        messages = _until(
            lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages"),
            "a record in the failure destination",
        )

        # THEN Lambda gives it up unrun: EventAgeExceeded, no invocation, after throttles
        record = json.loads(messages[0]["Body"])
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 0
        assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "late"
        assert stack.throttles() >= 1
        stack.open()
        assert stack.account.wait_until_idle(timeout=120)
        assert stack.started() == ["holder"]


def test_an_event_waiting_for_an_environment_of_this_machine_does_not_age(tmp_path: Path) -> None:
    # GIVEN a function without a reservation, which AWS would run at once, given one environment
    # here, held at the gate; and events kept 60 s at most (6 s on Lambda's clock here)
    with gated(tmp_path, reserved=0, max_event_age=60, lambda_time_scale=0.1, workers=1) as stack:
        stack.upload("holder")
        _until(lambda: stack.started() == ["holder"], "the holder runs")

        # WHEN another event waits here for that environment for longer than its maximum age
        stack.upload("waiting")
        time.sleep(8)

        # THEN it still runs once the environment is free: its wait here is no part of its age, or
        # this machine's speed would decide whether it expires
        stack.open()
        _until(lambda: stack.started() == ["holder", "waiting"], "the waiting event runs")
        assert stack.account.wait_until_idle(timeout=120)
        assert stack.account.failed_deliveries == []
        assert stack.throttles() == 0


def test_a_task_invoking_a_function_with_no_free_reservation_fails_too_many_requests(tmp_path: Path) -> None:
    # GIVEN a function reserved 1 environment, held at the gate
    with gated(tmp_path, reserved=1) as stack:
        stack.upload("holder")
        _until(lambda: stack.started() == ["holder"], "the holder runs")

        # WHEN a state machine's task invokes it (no Retry)
        call = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": stack.account.deployment.outputs["GatedArn"],
                "Payload": {"name": "sync"},
            },
            "End": True,
        }
        machine = _state_machine(stack.account, "invoke-once", {"StartAt": "Call", "States": {"Call": call}})
        execution = stack.account.client("stepfunctions").start_execution(stateMachineArn=machine)[
            "executionArn"
        ]

        # THEN Invoke is refused as Lambda refuses it (429), and the task fails with that error
        ended = _ended(stack.account, execution)
        assert ended["status"] == "FAILED"
        assert ended["error"] == "Lambda.TooManyRequestsException"
        assert stack.throttles() == 1
        assert stack.started() == ["holder"]


def _observe_default_bus(account: EmulatedAccount) -> Callable[[], list[dict[str, Any]]]:
    """Every Step Functions status change published on the default bus, read from a queue."""
    sqs, events = account.client("sqs"), account.client("events")
    url = sqs.create_queue(QueueName="status-changes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="status-changes", EventPattern=json.dumps({"source": ["aws.states"]}))
    events.put_targets(Rule="status-changes", Targets=[{"Id": "queue", "Arn": arn}])
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            seen.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return seen

    return read


def test_failed_and_succeeded_executions_publish_their_status_change(tmp_path: Path) -> None:
    # GIVEN an observer of the default bus
    with gated(tmp_path, reserved=1) as stack:
        read = _observe_default_bus(stack.account)
        sfn = stack.account.client("stepfunctions")
        failing = _state_machine(
            stack.account,
            "fails",
            {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Boom", "Cause": "test"}}},
        )
        passing = _state_machine(
            stack.account, "passes", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
        )

        # WHEN one execution fails and one succeeds
        failed = sfn.start_execution(stateMachineArn=failing)["executionArn"]
        succeeded = sfn.start_execution(stateMachineArn=passing)["executionArn"]

        # THEN each publishes "Step Functions Execution Status Change" with its status, once
        changes = _until(lambda: len(read()) >= 2 and read(), "two status changes")
        by_execution = {event["detail"]["executionArn"]: event for event in changes}
        assert by_execution[failed]["detail"]["status"] == "FAILED"
        assert by_execution[succeeded]["detail"]["status"] == "SUCCEEDED"
        assert all(event["detail-type"] == "Step Functions Execution Status Change" for event in changes)
        assert len(changes) == 2


@pytest.mark.timeout(900)  # the wait below guards for 600 s: minutes of moto's engine on a loaded machine
def test_an_execution_fails_at_25000_history_events(tmp_path: Path) -> None:
    # GIVEN a state machine that loops forever through two Pass states
    with gated(tmp_path, reserved=1) as stack:
        read = _observe_default_bus(stack.account)
        loop = {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}},
        }
        machine = _state_machine(stack.account, "loops", loop)
        sfn = stack.account.client("stepfunctions")

        # WHEN it runs
        execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]

        # THEN it fails as AWS fails it: its 25,000th event is ExecutionFailed, with the quota's cause
        ended = _ended(stack.account, execution, timeout=600)
        assert ended["status"] == "FAILED"
        assert (ended["error"], ended["cause"]) == ("States.Runtime", HISTORY_LIMIT_CAUSE)
        history = sfn.get_paginator("get_execution_history").paginate(executionArn=execution)
        events = [event for page in history for event in page["events"]]
        assert len(events) == HISTORY_EVENT_LIMIT
        assert events[-1]["type"] == "ExecutionFailed"
        assert [event["detail"]["status"] for event in _until(read, "its status change")] == ["FAILED"]
