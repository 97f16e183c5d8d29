"""The stack deployed with the deployer's options: its own KMS key and a VPC (README "Security").

moto records the key and the VPC configuration but does not call KMS or attach network
interfaces, so what this proves is the deployment: every data store and every object written
names the key, every function the subnets, and the roles the account holds carry exactly the
option statements that tests/security/test_permission_matrix.py evaluates.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pagefan.formats.jobs_table import JobStatus
from pagefan.local.emulator.account import REGION, EmulatedAccount
from pagefan.local.emulator.intrinsics import TemplateError
from pagefan.local.emulator.stack import ACCOUNT_ID
from tests.documents import make_sample_pdf
from tests.integration.pipeline import TEMPLATE, pipeline
from tests.security.matrix import held_policies, load_matrix, load_options, option_parameters, role_policies
from tests.security.policy import statements

pytestmark = pytest.mark.slow

OPTIONS = option_parameters(REGION, ACCOUNT_ID)


def test_with_the_options_every_object_and_data_store_uses_the_key(tmp_path: Path) -> None:
    key = OPTIONS["KmsKeyArn"]
    # GIVEN the stack deployed with a key and subnets, IAM enforced
    with pipeline(tmp_path, parameters=OPTIONS, enforce_iam=True) as stack:
        # WHEN a document runs through it
        record = stack.run(make_sample_pdf(3), "report.pdf")

        # THEN it completes, with every role as deployed
        assert record.status == JobStatus.COMPLETED, record.error
        account = stack.account
        outputs = account.deployment.outputs
        s3 = account.client("s3")
        # and every object of every bucket, the upload included, is encrypted with the key
        written = 0
        for bucket in (outputs["RawBucketName"], outputs["WorkBucketName"], outputs["ResultsBucketName"]):
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == key
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    head = s3.head_object(Bucket=bucket, Key=item["Key"])
                    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key), item[
                        "Key"
                    ]
                    written += 1
        assert written >= 1 + 3 + 3 + 3  # the upload, pages, page results, SVGs (and the rest)
        # the table and the queue too
        table = account.client("dynamodb").describe_table(TableName=outputs["JobsTableName"])["Table"]
        assert (table["SSEDescription"]["SSEType"], table["SSEDescription"]["KMSMasterKeyArn"]) == (
            "KMS",
            key,
        )
        queue = account.client("sqs").get_queue_attributes(
            QueueUrl=outputs["FailedInvocationsQueueUrl"], AttributeNames=["KmsMasterKeyId"]
        )
        assert queue["Attributes"]["KmsMasterKeyId"] == key
        # and the roles the account holds are the ones the permission matrix evaluates with the options
        # (a role the matrix gives no key row, JobMetrics's, gets no key statement either)
        iam = account.client("iam")
        key_users = {name for name, rows in load_options()["roles"].items() if rows.get("allow")}
        for entry in load_matrix().values():
            held = held_policies(iam, account.deployment.roles[entry.role])
            evaluated = role_policies(account.template.cloudformation, account.resolver, entry.role)
            assert statements(held) == statements(evaluated), entry.role
            sids = {statement.get("Sid") for statement in statements(held)}
            assert ("UseStackKey" in sids) == (entry.name in key_users), entry.role


def test_with_the_options_every_function_runs_in_the_subnets(tmp_path: Path) -> None:
    with EmulatedAccount(TEMPLATE, work_dir=tmp_path, parameters=OPTIONS, deliver_events=False) as account:
        functions = account.client("lambda")
        for spec in account.deployment.functions.values():
            vpc = functions.get_function_configuration(FunctionName=spec.name)["VpcConfig"]
            assert vpc["SubnetIds"] == OPTIONS["SubnetIds"].split(","), spec.logical_id
            assert vpc["SecurityGroupIds"] == OPTIONS["SecurityGroupIds"].split(","), spec.logical_id


def test_without_the_options_buckets_use_sse_s3_and_no_function_is_in_a_vpc(tmp_path: Path) -> None:
    with EmulatedAccount(TEMPLATE, work_dir=tmp_path, deliver_events=False) as account:
        outputs = account.deployment.outputs
        s3 = account.client("s3")
        for bucket in (outputs["RawBucketName"], outputs["WorkBucketName"], outputs["ResultsBucketName"]):
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        functions = account.client("lambda")
        for spec in account.deployment.functions.values():
            vpc = functions.get_function_configuration(FunctionName=spec.name).get("VpcConfig", {})
            assert not vpc.get("SubnetIds"), spec.logical_id
        iam = account.client("iam")
        for entry in load_matrix().values():
            held = held_policies(iam, account.deployment.roles[entry.role])
            sids = {statement.get("Sid") for statement in statements(held)}
            assert not sids & {"UseStackKey", "ManageNetworkInterfaces", "DescribeNetworkInterfaces"}


def test_subnets_without_security_groups_are_refused_before_anything_is_deployed(tmp_path: Path) -> None:
    # CloudFormation refuses the parameters by the template's rule; so does the local deployment.
    refused = pytest.raises(TemplateError, match="SubnetIds and SecurityGroupIds are set together")
    with (
        refused,
        EmulatedAccount(TEMPLATE, work_dir=tmp_path, parameters={"SubnetIds": OPTIONS["SubnetIds"]}),
    ):
        pass  # pragma: no cover - the deployment is refused


def test_the_alarm_topic_takes_the_key_and_only_the_stacks_alarms_may_publish(tmp_path: Path) -> None:
    # GIVEN the deployer's options and an address to notify (no topic of their own)
    parameters = {**OPTIONS, "AlarmEmail": "operations@example.com"}
    with EmulatedAccount(TEMPLATE, work_dir=tmp_path, parameters=parameters, deliver_events=False) as account:
        resources = account.template.cloudformation["Resources"]
        resolve = account.resolver.resolve
        # THEN the stack makes a topic under the stack's key, with that subscription
        assert account.resolver.condition("CreatesAlarmTopic")
        topic = resolve(resources["AlarmTopic"]["Properties"])
        assert topic["KmsMasterKeyId"] == OPTIONS["KmsKeyArn"]
        assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": "operations@example.com"}]
        # whose policy lets CloudWatch publish for this stack's alarms only, and only over TLS
        policy = resolve(resources["AlarmTopicPolicy"]["Properties"])
        assert policy["Topics"] == [account.resolver.refs["AlarmTopic"]]
        allow, deny = policy["PolicyDocument"]["Statement"]
        assert (allow["Effect"], allow["Principal"], allow["Action"]) == (
            "Allow",
            {"Service": "cloudwatch.amazonaws.com"},
            "sns:Publish",
        )
        assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
        alarm_arns = allow["Condition"]["ArnLike"]["aws:SourceArn"]
        assert alarm_arns == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{account.stack_name}-*"
        assert (deny["Effect"], deny["Action"], deny["Condition"]) == (
            "Deny",
            "sns:Publish",
            {"Bool": {"aws:SecureTransport": "false"}},
        )
        # and every alarm is one of those, notifying the topic on ALARM and on OK
        alarms = account.client("cloudwatch").describe_alarms()["MetricAlarms"]
        assert len(alarms) == sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in resources.values())
        for alarm in alarms:
            assert alarm["AlarmArn"].startswith(alarm_arns.removesuffix("*"))
            assert alarm["AlarmActions"] == alarm["OKActions"] == [account.resolver.refs["AlarmTopic"]]


def test_with_a_topic_of_the_deployers_the_alarms_notify_it_and_no_topic_is_made(tmp_path: Path) -> None:
    theirs = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:operations"
    parameters = {"AlarmTopicArn": theirs, "AlarmEmail": "ignored@example.com"}
    with EmulatedAccount(TEMPLATE, work_dir=tmp_path, parameters=parameters, deliver_events=False) as account:
        assert not account.resolver.condition("CreatesAlarmTopic")
        assert account.deployment.outputs["AlarmTopicArn"] == theirs
        alarms = account.client("cloudwatch").describe_alarms()["MetricAlarms"]
        assert alarms and all(alarm["AlarmActions"] == alarm["OKActions"] == [theirs] for alarm in alarms)
