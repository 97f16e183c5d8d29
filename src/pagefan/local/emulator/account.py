"""An emulated AWS account running the real template, state machine and handlers.

moto's server (in this process, on 127.0.0.1) stands in for S3, DynamoDB, SQS, EventBridge, IAM,
Lambda's control plane and Step Functions, whose engine runs the real ASL. The template is
deployed into it by :mod:`pagefan.local.emulator.stack`. S3 notifications become asynchronous Lambda
invocations with Lambda's retry policy and on-failure destination; Step Functions' Lambda tasks
become synchronous invocations. Both run the handler modules in execution-environment processes
(:mod:`pagefan.local.emulator.environments`) that reach the emulated account through AWS_ENDPOINT_URL.

Lambda's limits hold as on AWS: a function's reserved concurrency is never exceeded; an
asynchronous event beyond it is throttled and retried with Lambda's backoff until its maximum
age, and a synchronous one is refused with TooManyRequestsException. What was refused or delayed
is counted in :attr:`EmulatedAccount.contention`.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import json
import logging
import os
import socket
import threading
import time
import urllib.request
import uuid
import warnings
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.exceptions import ClientError

from pagefan.job_ids import derive_job_id
from pagefan.layout import parse_page_key
from pagefan.local.emulator import interpreters
from pagefan.local.emulator.contention import Contention, Pressure
from pagefan.local.emulator.dynamodb_limits import DynamoDbEmulation, DynamoDbLimits
from pagefan.local.emulator.environments import CloudWatchLogSink, FunctionEnvironments, InvocationResult
from pagefan.local.emulator.faults import FaultPlan, FaultSchedule
from pagefan.local.emulator.iam import IamEnforcement
from pagefan.local.emulator.interpreters import FunctionCode
from pagefan.local.emulator.stack import ACCOUNT_ID, Deployment, QueueSubscription, StackDeployer
from pagefan.local.emulator.template import translate

_LOG = logging.getLogger(__name__)
REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Lambda's documented timing of asynchronous invocations, in seconds. `lambda_time_scale` runs
# this clock faster for tests; the default (1) keeps it, so that a retry can still arrive after its
# job's deadline, as on AWS.
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)
"""After a function error: about one minute, then two."""
THROTTLE_FIRST_RETRY_S = 1.0
THROTTLE_MAX_RETRY_S = 300.0
"""A throttled event is retried after 1 s, the interval doubling up to 5 minutes, until it is older
than the function's MaximumEventAgeInSeconds; throttles do not count as retry attempts."""


def unreserved_concurrency(memory_mb: int) -> int:
    """How many environments of a function without reserved concurrency run here at once.

    AWS runs such a function up to the account's unreserved concurrency (1,000 by default, less the
    reservations), which no machine of this kind can hold: every environment is a process. A quarter
    of this machine's memory, at the function's MemorySize each, is what fits beside the reserved
    functions' processes (at most 1,000). Invocations beyond it wait for an environment instead of
    being refused: slower than AWS, never kinder, since AWS refuses none below the account's limit.
    """
    total_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    return max(1, min(32, total_mb // 4 // max(memory_mb, 128)))


def _check_port_free(port: int) -> None:
    """Raise PortUnavailable unless ``port`` can be bound on 127.0.0.1.

    moto's server binds in its own thread and, when it cannot, waits for ever: so ask first.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As werkzeug's server does: a port whose last connections are closing is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise PortUnavailable(f"port {port} on 127.0.0.1 is unavailable: {error.strerror}") from None


def job_of(event: Any) -> str | None:
    """The job an event is about, when it names one: a page object's key, an upload, or a task's job_id."""
    if not isinstance(event, dict):
        return None
    if isinstance(event.get("job_id"), str):
        return str(event["job_id"])
    for record in event.get("Records", []):
        s3 = record.get("s3", {}) if isinstance(record, dict) else {}
        obj = s3.get("object", {})
        key = unquote_plus(str(obj.get("key", "")))
        page = parse_page_key(key)
        if page is not None:
            return page[0]
        # Any other object that invokes a function is an upload: its job is the Splitter's.
        if key and "eTag" in obj and "name" in s3.get("bucket", {}):
            return derive_job_id(str(s3["bucket"]["name"]), key, obj.get("versionId"), str(obj["eTag"]))
    return None


def too_many_requests() -> ClientError:
    """What Lambda's Invoke answers when a function's reserved concurrency is all in use (HTTP 429)."""
    response: dict[str, Any] = {
        "Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."},
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "ResponseMetadata": {"HTTPStatusCode": 429, "RequestId": str(uuid.uuid4())},
    }
    return ClientError(response, "Invoke")  # type: ignore[arg-type]


@dataclass(order=True)
class _Delivery:
    """One asynchronous event in Lambda's queue, ordered by when it is next due."""

    due: float
    sequence: int
    function_arn: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    received: float = field(compare=False)
    """When Lambda queued it (monotonic): its age decides when it is given up."""
    job_id: str | None = field(compare=False, default=None)
    attempts: int = field(compare=False, default=0)
    throttles: int = field(compare=False, default=0)
    faults: bool = field(compare=False, default=True)
    """Whether the fault plan may crash its attempts (S3's deliveries; not the job events')."""
    waited_here: float = field(compare=False, default=0.0)
    """Seconds it waited for one of this machine's environments, where AWS would have run it at
    once: no part of its age, or this machine's speed would decide whether an event expires."""
    waiting_since: float | None = field(compare=False, default=None)


# Polling and deadlines sized for a laptop, where the template declares them; every other
# parameter keeps the template's default.
LOCAL_PARAMETERS = {"PollIntervalSeconds": "1"}


class PortUnavailable(Exception):
    """The port asked for the emulated services is taken (or not this user's to take)."""


@dataclass
class Timeline:
    """What happened during a run, in order, for the summary and the gallery."""

    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    started: float = field(default_factory=time.monotonic)

    def add(self, kind: str, **details: Any) -> None:
        """Record one event with its time since the start."""
        with self._lock:
            self.events.append({"t": round(time.monotonic() - self.started, 3), "kind": kind, **details})


class EmulatedAccount:
    """The whole pipeline on this machine. Use as a context manager."""

    def __init__(
        self,
        template_path: Path,
        *,
        workers: int | None = None,
        work_dir: Path,
        lambda_time_scale: float = 1.0,
        parameters: dict[str, str] | None = None,
        faults: FaultPlan | None = None,
        stack_name: str = "pagefan-local",
        function_overrides: dict[str, dict[str, Any]] | None = None,
        on_invocation: Callable[[InvocationResult], None] | None = None,
        deliver_events: bool = True,
        enforce_iam: bool = False,
        dynamodb_limits: DynamoDbLimits | None = None,
        region: str = REGION,
        port: int = 0,
    ) -> None:
        self.template_path = template_path
        self.region = region
        # The emulated services' port on 127.0.0.1 (0: any free port).
        self.port = port
        # Environments at once of each function without reserved concurrency (None: what memory allows).
        self.workers = workers
        # Lambda's asynchronous clock (retry delays, throttle backoff, event age) runs this many
        # times slower than AWS's: 1 is AWS's timing, 0.01 runs a minute's retry delay in 0.6 s.
        if lambda_time_scale <= 0:
            raise ValueError("lambda_time_scale must be positive")
        self.lambda_time_scale = lambda_time_scale
        self.work_dir = work_dir
        self._requested_parameters = dict(parameters or {})
        self.parameters = {**LOCAL_PARAMETERS, **self._requested_parameters}
        self.schedule = FaultSchedule(faults or FaultPlan())
        self.stack_name = stack_name
        self.function_overrides = function_overrides or {}
        self.timeline = Timeline()
        # What AWS would have refused or delayed in this run (`pagefan run --json` reports it per job).
        self.contention = Contention()
        # DynamoDB's conflicts and partition throughput, refused as on AWS unless a test turns one off.
        self.dynamodb = DynamoDbEmulation(dynamodb_limits or DynamoDbLimits(), self.contention)
        self._on_invocation = on_invocation
        self.functions: dict[str, FunctionEnvironments] = {}
        self._pending = 0
        self._pending_changed = threading.Condition()
        # Runs the invocations that hold a slot (sized once the functions are known), and publishes.
        self._async_pool: ThreadPoolExecutor | None = None
        # Lambda's queue of asynchronous events: a heap by due time, served by one dispatcher thread.
        self._deliveries: list[_Delivery] = []
        self._deliveries_changed = threading.Condition()
        self._sequence = itertools.count()
        # Events of functions without a reservation that found every local environment busy.
        self._waiting: dict[str, deque[_Delivery]] = {}
        self._waiting_lock = threading.Lock()
        self.failed_deliveries: list[dict[str, Any]] = []
        self._stopping = threading.Event()
        # With deliver_events=False, S3 notifications are kept here as (function ARN, event) instead of
        # invoking their function: `pagefan invoke` runs one function and must not set off the rest of
        # the pipeline behind it.
        self.deliver_events = deliver_events
        self.held_events: list[tuple[str, dict[str, Any]]] = []
        # With enforce_iam, every handler runs as its own role and moto checks each request against
        # the caller's policies, so a permission missing from the template fails here as on AWS.
        self.enforce_iam = enforce_iam
        self.iam: IamEnforcement | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> EmulatedAccount:
        try:
            self.start()
        except BaseException:
            # A template or parameter the deployment refuses must not leave the server running.
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Deployment:
        """Start the emulated services and deploy the template into them."""
        self._start_services()
        self._deploy()
        self._start_functions()
        self._start_deliveries()
        self.timeline.add("deployed", resources=len(self.deployment.physical_ids))
        _LOG.debug(
            "stack %s deployed: %d resources, %d functions; not emulated: %s",
            self.stack_name,
            len(self.deployment.physical_ids),
            len(self.functions),
            ", ".join(self.deployment.not_emulated) or "nothing",
        )
        return self.deployment

    def _start_services(self) -> None:
        """Start moto's server, reset and corrected, with the runtime's hooks on its deliveries."""
        from moto.server import ThreadedMotoServer

        from pagefan.local.emulator import dynamodb_limits, moto_fixes, moto_hooks

        # moto's engine logs every task error it turns into States.Runtime (a task whose service
        # went away under Ctrl-C included); the execution's history holds them, with the cause.
        for noisy in (
            "werkzeug",
            "moto.stepfunctions.parser.asl.component.eval_component",
            "moto.stepfunctions.parser.asl.component.state.exec.execute_state",
        ):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        if self.port:
            _check_port_free(self.port)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        _LOG.debug("emulated services listen on %s", self.endpoint)
        # The Step Functions engine builds its own clients against localhost:MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        # moto's backends live in the process, not the server: start from an empty account.
        self._post("/moto-api/reset", b"")
        self._post(
            "/moto-api/config", json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
        )
        moto_fixes.apply()
        dynamodb_limits.attach(self.dynamodb)
        moto_hooks.install(
            on_s3_notification=self._deliver_async,
            # --faults duplicates and crashes S3's deliveries; the job events' go once, untouched.
            on_event_target=lambda arn, event: self._deliver_async(arn, event, faults=False),
            on_lambda_invoke=self._invoke_sync,
            on_execution_ended=self._report_ended_execution,
        )

    def _deploy(self) -> None:
        """The template translated with its parameters and deployed, as CloudFormation would."""
        self.session = boto3.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )
        translated = translate(self.template_path, self.parameters, region=self.region)
        declared = translated.cloudformation.get("Parameters") or {}
        self.parameters = {
            **{name: value for name, value in LOCAL_PARAMETERS.items() if name in declared},
            **self._requested_parameters,
        }
        _LOG.debug(
            "deploying stack %s in %s with parameters %s", self.stack_name, self.region, self.parameters
        )
        deployer = StackDeployer(self.client, stack_name=self.stack_name, region=self.region)
        self.deployment = deployer.deploy(translated, self.parameters)
        # The template as deployed and the values its intrinsics took: static checks of the roles
        # (tests/security) resolve the same policies the account holds.
        self.template, self.resolver = translated, deployer.resolver
        self._subscribe_notifications()

    def _start_functions(self) -> None:
        """Each function's environments, on the Python its Runtime names where this machine has it."""
        base_env = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            # No X-Ray daemon runs locally; traces would only be dropped.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PATH": os.environ.get("PATH", ""),
            "TZ": "UTC",
        }
        # Each invocation's lines and REPORT line go to the function's log group, as on AWS.
        log_sink = CloudWatchLogSink(lambda: self.client("logs"))
        for logical_id, spec in self.deployment.functions.items():
            # What a person could change in the console after deploying (tests use it to break
            # one function on purpose): environment variables, memory size, timeout.
            override = self.function_overrides.get(logical_id, {})
            spec.environment.update(override.get("environment", {}))
            spec.memory_mb = int(override.get("memory_mb", spec.memory_mb))
            spec.timeout_s = int(override.get("timeout_s", spec.timeout_s))
            # A reservation is AWS's figure exactly (invocations beyond it are refused); other
            # functions get what fits this machine, and invocations beyond it wait.
            if spec.reserved_concurrency is not None:
                concurrency = spec.reserved_concurrency
            else:
                concurrency = self.workers or unreserved_concurrency(spec.memory_mb)
            self.functions[logical_id] = FunctionEnvironments(
                spec,
                base_env=base_env,
                concurrency=concurrency,
                log_dir=self.work_dir / "logs",
                on_result=self._record_invocation,
                log_sink=log_sink,
                on_slot_freed=functools.partial(self._wake_waiting, logical_id),
            )
        # Each function's Python: its Runtime's version when this machine has one that imports its
        # handler, chosen while the rest deploys; its environments start on it.
        pythons = interpreters.choose_all(
            {
                logical_id: (
                    env.spec.runtime,
                    FunctionCode(env.spec.code_dir, env.spec.handler, env.environment),
                )
                for logical_id, env in self.functions.items()
            }
        )
        for logical_id, environments in self.functions.items():
            environments.run_on(pythons[logical_id])

    def _start_deliveries(self) -> None:
        """Asynchronous invocation, IAM enforcement, the stack's outputs and the queues' pollers."""
        # Only invocations holding a slot take a thread, so this many never makes one wait.
        self._async_pool = ThreadPoolExecutor(
            max_workers=sum(env.concurrency for env in self.functions.values()) + 8,
            thread_name_prefix="async",
        )
        threading.Thread(target=self._dispatch, name="lambda-async-queue", daemon=True).start()
        if self.enforce_iam:
            self.iam = IamEnforcement(region=self.region)
            self.session = self.iam.enable(self.client, self.functions)
        self._publish_stack()
        # Queue polling is asynchronous delivery too: held with the S3 events.
        for subscription in self.deployment.queue_subscriptions if self.deliver_events else []:
            threading.Thread(
                target=self._poll_queue,
                args=(subscription,),
                name=f"poll-{subscription.function}",
                daemon=True,
            ).start()

    def stop(self) -> None:
        """Stop every execution environment and the emulated services."""
        from pagefan.local.emulator import dynamodb_limits, moto_hooks

        _LOG.debug("stopping the emulated account")
        self._stopping.set()
        with self._deliveries_changed:
            self._deliveries_changed.notify_all()
        # moto's patched entry points are process-wide: they must not call into a stopped account.
        moto_hooks.detach()
        dynamodb_limits.detach()
        if self._async_pool is not None:
            self._async_pool.shutdown(wait=False, cancel_futures=True)
        for environments in self.functions.values():
            environments.close()
        if self.iam is not None:
            self.iam.disable()
        server = getattr(self, "_server", None)
        if server is not None:
            self._post("/moto-api/reset", b"")
            server.stop()

    def client(self, service: str) -> Any:
        """A boto3 client of the emulated account."""
        return self.session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    def _post(self, path: str, body: bytes) -> None:
        request = urllib.request.Request(
            f"{self.endpoint}{path}", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10):
            pass

    def _publish_stack(self) -> None:
        """Make the outputs readable with describe_stacks, as a deployed stack's are.

        The resources were created one by one (moto's CloudFormation cannot run the pipeline), so the
        stack holds only a placeholder resource and the outputs.
        """
        body = {
            "Resources": {"Deployed": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
            "Outputs": {name: {"Value": value} for name, value in self.deployment.outputs.items()},
        }
        # moto creates the placeholder but warns that it does not model it.
        warnings.filterwarnings("ignore", message="Tried to parse AWS::CloudFormation::WaitConditionHandle")
        self.client("cloudformation").create_stack(StackName=self.stack_name, TemplateBody=json.dumps(body))

    def _subscribe_notifications(self) -> None:
        s3 = self.client("s3")
        by_bucket: dict[str, list[dict[str, Any]]] = {}
        for subscription in self.deployment.subscriptions:
            rules = [
                {"Name": name, "Value": value}
                for name, value in (("prefix", subscription.prefix), ("suffix", subscription.suffix))
                if value
            ]
            config: dict[str, Any] = {
                "LambdaFunctionArn": subscription.function_arn,
                "Events": subscription.events,
            }
            if rules:
                config["Filter"] = {"Key": {"FilterRules": rules}}
            by_bucket.setdefault(subscription.bucket, []).append(config)
        for bucket, configs in by_bucket.items():
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"LambdaFunctionConfigurations": configs}
            )

    # --- invocations ------------------------------------------------------------------------

    def _record_invocation(self, result: InvocationResult) -> None:
        if self._on_invocation:
            self._on_invocation(result)

    def environments_for(self, function_arn_or_name: str) -> FunctionEnvironments:
        """The environments of the function an ARN, a name or a logical id designates."""
        if function_arn_or_name in self.functions:
            return self.functions[function_arn_or_name]
        spec = self.deployment.function_by_arn(function_arn_or_name)
        return self.functions[spec.logical_id]

    def _invoke_sync(self, function: str, event: Any) -> tuple[bool, Any]:
        """A Step Functions task's Invoke: refused (429) when a reservation is all in use, as on AWS."""
        environments = self.environments_for(function)
        logical_id = environments.spec.logical_id
        reserved = environments.spec.reserved_concurrency is not None
        if not environments.acquire(blocking=not reserved):
            self.contention.add(Pressure.LAMBDA_THROTTLES, job_of(event))
            self.timeline.add("throttled", function=logical_id, invocation="sync")
            raise too_many_requests()
        self.timeline.add("invoke", function=logical_id)
        result = environments.invoke(event, acquired=True)
        self.timeline.add("invoked", function=logical_id, ok=result.ok, ms=round(result.duration_ms, 1))
        return result.ok, result.payload if result.ok else result.error_payload()

    def invoke(self, function: str, event: Any) -> InvocationResult:
        """Invoke a function synchronously (RequestResponse), as `sam local invoke` does."""
        return self.environments_for(function).invoke(event)

    def _deliver_async(self, function_arn: str, event: dict[str, Any], *, faults: bool = True) -> None:
        if not self.deliver_events:
            _LOG.debug("holding an S3 notification for %s", function_arn)
            self.held_events.append((function_arn, event))
            return
        copies = self.schedule.copies() if faults else 1
        for _ in range(copies):
            with self._pending_changed:
                self._pending += 1
            # Lambda queues the event when S3 hands it over (after the fault plan's delay, if any).
            queued = time.monotonic() + (self.schedule.delay() if faults else 0.0)
            delivery = _Delivery(
                queued, next(self._sequence), function_arn, event, queued, job_of(event), faults=faults
            )
            self._schedule(delivery, queued)

    def _schedule(self, delivery: _Delivery, due: float) -> None:
        delivery.due = due
        with self._deliveries_changed:
            heapq.heappush(self._deliveries, delivery)
            self._deliveries_changed.notify()

    def _dispatch(self) -> None:
        """Lambda's asynchronous queue: take each event when it is due, and try to run it."""
        while True:
            with self._deliveries_changed:
                while not self._stopping.is_set():
                    now = time.monotonic()
                    if self._deliveries and self._deliveries[0].due <= now:
                        break
                    self._deliveries_changed.wait(self._deliveries[0].due - now if self._deliveries else None)
                if self._stopping.is_set():
                    return  # the account is going away: what was queued goes with it
                delivery = heapq.heappop(self._deliveries)
            try:
                self._attempt(delivery)
            except Exception as error:  # a delivery must never vanish silently
                self._delivery_failed(delivery, error)

    def _attempt(self, delivery: _Delivery) -> None:
        environments = self.environments_for(delivery.function_arn)
        spec = environments.spec
        scale = self.lambda_time_scale
        expires = delivery.received + delivery.waited_here + spec.maximum_event_age_s * scale
        now = time.monotonic()
        if now >= expires:
            self._give_up(delivery, spec.arn, spec.on_failure_destination, "EventAgeExceeded", None)
            return
        with self._waiting_lock:
            acquired = environments.acquire(blocking=False)
            if not acquired and spec.reserved_concurrency is None:
                # A local limit, not AWS's: the event waits for the next free environment.
                delivery.waiting_since = now
                self._waiting.setdefault(spec.logical_id, deque()).append(delivery)
                return
        if not acquired:
            # Throttled: back to the queue, retried with backoff until the event is too old.
            delivery.throttles += 1
            self.contention.add(Pressure.LAMBDA_THROTTLES, delivery.job_id)
            self.timeline.add("throttled", function=spec.logical_id, invocation="async")
            backoff = min(THROTTLE_FIRST_RETRY_S * 2 ** (delivery.throttles - 1), THROTTLE_MAX_RETRY_S)
            self._schedule(delivery, min(now + backoff * scale, expires))
            return
        assert self._async_pool is not None
        try:
            self._async_pool.submit(self._run, delivery, environments)
        except RuntimeError:  # the pool was shut down: the account is stopping
            environments.release()

    def _run(self, delivery: _Delivery, environments: FunctionEnvironments) -> None:
        spec = environments.spec
        try:
            if delivery.attempts:
                self.contention.add(Pressure.RETRIED_INVOCATIONS, delivery.job_id)
            delivery.attempts += 1
            crash = self.schedule.crash_point(spec.logical_id, delivery.attempts) if delivery.faults else None
            result = environments.invoke(delivery.event, crash_point=crash, acquired=True)
            if self._stopping.is_set() or result.ok:
                self._finished(delivery)
                return
            self.timeline.add(
                "async-error", function=spec.logical_id, attempt=delivery.attempts, error=result.error_type
            )
            if delivery.attempts <= spec.max_retry_attempts:
                delay = ASYNC_RETRY_DELAYS_S[min(delivery.attempts, len(ASYNC_RETRY_DELAYS_S)) - 1]
                self._schedule(delivery, time.monotonic() + delay * self.lambda_time_scale)
                return
            self._give_up(delivery, spec.arn, spec.on_failure_destination, "RetriesExhausted", result)
        except Exception as error:  # a delivery must never vanish silently
            self._delivery_failed(delivery, error)

    def _wake_waiting(self, logical_id: str) -> None:
        """A slot of the function is free: the first event waiting for one is due now."""
        with self._waiting_lock:
            waiting = self._waiting.get(logical_id)
            delivery = waiting.popleft() if waiting else None
        if delivery is not None:
            now = time.monotonic()
            if delivery.waiting_since is not None:
                delivery.waited_here += now - delivery.waiting_since
                delivery.waiting_since = None
            self._schedule(delivery, now)

    def _give_up(
        self,
        delivery: _Delivery,
        function_arn: str,
        destination: str | None,
        condition: str,
        result: InvocationResult | None,
    ) -> None:
        try:
            if not self._stopping.is_set():
                self._send_to_failure_destination(
                    function_arn, destination, delivery.event, result, delivery.attempts, condition
                )
        finally:
            self._finished(delivery)

    def _delivery_failed(self, delivery: _Delivery, error: Exception) -> None:
        if not self._stopping.is_set():  # the account is going away: what was in flight goes with it
            _LOG.exception("asynchronous delivery failed")
            self.failed_deliveries.append({"function": delivery.function_arn, "error": repr(error)})
        self._finished(delivery)

    def _finished(self, delivery: _Delivery) -> None:
        with self._pending_changed:
            self._pending -= 1
            self._pending_changed.notify_all()

    def _send_to_failure_destination(
        self,
        function_arn: str,
        destination: str | None,
        event: Any,
        result: InvocationResult | None,
        attempts: int,
        condition: str = "RetriesExhausted",
    ) -> None:
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function_arn}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
        }
        if result is not None:  # an event that expired unrun has no response
            record["responseContext"] = {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            }
            record["responsePayload"] = result.error_payload()
        self.failed_deliveries.append(record)
        self.timeline.add(
            "on-failure", function=function_arn, condition=condition, error=result and result.error_type
        )
        if destination and destination.startswith("arn:aws:sqs:"):
            name = destination.rsplit(":", 1)[1]
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT_ID)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    def _report_ended_execution(self, execution_arn: str) -> None:
        # Off the engine's thread: the event is published through the server itself.
        if self._async_pool is not None and not self._stopping.is_set():
            self._async_pool.submit(self._publish_ended_execution, execution_arn)

    def _publish_ended_execution(self, execution_arn: str) -> None:
        try:
            self._publish_execution_status(execution_arn)
        except Exception:  # a lost status change must be seen, not swallowed by the pool
            if not self._stopping.is_set():
                _LOG.exception("could not publish the end of %s", execution_arn)

    def _publish_execution_status(self, execution_arn: str) -> None:
        """Publish what AWS publishes when an execution ends: its status change on the default bus."""
        execution = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        detail = {
            "executionArn": execution_arn,
            "stateMachineArn": execution["stateMachineArn"],
            # moto leaves the name out of some answers; it is the ARN's last part.
            "name": execution.get("name") or execution_arn.rsplit(":", 1)[1],
            "status": execution["status"],
            "startDate": int(execution["startDate"].timestamp() * 1000),
            "stopDate": int(execution.get("stopDate", execution["startDate"]).timestamp() * 1000),
        }
        self.client("events").put_events(
            Entries=[
                {
                    "Source": "aws.states",
                    "DetailType": "Step Functions Execution Status Change",
                    "Detail": json.dumps(detail),
                    "Resources": [execution_arn],
                }
            ]
        )
        self.timeline.add("execution-ended", name=detail["name"], status=execution["status"])

    def _poll_queue(self, subscription: QueueSubscription) -> None:
        """Lambda's SQS poller: receive a batch, invoke, delete what the function processed."""
        sqs = self.client("sqs")
        name = subscription.queue_arn.rsplit(":", 1)[1]
        try:
            url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        except Exception:
            # An account stopped right after it started (a one-off `pagefan invoke`, a benchmark's
            # template read) takes its services away before the poller's first call: not an error.
            if self._stopping.is_set():
                return
            raise
        environments = self.environments_for(subscription.function)
        while not self._stopping.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(subscription.batch_size, 10),
                    WaitTimeSeconds=1,
                    AttributeNames=["All"],
                ).get("Messages", [])
                if not messages:
                    continue
                with self._pending_changed:
                    self._pending += 1
                try:
                    self._deliver_batch(sqs, url, subscription, environments, messages)
                finally:
                    with self._pending_changed:
                        self._pending -= 1
                        self._pending_changed.notify_all()
            except Exception:
                if self._stopping.is_set():
                    return
                _LOG.exception("polling %s failed", name)
                time.sleep(1)

    def _deliver_batch(
        self,
        sqs: Any,
        url: str,
        subscription: QueueSubscription,
        environments: FunctionEnvironments,
        messages: list[dict[str, Any]],
    ) -> None:
        event = {
            "Records": [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": message["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": subscription.queue_arn,
                    "awsRegion": self.region,
                }
                for message in messages
            ]
        }
        result = environments.invoke(event)
        self.timeline.add(
            "queue-batch", function=environments.spec.logical_id, size=len(messages), ok=result.ok
        )
        if not result.ok:
            return  # the messages become visible again after the queue's visibility timeout
        failed: set[str] = set()
        if subscription.report_batch_item_failures and isinstance(result.payload, dict):
            failed = {item["itemIdentifier"] for item in result.payload.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )

    def wait_until_idle(self, timeout: float = 60.0) -> bool:
        """Wait until no asynchronous invocation is queued or running."""
        deadline = time.monotonic() + timeout
        with self._pending_changed:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._pending_changed.wait(remaining)
        return True
