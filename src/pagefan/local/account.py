"""An emulated AWS account running the real template, state machine and handlers.

moto's server (in this process, on 127.0.0.1) stands in for S3, DynamoDB, SQS, EventBridge, IAM,
Lambda's control plane and Step Functions, whose engine runs the real ASL. The template is
deployed into it by :mod:`pagefan.local.stack`. S3 notifications become asynchronous Lambda
invocations with Lambda's retry policy and on-failure destination; Step Functions' Lambda tasks
become synchronous invocations. Both run the handler modules in execution-environment processes
(:mod:`pagefan.local.environments`) that reach the emulated account through AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from pagefan.local.environments import CloudWatchLogSink, FunctionEnvironments, InvocationResult
from pagefan.local.faults import FaultPlan, FaultSchedule
from pagefan.local.iam import IamEnforcement
from pagefan.local.stack import ACCOUNT_ID, Deployment, QueueSubscription, StackDeployer
from pagefan.local.template import translate

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Lambda waits about a minute, then two, between asynchronous retries; locally that would only
# slow tests down, so retries come after these (documented as a divergence in the README).
ASYNC_RETRY_DELAYS_S = (0.2, 0.5)

# Functions invoked many times at once for one job: PageWorker per page, PdfExporter per page range.
FANNED_OUT_FUNCTIONS = frozenset({"PageWorker", "PdfExporter"})

# Polling and deadlines sized for a laptop; every other parameter keeps the template's default.
LOCAL_PARAMETERS = {"PollIntervalSeconds": "1"}


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
        parameters: dict[str, str] | None = None,
        faults: FaultPlan | None = None,
        stack_name: str = "pagefan-local",
        function_overrides: dict[str, dict[str, Any]] | None = None,
        on_invocation: Callable[[InvocationResult], None] | None = None,
        deliver_events: bool = True,
        enforce_iam: bool = False,
    ) -> None:
        self.template_path = template_path
        self.workers = workers or os.cpu_count() or 1
        self.work_dir = work_dir
        self.parameters = {**LOCAL_PARAMETERS, **(parameters or {})}
        self.schedule = FaultSchedule(faults or FaultPlan())
        self.stack_name = stack_name
        self.function_overrides = function_overrides or {}
        self.timeline = Timeline()
        self._on_invocation = on_invocation
        self.functions: dict[str, FunctionEnvironments] = {}
        self._pending = 0
        self._pending_changed = threading.Condition()
        self._async_pool = ThreadPoolExecutor(
            max_workers=max(8, self.workers * 4), thread_name_prefix="async"
        )
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
        from moto.server import ThreadedMotoServer

        from pagefan.local import moto_fixes, moto_hooks

        for noisy in ("werkzeug", "moto.stepfunctions.parser.asl.component.eval_component"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # The Step Functions engine builds its own clients against localhost:MOTO_PORT.
        os.environ["MOTO_PORT"] = str(port)
        # moto's backends live in the process, not the server: start from an empty account.
        self._post("/moto-api/reset", b"")
        self._post(
            "/moto-api/config", json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
        )
        moto_fixes.apply()
        moto_hooks.install(
            on_s3_notification=self._deliver_async,
            # --faults duplicates and crashes S3's deliveries; the job events' go once, untouched.
            on_event_target=lambda arn, event: self._deliver_async(arn, event, faults=False),
            on_lambda_invoke=self._invoke_sync,
            on_execution_stopped=self._report_stopped_execution,
        )

        self.session = boto3.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )
        translated = translate(self.template_path, self.parameters, region=REGION)
        deployer = StackDeployer(self.client, stack_name=self.stack_name, region=REGION)
        self.deployment = deployer.deploy(translated, self.parameters)
        # The template as deployed and the values its intrinsics took: static checks of the roles
        # (tests/security) resolve the same policies the account holds.
        self.template, self.resolver = translated, deployer.resolver
        self._subscribe_notifications()
        base_env = {
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
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
            # The functions that fan out (a page each; a page range each, from DocumentJob's Map)
            # get one environment per core: each is a process, so the rest keep one to spare memory.
            # PageWorker's reserved concurrency is for AWS; locally the cores decide.
            concurrency = self.workers if logical_id in FANNED_OUT_FUNCTIONS else 1
            self.functions[logical_id] = FunctionEnvironments(
                spec,
                base_env=base_env,
                concurrency=concurrency,
                log_dir=self.work_dir / "logs",
                on_result=self._record_invocation,
                log_sink=log_sink,
            )
        if self.enforce_iam:
            self.iam = IamEnforcement(region=REGION)
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
        self.timeline.add("deployed", resources=len(self.deployment.physical_ids))
        return self.deployment

    def stop(self) -> None:
        """Stop every execution environment and the emulated services."""
        from pagefan.local import moto_hooks

        self._stopping.set()
        # moto's patched entry points are process-wide: they must not call into a stopped account.
        moto_hooks.detach()
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
        environments = self.environments_for(function)
        self.timeline.add("invoke", function=environments.spec.logical_id)
        result = environments.invoke(event)
        self.timeline.add(
            "invoked", function=environments.spec.logical_id, ok=result.ok, ms=round(result.duration_ms, 1)
        )
        return result.ok, result.payload if result.ok else result.error_payload()

    def invoke(self, function: str, event: Any) -> InvocationResult:
        """Invoke a function synchronously (RequestResponse), as `sam local invoke` does."""
        return self.environments_for(function).invoke(event)

    def _deliver_async(self, function_arn: str, event: dict[str, Any], *, faults: bool = True) -> None:
        if not self.deliver_events:
            self.held_events.append((function_arn, event))
            return
        copies = self.schedule.copies() if faults else 1
        for _ in range(copies):
            with self._pending_changed:
                self._pending += 1
            delay = self.schedule.delay() if faults else 0.0
            self._async_pool.submit(self._invoke_async, function_arn, event, delay, faults)

    def _invoke_async(
        self, function_arn: str, event: dict[str, Any], delay: float, faults: bool = True
    ) -> None:
        try:
            if delay:
                time.sleep(delay)
            environments = self.environments_for(function_arn)
            spec = environments.spec
            attempts = 1 + spec.max_retry_attempts
            result: InvocationResult | None = None
            for attempt in range(1, attempts + 1):
                if self._stopping.is_set():
                    return
                crash = self.schedule.crash_point(spec.logical_id, attempt) if faults else None
                result = environments.invoke(event, crash_point=crash)
                if result.ok:
                    return
                self.timeline.add(
                    "async-error", function=spec.logical_id, attempt=attempt, error=result.error_type
                )
                if attempt < attempts:
                    time.sleep(ASYNC_RETRY_DELAYS_S[min(attempt, len(ASYNC_RETRY_DELAYS_S)) - 1])
            assert result is not None
            if self._stopping.is_set():
                return
            self._send_to_failure_destination(spec.arn, spec.on_failure_destination, event, result, attempts)
        except Exception as error:  # a delivery must never vanish silently
            if self._stopping.is_set():
                return  # the account is going away: what was in flight goes with it
            logging.getLogger(__name__).exception("asynchronous delivery failed")
            self.failed_deliveries.append({"function": function_arn, "error": repr(error)})
        finally:
            with self._pending_changed:
                self._pending -= 1
                self._pending_changed.notify_all()

    def _send_to_failure_destination(
        self, function_arn: str, destination: str | None, event: Any, result: InvocationResult, attempts: int
    ) -> None:
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function_arn}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": result.error_payload(),
        }
        self.failed_deliveries.append(record)
        self.timeline.add("on-failure", function=function_arn, error=result.error_type)
        if destination and destination.startswith("arn:aws:sqs:"):
            name = destination.rsplit(":", 1)[1]
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=ACCOUNT_ID)["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))

    def _report_stopped_execution(self, execution_arn: str) -> None:
        # Off the server's request thread: the event is published through the server itself.
        self._async_pool.submit(self._publish_execution_status, execution_arn)

    def _publish_execution_status(self, execution_arn: str) -> None:
        """Publish what AWS publishes when an execution ends: its status change on the default bus."""
        execution = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        detail = {
            "executionArn": execution_arn,
            "stateMachineArn": execution["stateMachineArn"],
            "name": execution["name"],
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
        self.timeline.add("execution-ended", name=execution["name"], status=execution["status"])

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
                logging.getLogger(__name__).exception("polling %s failed", name)
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
                    "awsRegion": REGION,
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
