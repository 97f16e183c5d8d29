"""Deploying a translated template into the emulated account, resource by resource.

Every resource is created through the public AWS API of the emulated account (boto3 against
moto), in dependency order, with the names and properties the template gives. What the
runtime needs to run functions locally (handler, environment, memory, timeout, retry policy,
failure destination) is read from the same resources; nothing is restated in Python.
"""

from __future__ import annotations

import io
import json
import logging
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from pagefan.local.emulator.intrinsics import Resolver, TemplateError, references, typed_parameters
from pagefan.local.emulator.parameters import check_parameters
from pagefan.local.emulator.template import TranslatedTemplate

_LOG = logging.getLogger(__name__)
ACCOUNT_ID = "123456789012"


@dataclass
class FunctionSpec:
    """One Lambda function as the template defines it."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    environment: dict[str, str]
    memory_mb: int
    timeout_s: int
    role_arn: str
    runtime: str = "python3.13"
    reserved_concurrency: int | None = None
    max_retry_attempts: int = 2
    maximum_event_age_s: int = 21600
    """How long Lambda keeps an asynchronous event it has not yet run (EventInvokeConfig; 6 h by default)."""
    on_failure_destination: str | None = None
    log_group: str = ""
    """The LoggingConfig's log group ("" for Lambda's default, /aws/lambda/<name>)."""


@dataclass
class S3Subscription:
    """An S3 notification of the template: events on a bucket routed to a function."""

    bucket: str
    function_arn: str
    events: list[str]
    prefix: str = ""
    suffix: str = ""


@dataclass
class QueueSubscription:
    """An SQS event source mapping of the template: a queue polled for a function."""

    queue_arn: str
    function: str
    batch_size: int = 10
    report_batch_item_failures: bool = False


@dataclass
class Deployment:
    """What a deployed template consists of, by logical id and by physical name."""

    stack_name: str
    region: str
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    subscriptions: list[S3Subscription] = field(default_factory=list)
    queue_subscriptions: list[QueueSubscription] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    physical_ids: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    """Role logical id → role ARN."""
    not_emulated: list[str] = field(default_factory=list)

    def function_by_arn(self, arn_or_name: str) -> FunctionSpec:
        """The function an ARN (qualified or not) or a name designates."""
        for spec in self.functions.values():
            if arn_or_name in (spec.arn, spec.name) or arn_or_name.startswith(spec.arn + ":"):
                return spec
        raise KeyError(f"no function {arn_or_name} in this deployment")


def _physical_name(stack: str, logical_id: str, *, lower: bool = False, limit: int = 63) -> str:
    name = f"{stack}-{logical_id}"
    if lower:
        name = re.sub(r"[^a-z0-9-]", "-", name.lower())
    return name[:limit]


def pseudo_parameters(*, region: str, stack_name: str) -> dict[str, str]:
    """The pseudo parameters of a stack of that name in the emulated account."""
    return {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
    }


def _denies_plain_http(statement: dict[str, Any]) -> bool:
    """Whether a policy statement is the usual TLS-only Deny (aws:SecureTransport false)."""
    condition = statement.get("Condition", {})
    secure = condition.get("Bool", {}).get("aws:SecureTransport")
    return (
        statement.get("Effect") == "Deny" and list(condition) == ["Bool"] and str(secure).lower() == "false"
    )


class StackDeployer:
    """Creates a translated template's resources in an (emulated) account."""

    def __init__(self, client: Callable[[str], Any], *, stack_name: str, region: str) -> None:
        self._client = client
        self.deployment = Deployment(stack_name=stack_name, region=region)
        self._region = region
        self._creators: dict[str, Callable[[str, dict[str, Any]], None]] = {
            "AWS::S3::Bucket": self._bucket,
            "AWS::S3::BucketPolicy": self._bucket_policy,
            "AWS::DynamoDB::Table": self._table,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._event_rule,
            "AWS::IAM::Role": self._role,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::EventInvokeConfig": self._event_invoke_config,
            "AWS::Lambda::Permission": self._permission,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::CloudWatch::Alarm": self._alarm,
            "AWS::CloudWatch::Dashboard": self._dashboard,
        }

    # --- driver ---------------------------------------------------------------------------

    def deploy(self, template: TranslatedTemplate, parameter_values: dict[str, str]) -> Deployment:
        """Create every resource the template defines (its conditions permitting)."""
        cfn = template.cloudformation
        self._template = template
        pseudo = pseudo_parameters(region=self._region, stack_name=self.deployment.stack_name)
        # CloudFormation refuses the stack before it creates anything: so does the deployer.
        parameters = check_parameters(cfn, parameter_values, pseudo=pseudo)
        self.resolver = Resolver(
            parameters=typed_parameters(cfn.get("Parameters", {}), parameters),
            pseudo=pseudo,
            conditions=cfn.get("Conditions", {}),
            mappings=cfn.get("Mappings", {}),
        )
        resources: dict[str, dict[str, Any]] = cfn["Resources"]
        graph: dict[str, set[str]] = {}
        for logical_id, resource in resources.items():
            needs = set(references(resource.get("Properties", {})))
            depends = resource.get("DependsOn", [])
            needs.update([depends] if isinstance(depends, str) else depends)
            graph[logical_id] = {name for name in needs if name in resources}
        for logical_id in TopologicalSorter(graph).static_order():
            resource = resources[logical_id]
            condition = resource.get("Condition")
            if condition and not self.resolver.condition(condition):
                continue
            creator = self._creators.get(resource["Type"])
            if creator is None:
                self.deployment.not_emulated.append(f"{logical_id} ({resource['Type']})")
                self.resolver.refs[logical_id] = logical_id
                continue
            _LOG.debug("creating %s (%s)", logical_id, resource["Type"])
            creator(logical_id, self.resolver.resolve(resource.get("Properties", {})))
        for name, output in cfn.get("Outputs", {}).items():
            condition = output.get("Condition")
            if condition and not self.resolver.condition(condition):
                continue
            self.deployment.outputs[name] = str(self.resolver.resolve(output["Value"]))
        return self.deployment

    def _created(self, logical_id: str, ref: str, **attributes: str) -> None:
        self.resolver.refs[logical_id] = ref
        self.resolver.attributes[logical_id] = dict(attributes)
        self.deployment.physical_ids[logical_id] = ref

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self._region}:{ACCOUNT_ID}:{resource}"

    # --- resources ------------------------------------------------------------------------

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        s3 = self._client("s3")
        name = props.get("BucketName") or _physical_name(self.deployment.stack_name, logical_id, lower=True)
        kwargs: dict[str, Any] = {"Bucket": name}
        if self._region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
        s3.create_bucket(**kwargs)
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if "BucketEncryption" in props:
            # CloudFormation says ServerSideEncryptionByDefault where the API says Apply...
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    **({"BucketKeyEnabled": rule["BucketKeyEnabled"]} if "BucketKeyEnabled" in rule else {}),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "LifecycleConfiguration" in props:
            rules = []
            for rule in props["LifecycleConfiguration"]["Rules"]:
                converted: dict[str, Any] = {"ID": rule.get("Id", "rule"), "Status": rule["Status"]}
                converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
                if "ExpirationInDays" in rule:
                    converted["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
                if "AbortIncompleteMultipartUpload" in rule:
                    days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
                    converted["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
                rules.append(converted)
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        for config in props.get("NotificationConfiguration", {}).get("LambdaConfigurations", []):
            rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            by_name = {rule["Name"].lower(): rule["Value"] for rule in rules}
            self.deployment.subscriptions.append(
                S3Subscription(
                    bucket=name,
                    function_arn=config["Function"],
                    events=[config["Event"]],
                    prefix=by_name.get("prefix", ""),
                    suffix=by_name.get("suffix", ""),
                )
            )
        self._created(
            logical_id,
            name,
            Arn=f"arn:aws:s3:::{name}",
            DomainName=f"{name}.s3.amazonaws.com",
            RegionalDomainName=f"{name}.s3.{self._region}.amazonaws.com",
        )

    def _bucket_policy(self, logical_id: str, props: dict[str, Any]) -> None:
        document = dict(props["PolicyDocument"])
        statements = document.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [statement for statement in statements if not _denies_plain_http(statement)]
        if len(kept) != len(statements):
            # moto ignores Condition, so this Deny would refuse every request; on AWS it never
            # matches SDK traffic, which is always TLS. The local endpoint is plain HTTP.
            self.deployment.not_emulated.append(f"{logical_id}: TLS-only statement (aws:SecureTransport)")
        if kept:
            document["Statement"] = kept
            self._client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(document))
        self._created(logical_id, props["Bucket"])

    def _table(self, logical_id: str, props: dict[str, Any]) -> None:
        dynamodb = self._client("dynamodb")
        name = props.get("TableName") or _physical_name(self.deployment.stack_name, logical_id, limit=255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        if "ProvisionedThroughput" in props:
            kwargs["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        for key in ("GlobalSecondaryIndexes", "StreamSpecification"):
            if key in props:
                kwargs[key] = props[key]
        if "SSESpecification" in props:
            # CloudFormation says SSEEnabled/KMSMasterKeyId where the API says Enabled/...
            sse = props["SSESpecification"]
            kwargs["SSESpecification"] = {
                "Enabled": bool(sse.get("SSEEnabled", False)),
                **{k: sse[k] for k in ("SSEType", "KMSMasterKeyId") if k in sse},
            }
        dynamodb.create_table(**kwargs)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        pitr = props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        if pitr:
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        self._created(logical_id, name, Arn=self._arn("dynamodb", f"table/{name}"))

    def _queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or _physical_name(self.deployment.stack_name, logical_id, limit=80)
        attributes: dict[str, str] = {
            key: str(props[key])
            for key in (
                "MessageRetentionPeriod",
                "VisibilityTimeout",
                "SqsManagedSseEnabled",
                "KmsMasterKeyId",
                "KmsDataKeyReusePeriodSeconds",
            )
            if key in props
        }
        # JSON documents in the API, objects in the template.
        for key in ("RedrivePolicy", "RedriveAllowPolicy"):
            if key in props:
                attributes[key] = json.dumps(props[key])
        url = self._client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self._created(logical_id, url, Arn=self._arn("sqs", name), QueueName=name, QueueUrl=url)

    def _event_bus(self, logical_id: str, props: dict[str, Any]) -> None:
        arn = self._client("events").create_event_bus(Name=props["Name"])["EventBusArn"]
        self._created(logical_id, props["Name"], Arn=arn, Name=props["Name"])

    def _event_rule(self, logical_id: str, props: dict[str, Any]) -> None:
        events = self._client("events")
        name = props.get("Name") or _physical_name(self.deployment.stack_name, logical_id, limit=64)
        kwargs: dict[str, Any] = {"Name": name, "State": props.get("State", "ENABLED")}
        if "EventBusName" in props:
            kwargs["EventBusName"] = props["EventBusName"]
        if "EventPattern" in props:
            kwargs["EventPattern"] = json.dumps(props["EventPattern"])
        if "ScheduleExpression" in props:
            kwargs["ScheduleExpression"] = props["ScheduleExpression"]
        arn = events.put_rule(**kwargs)["RuleArn"]
        targets = [{k: v for k, v in target.items()} for target in props.get("Targets", [])]
        if targets:
            bus = {"EventBusName": props["EventBusName"]} if "EventBusName" in props else {}
            events.put_targets(Rule=name, Targets=targets, **bus)
        self._created(logical_id, name, Arn=arn)

    def _role(self, logical_id: str, props: dict[str, Any]) -> None:
        iam = self._client("iam")
        name = props.get("RoleName") or _physical_name(self.deployment.stack_name, logical_id, limit=64)
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": props.get("Path", "/"),
            "AssumeRolePolicyDocument": json.dumps(props["AssumeRolePolicyDocument"]),
        }
        if props.get("PermissionsBoundary"):
            kwargs["PermissionsBoundary"] = props["PermissionsBoundary"]
        arn = iam.create_role(**kwargs)["Role"]["Arn"]
        for policy_arn in props.get("ManagedPolicyArns", []):
            try:
                iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            except iam.exceptions.NoSuchEntityException:
                # AWS managed policies moto does not ship (logging, X-Ray): nothing to enforce locally.
                self.deployment.not_emulated.append(f"{logical_id}: managed policy {policy_arn}")
        for policy in props.get("Policies", []):
            # SAM writes its destination policies without a Version; AWS accepts that, moto does not.
            document = {"Version": "2012-10-17", **policy["PolicyDocument"]}
            iam.put_role_policy(
                RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(document)
            )
        self.deployment.roles[logical_id] = arn
        self._created(logical_id, name, Arn=arn, RoleId=name)

    def _log_group(self, logical_id: str, props: dict[str, Any]) -> None:
        logs = self._client("logs")
        name = props.get("LogGroupName") or _physical_name(self.deployment.stack_name, logical_id, limit=512)
        logs.create_log_group(logGroupName=name)
        if "RetentionInDays" in props:
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(props["RetentionInDays"]))
        self._created(logical_id, name, Arn=self._arn("logs", f"log-group:{name}:*"))

    def _layer(self, logical_id: str, props: dict[str, Any]) -> None:
        # Layers are not installed locally: the runtime's virtual environment holds the same packages.
        name = props.get("LayerName") or logical_id
        self._created(logical_id, self._arn("lambda", f"layer:{name}:1"))

    def _function(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("FunctionName") or _physical_name(self.deployment.stack_name, logical_id, limit=64)
        arn = self._arn("lambda", f"function:{name}")
        code_dir = self._template.code_uris.get(logical_id)
        if code_dir is None:
            raise TemplateError(f"{logical_id} has no local CodeUri to run")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("README", "Handlers run from the CodeUri on this machine; see pagefan.local.")
        self._client("lambda").create_function(
            FunctionName=name,
            Runtime=props.get("Runtime", "python3.13"),
            Role=props["Role"],
            Handler=props["Handler"],
            Code={"ZipFile": archive.getvalue()},
            MemorySize=int(props.get("MemorySize", 128)),
            Timeout=int(props.get("Timeout", 3)),
            Environment={
                "Variables": {k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()}
            },
            **({"LoggingConfig": props["LoggingConfig"]} if "LoggingConfig" in props else {}),
            # Recorded, not emulated: locally every environment reaches the emulated account directly.
            **({"VpcConfig": props["VpcConfig"]} if "VpcConfig" in props else {}),
        )
        reserved = props.get("ReservedConcurrentExecutions")
        self.deployment.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=arn,
            handler=props["Handler"],
            code_dir=code_dir,
            environment={k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()},
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_s=int(props.get("Timeout", 3)),
            role_arn=props["Role"],
            runtime=str(props.get("Runtime", "python3.13")),
            reserved_concurrency=None if reserved is None else int(reserved),
            log_group=str(props.get("LoggingConfig", {}).get("LogGroup", "")),
        )
        self._created(logical_id, name, Arn=arn)

    def _event_invoke_config(self, logical_id: str, props: dict[str, Any]) -> None:
        spec = self.deployment.function_by_arn(props["FunctionName"])
        spec.max_retry_attempts = int(props.get("MaximumRetryAttempts", 2))
        spec.maximum_event_age_s = int(props.get("MaximumEventAgeInSeconds", 21600))
        # Lambda refuses the configuration outside these bounds, and so the stack's creation.
        if not 60 <= spec.maximum_event_age_s <= 21600:
            raise TemplateError(
                f"{logical_id}: MaximumEventAgeInSeconds {spec.maximum_event_age_s} "
                "is outside Lambda's 60 to 21600"
            )
        spec.on_failure_destination = (
            props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        self._created(logical_id, f"{spec.name}:{props.get('Qualifier', '$LATEST')}")

    def _event_source_mapping(self, logical_id: str, props: dict[str, Any]) -> None:
        source = str(props["EventSourceArn"])
        if not source.startswith("arn:aws:sqs:"):
            self.deployment.not_emulated.append(f"{logical_id} (event source {source})")
        else:
            self.deployment.queue_subscriptions.append(
                QueueSubscription(
                    queue_arn=source,
                    function=str(props["FunctionName"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
        self._created(logical_id, logical_id)

    def _permission(self, logical_id: str, props: dict[str, Any]) -> None:
        # Resource policies on functions are not evaluated locally; the routing is the template's.
        self._created(logical_id, logical_id)

    def _alarm(self, logical_id: str, props: dict[str, Any]) -> None:
        # Recorded as deployed (describe_alarms shows them); moto evaluates no alarm.
        name = props.get("AlarmName") or _physical_name(self.deployment.stack_name, logical_id, limit=255)
        numbers = {"Period": int, "EvaluationPeriods": int, "DatapointsToAlarm": int, "Threshold": float}
        alarm = {
            key: numbers.get(key, lambda v: v)(value) for key, value in props.items() if key != "AlarmName"
        }
        for query in alarm.get("Metrics", []):  # metric math: each metric's own period
            if "MetricStat" in query:
                query["MetricStat"]["Period"] = int(query["MetricStat"]["Period"])
        self._client("cloudwatch").put_metric_alarm(AlarmName=name, **alarm)
        self._created(logical_id, name, Arn=self._arn("cloudwatch", f"alarm:{name}"))

    def _dashboard(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("DashboardName") or _physical_name(self.deployment.stack_name, logical_id)
        self._client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
        self._created(logical_id, name)

    def _state_machine(self, logical_id: str, props: dict[str, Any]) -> None:
        path = self._template.definition_uris.get(logical_id)
        if path is not None:
            definition = path.read_text(encoding="utf-8")
        elif "DefinitionString" in props:
            definition = props["DefinitionString"]
        else:
            raise TemplateError(f"{logical_id} has no definition the local runtime can read")
        for name, value in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + name + "}", str(value))
        leftover = re.findall(r"\$\{[A-Za-z0-9_]+\}", definition)
        if leftover:
            raise TemplateError(
                f"{logical_id}: no DefinitionSubstitutions for {', '.join(sorted(set(leftover)))}"
            )
        name = props.get("StateMachineName") or _physical_name(
            self.deployment.stack_name, logical_id, limit=80
        )
        logging: dict[str, Any] = {}
        if (
            "LoggingConfiguration" in props
        ):  # recorded (describe_state_machine shows it); moto writes no lines
            config = props["LoggingConfiguration"]
            logging["loggingConfiguration"] = {
                "level": config.get("Level", "OFF"),
                "includeExecutionData": bool(config.get("IncludeExecutionData", False)),
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": d["CloudWatchLogsLogGroup"]["LogGroupArn"]}}
                    for d in config.get("Destinations", [])
                ],
            }
        arn = self._client("stepfunctions").create_state_machine(
            name=name,
            definition=definition,
            roleArn=props["RoleArn"],
            type=props.get("StateMachineType", "STANDARD"),
            **logging,
        )["stateMachineArn"]
        self._created(logical_id, arn, Arn=arn, Name=name)
