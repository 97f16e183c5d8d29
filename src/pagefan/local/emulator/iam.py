"""IAM enforcement in the emulated account: every handler runs as its own role, as on AWS.

moto can check every request against the caller's IAM policies (the internals replaced here are
targets of :mod:`pagefan.local.emulator.moto_targets`). The runtime turns that on after deploying
the template, so a permission the template lacks fails a local run the way it fails on AWS:

* The runtime itself (uploads, reading outputs, the SQS poller, the on-failure destination) acts
  as one administrator user, created before enforcement starts.
* Each function's environments get the credentials of the function's role, taken the way Lambda
  takes them: as the service the role's trust policy admits (``lambda.amazonaws.com``). The
  credentials are requested for the role's MaxSessionDuration and renewed for new environments
  before they expire (moto itself never expires them, so warm environments keep working).
* The Step Functions engine's own clients act as the state machine's role (AWS does the same),
  and its Lambda tasks, which the runtime routes to the handlers without an HTTP call, are checked
  for ``lambda:InvokeFunction`` on the function against that role's policies.

Where moto's check falls short, the runtime completes it (:func:`install`):

* moto checks DynamoDB, Step Functions and EventBridge requests against ``Resource: "*"`` only,
  so a grant scoped to the table (or state machine, or bus) would be denied. The runtime gives
  those requests their real resource ARN, and authorises a DynamoDB transaction per item with the
  item's action (``PutItem``, ``UpdateItem``, ``DeleteItem``, ``ConditionCheckItem``), as AWS does.
* moto answers a denial from those JSON services with an XML body the SDK cannot parse; the
  runtime answers ``AccessDeniedException`` in JSON, as AWS does.

What remains unevaluated locally: conditions in identity policies (moto reads an Allow whose
condition it cannot evaluate as a Deny), bucket policies and permission boundaries, and every
call the Lambda service makes for a function (logs, X-Ray). The permission matrix
(tests/security) checks those statically.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

import boto3

from pagefan.local.emulator import moto_targets
from pagefan.local.emulator.moto_targets import replace, replace_imported
from pagefan.local.emulator.stack import ACCOUNT_ID

RUNTIME_USER = "pagefan-local-runtime"
"""The IAM user the runtime acts as once enforcement is on (allowed everything)."""

LAMBDA_SERVICE = "lambda.amazonaws.com"
STATES_SERVICE = "states.amazonaws.com"

# Renew role credentials for new environments when this share of their lifetime has passed.
_RENEW_AFTER = 0.8

_ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "LocalRuntime", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class RoleNotAssumable(RuntimeError):
    """A role's trust policy does not admit the service that has to assume it."""


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary credentials of one role session."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets for a function's role."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }


def trusts_service(trust_policy: Mapping[str, Any], service: str) -> bool:
    """Whether a trust policy lets ``service`` call sts:AssumeRole (an Allow naming it)."""
    statements = trust_policy.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = statement.get("Principal", {}).get("Service", [])
        services = [services] if isinstance(services, str) else services
        if statement.get("Effect") == "Allow" and "sts:AssumeRole" in actions and service in services:
            return True
    return False


class IamEnforcement:
    """Turns moto's IAM enforcement on for one deployed account, and off again."""

    def __init__(self, *, region: str) -> None:
        self.region = region
        self.admin: RoleCredentials | None = None
        self._functions: dict[str, Any] = {}
        self._roles: dict[str, RoleCredentials] = {}
        self._lock = threading.Lock()
        self._renewal: threading.Timer | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def enable(self, client: Callable[[str], Any], functions: Mapping[str, Any]) -> boto3.Session:
        """Create the runtime's user, give each function its role's credentials, enforce IAM.

        ``client`` makes clients of the account as it is before enforcement; ``functions`` maps a
        function's logical id to its FunctionEnvironments. Returns the session the runtime uses
        from now on.
        """
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        iam = client("iam")
        iam.create_user(UserName=RUNTIME_USER)
        iam.put_user_policy(
            UserName=RUNTIME_USER, PolicyName="local-runtime", PolicyDocument=json.dumps(_ADMIN_POLICY)
        )
        key = iam.create_access_key(UserName=RUNTIME_USER)["AccessKey"]
        self.admin = RoleCredentials(key["AccessKeyId"], key["SecretAccessKey"], "", datetime.max)
        self._functions = dict(functions)
        self._give_functions_their_roles()
        install()
        global _active
        _active = self
        # The server runs in this process: its switch is this module attribute (what the
        # /moto-api/reset-auth endpoint sets).
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
        ActionAuthenticatorMixin.request_count = 0
        return boto3.Session(
            aws_access_key_id=self.admin.access_key_id,
            aws_secret_access_key=self.admin.secret_access_key,
            region_name=self.region,
        )

    def disable(self) -> None:
        """Stop enforcing (the account is going away; moto's switch is process-wide)."""
        from moto import settings

        global _active
        if self._renewal is not None:
            self._renewal.cancel()
        if _active is self:
            _active = None
            settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")

    # --- credentials ------------------------------------------------------------------------

    def _give_functions_their_roles(self) -> None:
        lifetimes = []
        for environments in self._functions.values():
            credentials = self.assume(environments.spec.role_arn, LAMBDA_SERVICE, environments.spec.name)
            environments.set_environment(**credentials.environment())
            lifetimes.append((credentials.expiration - datetime.now(UTC)).total_seconds())
        if lifetimes:
            self._renewal = threading.Timer(min(lifetimes) * _RENEW_AFTER, self._give_functions_their_roles)
            self._renewal.daemon = True
            self._renewal.start()

    def assume(self, role_arn: str, service: str, session_name: str) -> RoleCredentials:
        """Credentials of ``role_arn`` as ``service`` receives them, for the longest time the role allows.

        The runtime plays the AWS service here, so it calls STS inside moto rather than over HTTP
        (where the trust policy would be matched against the runtime's own user). The trust policy
        is checked first: AWS refuses a function or state machine whose role its service cannot assume.
        """
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        role = iam_backends[ACCOUNT_ID]["aws"].get_role_by_arn(role_arn)
        trust = role.assume_role_policy_document
        if not trusts_service(json.loads(trust) if isinstance(trust, str) else trust, service):
            raise RoleNotAssumable(f"{service} cannot assume {role_arn}: its trust policy does not admit it")
        duration = int(role.max_session_duration or 3600)
        session = sts_backends[ACCOUNT_ID]["aws"].assume_role(
            region_name=self.region,
            role_session_name=session_name[:64],
            role_arn=role_arn,
            policy="",
            duration=duration,
            external_id="",
        )
        expiration = session.expiration
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return RoleCredentials(
            session.access_key_id, session.secret_access_key, session.session_token, expiration
        )

    def credentials_of(self, role_arn: str) -> RoleCredentials:
        """The state machine role's credentials for the engine, renewed before they expire."""
        with self._lock:
            current = self._roles.get(role_arn)
            if current is None or (current.expiration - datetime.now(UTC)).total_seconds() < 300:
                current = self.assume(role_arn, STATES_SERVICE, "pagefan-local-execution")
                self._roles[role_arn] = current
            return current

    # --- decisions ----------------------------------------------------------------------------

    def denial(self, role_arn: str, action: str, resource: str) -> str | None:
        """Why the role may not perform ``action`` on ``resource`` (moto's evaluation), or None."""
        from moto.iam.access_control import IAMPolicy, PermissionResult
        from moto.iam.models import iam_backends

        backend = iam_backends[ACCOUNT_ID]["aws"]
        role_name = role_arn.rsplit("/", 1)[-1]
        documents: list[Any] = [
            backend.get_role_policy(role_name, name)[1] for name in backend.list_role_policies(role_name)
        ]
        documents += backend.list_attached_role_policies(role_name)[0]
        permitted = False
        for document in documents:
            result = IAMPolicy(document).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                permitted = False
                break
            permitted = permitted or result == PermissionResult.PERMITTED
        if permitted:
            return None
        return (
            f"User: arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/pagefan-local-execution is not "
            f"authorized to perform: {action} on resource: {resource} because no identity-based policy "
            f"allows the {action} action"
        )


_active: IamEnforcement | None = None
_installed = False


# --- moto: resources of DynamoDB, Step Functions and EventBridge requests ---------------------------

_TRANSACTION_ITEM_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def _arn(service: str, region: str, account: str, resource: str) -> str:
    return resource if resource.startswith("arn:") else f"arn:aws:{service}:{region}:{account}:{resource}"


def dynamodb_requests(
    action: str, body: Mapping[str, Any], region: str, account: str
) -> Iterator[tuple[str, str]]:
    """The (action, resource ARN) pairs AWS authorises for one DynamoDB request."""

    def table(name: str) -> str:
        return name if name.startswith("arn:") else _arn("dynamodb", region, account, f"table/{name}")

    if action in ("TransactWriteItems", "TransactGetItems"):
        for item in body.get("TransactItems", []):
            for kind, details in item.items():
                yield _TRANSACTION_ITEM_ACTIONS[kind], table(details["TableName"])
    elif action in ("BatchWriteItem", "BatchGetItem"):
        for name in body.get("RequestItems", {}):
            yield action, table(name)
    elif body.get("TableName"):
        arn = table(body["TableName"])
        yield action, f"{arn}/index/{body['IndexName']}" if body.get("IndexName") else arn
    else:
        yield action, "*"


def stepfunctions_requests(
    action: str, body: Mapping[str, Any], region: str, account: str
) -> Iterator[tuple[str, str]]:
    """The (action, resource ARN) pair AWS authorises for one Step Functions request."""
    yield action, str(body.get("stateMachineArn") or body.get("executionArn") or "*")


def events_requests(
    action: str, body: Mapping[str, Any], region: str, account: str
) -> Iterator[tuple[str, str]]:
    """The (action, resource ARN) pairs AWS authorises for one EventBridge request (PutEvents: each bus)."""
    if action == "PutEvents":
        buses = {str(entry.get("EventBusName") or "default") for entry in body.get("Entries", [])}
        for bus in sorted(buses):
            yield action, _arn("events", region, account, f"event-bus/{bus}")
    else:
        yield action, "*"


RequestResources = Callable[[str, Mapping[str, Any], str, str], Iterator[tuple[str, str]]]


def _json_body(response: Any) -> Mapping[str, Any]:
    body = getattr(response, "body", None)
    if isinstance(body, Mapping):
        return body
    try:
        parsed = json.loads(body or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, Mapping) else {}


def _authorize(response: Any, action: str, resource: str) -> None:
    """Check one action on one resource as moto does; deny with a JSON AccessDeniedException."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import AccessDeniedError, JsonRESTError
    from moto.iam.access_control import IAMRequest

    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    path = response.raw_path
    query = urlparse(response.uri).query
    request = IAMRequest(
        account_id=response.current_account,
        method=response.method,
        path=f"{path}?{query}" if query else path,
        data=response.data,
        body=response.raw_body,
        headers=response.headers,
        action=action,
    )
    request.check_signature()
    try:
        request.check_action_permitted(resource)
    except AccessDeniedError as denied:
        raise JsonRESTError(
            "AccessDeniedException",
            f"{denied.message} on resource: {resource} because no identity-based policy allows the action",
        ) from denied


def _resource_aware(original: Callable[..., None], requests: RequestResources) -> Callable[..., None]:
    def authorize(self: Any, resource: str = "*") -> None:
        if _active is None:
            original(self, resource)
            return
        for action, arn in requests(self._get_action(), _json_body(self), self.region, self.current_account):
            _authorize(self, action, arn)

    return authorize


# --- moto: the Step Functions engine acting as the state machine's role -------------------------------


def _engine_client_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    from botocore.config import Config
    from moto.settings import moto_server_port
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        enforcement = _active
        if enforcement is None or state_credentials is None:
            return original(region, service, state_credentials)
        credentials = enforcement.credentials_of(state_credentials.role_arn)
        return boto3.client(  # type: ignore[call-overload]  # the service is the engine's choice
            service_name=service,
            region_name=region,
            endpoint_url=f"http://localhost:{moto_server_port()}",
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            # The engine's own settings: the state's Retry decides, not the SDK.
            config=Config(
                parameter_validation=False,
                retries={"max_attempts": 0, "total_max_attempts": 1},
                connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
            ),
        )

    return boto_client_for


def _checked_lambda_invoke(invoke: Callable[..., Any]) -> Callable[..., Any]:
    from botocore.exceptions import ClientError

    def invoke_as_role(parameters: dict[str, Any], region: str, state_credentials: Any) -> Any:
        enforcement = _active
        if enforcement is not None and state_credentials is not None:
            function = str(parameters["FunctionName"])
            arn = (
                function
                if function.startswith("arn:")
                else _arn("lambda", region, ACCOUNT_ID, f"function:{function}")
            )
            reason = enforcement.denial(state_credentials.role_arn, "lambda:InvokeFunction", arn)
            if reason is not None:
                # What Lambda answers the engine; Step Functions reports it as Lambda.AccessDeniedException.
                response: Any = {
                    "Error": {"Code": "AccessDeniedException", "Message": reason},
                    "ResponseMetadata": {"HTTPStatusCode": 403, "RequestId": "local"},
                }
                raise ClientError(response, "Invoke")
        return invoke(parameters, region, state_credentials)

    return invoke_as_role


def install() -> None:
    """Teach moto the resources it does not evaluate (idempotent; inert while nothing is enforced).

    Must run after :func:`pagefan.local.emulator.moto_hooks.install`, whose Lambda routing it wraps.
    """
    global _installed
    if _installed:
        return
    moto_targets.check()
    _installed = True

    from moto.dynamodb.responses import DynamoHandler
    from moto.events.responses import EventsHandler
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.utils import boto_client
    from moto.stepfunctions.responses import StepFunctionResponse

    for handler, requests in (
        (DynamoHandler, dynamodb_requests),
        (StepFunctionResponse, stepfunctions_requests),
        (EventsHandler, events_requests),
    ):
        name = "_authenticate_and_authorize_normal_action"
        replace(handler, name, _resource_aware(getattr(handler, name), requests))

    # Every engine module that imported boto_client_for holds its own reference: each is replaced.
    replace_imported(boto_client, "boto_client_for", _engine_client_factory(boto_client.boto_client_for))
    replace(
        lambda_eval_utils,
        "_invoke_lambda_function",
        _checked_lambda_invoke(lambda_eval_utils._invoke_lambda_function),
    )
