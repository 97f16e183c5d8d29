"""Every row of the permission matrix, against template.yaml as deployed in the emulated account.

S3 rows are checked by enforcement: the role's own credentials make the call, and moto's IAM
enforcement allows it or answers AccessDenied. Every row, S3 included, is also checked by
evaluating the role's policies as deployed (tests/security/policy.py): for S3 the two agree, and
for DynamoDB, Step Functions, EventBridge, Lambda, SQS, CloudWatch Logs and X-Ray (whose resources
moto does not evaluate, or whose calls the Lambda service makes) the evaluation is the check.

The rows of the deployer's options (the matrix's ``options``: the stack's own KMS key, a VPC) are
checked by evaluating the same roles resolved with those parameters; without them, none of their
allowances may hold. tests/security/test_deployer_options.py deploys the stack with them.

Then every single weakening of the template is tried: each statement of each role dropped, its
resources widened to "*", its actions widened to "service:*" (the conditional statements of the
options too). Each must break a row of the matrix.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from pagefan.local.emulator.account import EmulatedAccount
from pagefan.local.emulator.iam import LAMBDA_SERVICE, STATES_SERVICE, trusts_service
from pagefan.local.emulator.template import translate
from tests.security.matrix import (
    Row,
    Stack,
    all_rows,
    held_policies,
    load_matrix,
    option_parameters,
    resolver_with,
    role_policies,
)
from tests.security.policy import Decision, evaluate, statements

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
MATRIX = load_matrix()
ROWS = list(all_rows(MATRIX))
OPTIONS_MATRIX = load_matrix(with_options=True)
OPTIONS_ROWS = list(all_rows(OPTIONS_MATRIX))
# What the options allow, which nothing may allow without them.
OPTION_ALLOWANCES = [row for row in OPTIONS_ROWS if row.allowed and row not in ROWS]
_NO_RETRIES = Config(retries={"total_max_attempts": 1})
# Errors that mean the call never reached IAM's decision: a broken test, not an answer.
_NOT_AN_ANSWER = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}


@pytest.fixture(scope="module")
def account(
    tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None
) -> Iterator[EmulatedAccount]:
    """template.yaml deployed with IAM enforced; S3 events are held, so allowed writes set nothing off."""
    with EmulatedAccount(
        TEMPLATE, work_dir=tmp_path_factory.mktemp("matrix"), enforce_iam=True, deliver_events=False
    ) as deployed:
        yield deployed


@pytest.fixture(scope="module")
def stack(account: EmulatedAccount) -> Stack:
    outputs = account.deployment.outputs
    return Stack(
        region=account.deployment.region,
        account=account.resolver.pseudo["AWS::AccountId"],
        buckets={
            "raw": outputs["RawBucketName"],
            "work": outputs["WorkBucketName"],
            "results": outputs["ResultsBucketName"],
        },
        resolver=account.resolver,
    )


@pytest.fixture(scope="module")
def options_stack(account: EmulatedAccount, stack: Stack) -> Stack:
    """The same stack's names, resolved as if deployed with the matrix's options."""
    parameters = option_parameters(stack.region, stack.account)
    resolver = resolver_with(account.resolver, account.template.cloudformation, parameters)
    return Stack(region=stack.region, account=stack.account, buckets=stack.buckets, resolver=resolver)


def _row_id(row: Row) -> str:
    verdict = "allow" if row.allowed else "deny"
    return f"{row.role}-{verdict}-{row.action}-{row.resource}"


# --- the matrix covers the template ------------------------------------------------------------------


def test_the_matrix_names_every_role_of_the_template_and_nothing_else(account: EmulatedAccount) -> None:
    resources = account.template.cloudformation["Resources"]
    roles = {name for name, resource in resources.items() if resource["Type"] == "AWS::IAM::Role"}
    assert {entry.role for entry in MATRIX.values()} == roles
    # Each function and the state machine runs as the role the matrix names for it.
    for name, entry in MATRIX.items():
        properties = resources[name]["Properties"]
        assert (properties.get("Role") or properties.get("RoleArn")) == {"Fn::GetAtt": [entry.role, "Arn"]}


def test_every_role_is_written_out_inline_with_no_managed_policy(account: EmulatedAccount) -> None:
    # A managed policy (AWSLambdaBasicExecutionRole and friends) is "*" on a whole service.
    for entry in MATRIX.values():
        properties = account.template.cloudformation["Resources"][entry.role]["Properties"]
        assert not properties.get("ManagedPolicyArns"), entry.role


def test_every_star_resource_in_the_template_says_why() -> None:
    lines = TEMPLATE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.fullmatch(r'\s*Resource: "\*"', line):
            # The statement's lines and the comment lines right above it.
            start = number
            while not lines[start].lstrip().startswith("- Sid:"):
                start -= 1
            while lines[start - 1].lstrip().startswith("#"):
                start -= 1
            statement = lines[start:number]
            assert any(text.strip().startswith("#") and '"*"' in text for text in statement), (
                f'template.yaml:{number + 1}: Resource "*" with no comment on why nothing narrower works'
            )


def test_each_role_trusts_only_the_service_that_runs_it(account: EmulatedAccount) -> None:
    resources = account.template.cloudformation["Resources"]
    for name, entry in MATRIX.items():
        trust = resources[entry.role]["Properties"]["AssumeRolePolicyDocument"]
        service = (
            STATES_SERVICE
            if resources[name]["Type"] == "AWS::StepFunctions::StateMachine"
            else LAMBDA_SERVICE
        )
        assert trusts_service(trust, service)
        principals = [s["Principal"] for s in trust["Statement"]]
        assert principals == [{"Service": service}], entry.role


def test_s3_and_eventbridge_may_invoke_each_function_from_its_own_source_only(
    account: EmulatedAccount,
) -> None:
    resources = account.template.cloudformation["Resources"]
    resolve = account.resolver.resolve
    notified = {
        config["Function"]["Fn::GetAtt"][0]: resolve(resources[bucket]["Properties"]["BucketName"])
        for bucket, resource in resources.items()
        if resource["Type"] == "AWS::S3::Bucket"
        for config in resource["Properties"]
        .get("NotificationConfiguration", {})
        .get("LambdaConfigurations", [])
    }
    permissions = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Lambda::Permission":
            name = resource["Properties"]["FunctionName"]
            permissions[name["Fn::GetAtt"][0] if "Fn::GetAtt" in name else name["Ref"]] = resolve(
                resource["Properties"]
            )
    by_s3 = {
        function
        for function, permission in permissions.items()
        if permission["Principal"] == "s3.amazonaws.com"
    }
    assert set(notified) == by_s3 == {"Splitter", "PageWorker"}
    for function, bucket in notified.items():
        assert permissions[function]["SourceArn"] == f"arn:aws:s3:::{bucket}"
        assert permissions[function]["SourceAccount"] == account.resolver.pseudo["AWS::AccountId"]
    # and EventBridge may invoke JobMetrics from its own rule, on the stack's bus, only
    assert set(permissions) - by_s3 == {"JobMetrics"}
    rules = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Events::Rule"
        and any(
            target["Arn"] == {"Fn::GetAtt": ["JobMetrics", "Arn"]}
            for target in resource["Properties"]["Targets"]
        )
    ]
    assert len(rules) == 1
    assert resources[rules[0]]["Properties"]["EventBusName"] == {"Ref": "JobEventBus"}
    assert permissions["JobMetrics"]["Principal"] == "events.amazonaws.com"
    assert permissions["JobMetrics"]["SourceArn"] == resolve({"Fn::GetAtt": [rules[0], "Arn"]})


# --- every row, by evaluating the deployed policies ------------------------------------------------------


def _decide(
    account: EmulatedAccount, stack: Stack, row: Row, cloudformation: dict[str, Any] | None = None
) -> Decision:
    role = MATRIX[row.role].role
    documents = role_policies(cloudformation or account.template.cloudformation, stack.resolver, role)
    return evaluate(documents, stack.request(row))


@pytest.mark.parametrize("row", ROWS, ids=_row_id)
def test_row_holds_for_the_role_policies(account: EmulatedAccount, stack: Stack, row: Row) -> None:
    decision = _decide(account, stack, row)
    assert (decision == Decision.ALLOWED) == row.allowed, f"{row}: {decision.value}"


@pytest.mark.parametrize("row", OPTIONS_ROWS, ids=_row_id)
def test_row_holds_with_the_deployer_options(
    account: EmulatedAccount, options_stack: Stack, row: Row
) -> None:
    decision = _decide(account, options_stack, row)
    assert (decision == Decision.ALLOWED) == row.allowed, f"{row} (with the options): {decision.value}"


@pytest.mark.parametrize("row", OPTION_ALLOWANCES, ids=_row_id)
def test_without_the_options_no_role_may_use_a_key_or_a_network(
    account: EmulatedAccount, stack: Stack, row: Row
) -> None:
    decision = _decide(account, stack, row)
    assert decision != Decision.ALLOWED, f"{row} without the options: {decision.value}"


def test_the_evaluated_policies_are_the_ones_the_account_holds(account: EmulatedAccount) -> None:
    iam = account.client("iam")
    for entry in MATRIX.values():
        held = held_policies(iam, account.deployment.roles[entry.role])
        evaluated = role_policies(account.template.cloudformation, account.resolver, entry.role)
        assert statements(held) == statements(evaluated), entry.role


# --- S3 rows, by enforcement ----------------------------------------------------------------------------

_VERSION = "3HL4kqtJvjVBH40Nrjfkd"


def _s3_call(s3: Any, action: str, bucket: str, key: str) -> Callable[[], Any]:
    calls: dict[str, Callable[[], Any]] = {
        "s3:GetObject": lambda: s3.get_object(Bucket=bucket, Key=key),
        "s3:GetObjectVersion": lambda: s3.get_object(Bucket=bucket, Key=key, VersionId=_VERSION),
        "s3:PutObject": lambda: s3.put_object(Bucket=bucket, Key=key, Body=b"permission matrix"),
        "s3:DeleteObject": lambda: s3.delete_object(Bucket=bucket, Key=key),
        "s3:DeleteObjectVersion": lambda: s3.delete_object(Bucket=bucket, Key=key, VersionId=_VERSION),
        "s3:AbortMultipartUpload": lambda: s3.abort_multipart_upload(
            Bucket=bucket, Key=key, UploadId="matrix"
        ),
        "s3:ListBucket": lambda: s3.list_objects_v2(Bucket=bucket),
        "s3:PutBucketPolicy": lambda: s3.put_bucket_policy(
            Bucket=bucket,
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
                    ],
                }
            ),
        ),
        "s3:PutLifecycleConfiguration": lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket,
            LifecycleConfiguration={
                "Rules": [
                    {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
                ]
            },
        ),
    }
    return calls[action]


S3_ROWS = [row for row in ROWS if row.action.startswith("s3:")]


@pytest.fixture(scope="module")
def role_s3_clients(account: EmulatedAccount) -> dict[str, Any]:
    """An S3 client per matrix role, with that role's credentials."""
    clients = {}
    for name, entry in MATRIX.items():
        role_arn = account.deployment.roles[entry.role]
        service = STATES_SERVICE if name == "DocumentJob" else LAMBDA_SERVICE
        assert account.iam is not None
        credentials = account.iam.assume(role_arn, service, f"matrix-{name}")
        clients[name] = boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=account.deployment.region,
        ).client("s3", endpoint_url=account.endpoint, config=_NO_RETRIES)
    return clients


@pytest.mark.parametrize("row", S3_ROWS, ids=_row_id)
def test_s3_row_holds_under_enforcement(stack: Stack, role_s3_clients: dict[str, Any], row: Row) -> None:
    bucket, key = stack.key(row.resource)
    try:
        _s3_call(role_s3_clients[row.role], row.action, bucket, key)()
        denied = False
    except ClientError as error:
        code = error.response["Error"]["Code"]
        assert code not in _NOT_AN_ANSWER, f"{row}: {code}"
        # Anything but AccessDenied (NoSuchKey, NoSuchUpload, ...) came after IAM let the call through.
        denied = code == "AccessDenied"
    assert denied != row.allowed, f"{row}: {'denied' if denied else 'allowed'} by moto's enforcement"


def test_the_runtime_itself_cannot_use_the_default_local_credentials(account: EmulatedAccount) -> None:
    # Proof that enforcement is on: the keys every process had before are refused.
    s3 = boto3.client(
        "s3",
        endpoint_url=account.endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=_NO_RETRIES,
    )
    with pytest.raises(ClientError) as refused:
        s3.list_objects_v2(Bucket=account.deployment.outputs["RawBucketName"])
    assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"


# --- every weakening of the template breaks a row -------------------------------------------------------


def _mutations() -> Iterator[tuple[str, str, int, str]]:
    """(id, role, statement index, kind) for every single weakening of every role's policy."""
    cloudformation = translate(TEMPLATE, {}, region="us-east-1").cloudformation
    for name, entry in load_matrix().items():
        (policy,) = cloudformation["Resources"][entry.role]["Properties"]["Policies"]
        for index, written in enumerate(policy["PolicyDocument"]["Statement"]):
            statement = _unconditional(written)
            sid = statement.get("Sid", str(index))
            yield f"{name}-{sid}-dropped", entry.role, index, "drop"
            resources = (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )
            if resources != ["*"]:
                yield f"{name}-{sid}-resource-star", entry.role, index, "widen-resource"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(not action.endswith(":*") for action in actions):
                yield f"{name}-{sid}-action-star", entry.role, index, "widen-action"


def _unconditional(statement: dict[str, Any]) -> dict[str, Any]:
    """The statement, or the one a deployer option adds (``Fn::If [condition, statement, NoValue]``)."""
    if set(statement) == {"Fn::If"}:
        _condition, when_set, _otherwise = statement["Fn::If"]
        return dict(when_set)
    return statement


MUTATIONS = list(_mutations())


def mutate(cloudformation: dict[str, Any], role: str, index: int, kind: str) -> dict[str, Any]:
    """A copy of a translated template with one statement of one role dropped or widened."""
    mutated = copy.deepcopy(cloudformation)
    statements_ = mutated["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    if kind == "drop":
        del statements_[index]
        return mutated
    # A conditional statement is changed where it applies: in its Fn::If's first branch.
    written = statements_[index]
    statement = written["Fn::If"][1] if set(written) == {"Fn::If"} else written
    if kind == "widen-resource":
        statement["Resource"] = "*"
    else:
        actions = statement["Action"]
        services = sorted(
            {action.split(":")[0] for action in (actions if isinstance(actions, list) else [actions])}
        )
        statement["Action"] = [f"{service}:*" for service in services]
    return mutated


@pytest.mark.parametrize(("role", "index", "kind"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_weakening_one_statement_breaks_a_row(
    account: EmulatedAccount, options_stack: Stack, role: str, index: int, kind: str
) -> None:
    # With the options set, every statement applies, and every row (the options' too) must hold.
    mutated = mutate(account.template.cloudformation, role, index, kind)
    (name,) = [name for name, entry in OPTIONS_MATRIX.items() if entry.role == role]
    broken = [
        row
        for row in (*OPTIONS_MATRIX[name].allow, *OPTIONS_MATRIX[name].deny)
        if (_decide(account, options_stack, row, mutated) == Decision.ALLOWED) != row.allowed
    ]
    assert broken, f"{kind} of statement {index} of {role} breaks no row of the permission matrix"
