"""Where the local runtime takes over from moto.

moto delivers S3 notifications by invoking the function synchronously inside the PUT and
swallowing every error, and cannot run a Lambda function without Docker. The runtime replaces
exactly those two points:

* ``moto.s3.notifications._invoke_awslambda``: moto has matched the event type and the key
  filters; the runtime queues an asynchronous invocation instead (Lambda's async semantics:
  retries, on-failure destination).
* ``lambda_eval_utils._invoke_lambda_function``: the Step Functions engine's call to Lambda,
  for both ``lambda:invoke`` and plain function ARNs; the runtime runs the handler and returns
  Lambda's response shape, ``FunctionError`` included, so Retry and Catch see the real error. A
  refusal of the Invoke call itself (429 TooManyRequestsException) is raised as the SDK raises it,
  which the engine names ``Lambda.TooManyRequestsException``.

* ``BaseExecutionWorkerCommunication.terminated``: the engine's end of an execution. AWS reports
  every end (SUCCEEDED, FAILED, TIMED_OUT, ABORTED) on the default event bus ("Step Functions
  Execution Status Change"); moto reports none, so the runtime publishes each from here, once the
  status is final (a StopExecution call returns before the execution has ended ABORTED).

* ``events.models.Rule.send_to_targets``: moto raises NotImplementedError for a Lambda target,
  which would fail the state machine's PutEvents; the runtime queues an asynchronous invocation
  of each Lambda target whose rule matches (EventBridge invokes Lambda asynchronously) and lets
  moto deliver to every other target. Targets receive the event with its ``account``, which
  moto's default target input leaves out and AWS always sends.

It also makes the S3 event body match AWS's (keys keep ``/``, versionId and sequencer present)
and drops the second ObjectCreated event moto emits for a completed multipart upload.

Each replaced internal is a target of :mod:`pagefan.local.emulator.moto_targets`: installing fails
loudly when moto no longer has one.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus

from botocore.exceptions import ClientError

from pagefan.local.emulator import moto_targets
from pagefan.local.emulator.moto_targets import replace

AsyncInvoke = Callable[[str, dict[str, Any]], None]
"""(function ARN, event) → None: queue an asynchronous invocation."""
SyncInvoke = Callable[[str, Any], tuple[bool, Any]]
"""(function ARN or name, event) → (ok, payload or error payload)."""

_callbacks: dict[str, Any] = {}
_installed = False


def detach() -> None:
    """Forget the callbacks of an account that stopped (the patches stay, as moto's are global)."""
    _callbacks.clear()


def install(
    *,
    on_s3_notification: AsyncInvoke,
    on_lambda_invoke: SyncInvoke,
    on_execution_ended: Callable[[str], None],
    on_event_target: AsyncInvoke | None = None,
) -> None:
    """Route moto's S3 notifications, Step Functions Lambda calls and ended executions to callbacks.

    EventBridge's Lambda targets go to ``on_event_target``, by default ``on_s3_notification``:
    both are asynchronous invocations.
    """
    global _installed
    _callbacks["s3"] = on_s3_notification
    _callbacks["event_target"] = on_event_target or on_s3_notification
    _callbacks["lambda"] = on_lambda_invoke
    _callbacks["ended"] = on_execution_ended
    if _installed:
        return
    moto_targets.check()
    _installed = True
    _report_ended_executions()

    import moto.s3.notifications as notifications
    from moto.core.utils import iso_8601_datetime_without_milliseconds, utcfromtimestamp
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.utilities.arns import parse_arn

    def s3_event_like_aws(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        body: dict[str, Any] = original_event(event_name, bucket, key, notification_id)
        record = body["Records"][0]["s3"]["object"]
        record["key"] = quote_plus(key.name, safe="/")
        if getattr(key, "version_id", None) not in (None, "null"):
            record["versionId"] = key.version_id
        record["sequencer"] = f"{int(key.last_modified.timestamp() * 1e6):016X}"
        return body

    def send_event_once(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if event_name == notifications.S3NotificationEvent.OBJECT_CREATED_PUT_EVENT and getattr(
            key, "multipart", None
        ):
            return  # CompleteMultipartUpload sends its own event
        original_send(account_id, event_name, bucket, key)

    def invoke_async(account_id: str, event_body: dict[str, Any], fn_arn: str, region_name: str) -> None:
        deliver = _callbacks.get("s3")
        if deliver is not None:  # with no account attached, nothing runs functions
            deliver(fn_arn, event_body)

    def invoke_sync(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        try:
            raw = parameters.get("Payload") or b"{}"
            event = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            ok, payload = _callbacks["lambda"](str(parameters["FunctionName"]), event)
        except ClientError:
            raise  # Lambda refused the call itself: the engine names it Lambda.<Code>
        except Exception as error:
            # An exception escaping here would be an uncatchable States.Runtime in the engine;
            # Lambda reports it as a function error, which Retry and Catch can see.
            ok, payload = False, {"errorType": type(error).__name__, "errorMessage": str(error)}
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(json.dumps(payload).encode()),
        }
        if not ok:
            response["FunctionError"] = "Unhandled"
        response["Payload"] = lambda_eval_utils._from_payload(response["Payload"])
        return response

    # moto's default target input leaves out the event's "account", which AWS always sends.
    default_input = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in default_input:
        version = '"version": "0", '
        with_account = default_input.replace(version, version + '"account": "<account>", ', 1)
        if with_account == default_input:
            raise moto_targets.MotoChanged(
                {
                    "moto.events.utils:EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE": (
                        'has no "version" member to put the account after'
                    )
                }
            )
        replace(EventTemplateParser, "DEFAULT_EVENT_INPUT_TEMPLATE", with_account)

    def as_target_receives(original_event: Any) -> dict[str, Any]:
        event: dict[str, Any] = EventTemplateParser.parse(None, {}, original_event)
        if isinstance(event.get("time"), int | float):  # as moto's SQS delivery does
            event["time"] = iso_8601_datetime_without_milliseconds(utcfromtimestamp(float(event["time"])))
        return event

    def send_to_targets_and_functions(self: Any, original_event: Any, transform_input: bool = True) -> None:
        functions = [t for t in self.targets if parse_arn(t["Arn"]).service == "lambda"]
        if not functions:
            original_send_to_targets(self, original_event, transform_input)
            return
        deliver = _callbacks.get("event_target")
        if deliver is not None and self.event_pattern.matches_event(original_event):
            for target in functions:  # no InputTransformer in pagefan's rules: the whole event
                deliver(target["Arn"], json.loads(json.dumps(as_target_receives(original_event))))
        others = copy.copy(self)  # moto's own delivery, to the other targets, without touching the rule
        others.targets = [t for t in self.targets if t not in functions]
        original_send_to_targets(others, original_event, transform_input)

    original_event = replace(notifications, "_get_s3_event", s3_event_like_aws)
    original_send = replace(notifications, "send_event", send_event_once)
    replace(notifications, "_invoke_awslambda", invoke_async)
    replace(lambda_eval_utils, "_invoke_lambda_function", invoke_sync)
    original_send_to_targets = replace(Rule, "send_to_targets", send_to_targets_and_functions)


def _report_ended_executions() -> None:
    from moto.stepfunctions.parser.backend import execution

    def terminated(self: Any) -> None:
        original(self)
        report = _callbacks.get("ended")
        if report is not None:  # no account attached: moto in-process, as in unit tests
            report(self.execution.exec_arn)

    original = replace(execution.BaseExecutionWorkerCommunication, "terminated", terminated)
