"""The permission matrix (permission_matrix.yaml) as typed rows, and what its names mean in a stack."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pagefan.local.emulator.intrinsics import Resolver, typed_parameters
from tests.security.policy import Request

MATRIX_PATH = Path(__file__).with_name("permission_matrix.yaml")


@dataclass(frozen=True)
class Row:
    """One call a role must be allowed (``allowed``) or denied."""

    role: str
    """The matrix name: a function's or the state machine's logical id."""
    action: str
    resource: str
    """Symbolic, as written in the matrix."""
    allowed: bool
    why: str = ""

    def __str__(self) -> str:
        verb = "may" if self.allowed else "may not"
        return f"{self.role} {verb} {self.action} on {self.resource}"


@dataclass(frozen=True)
class RoleEntry:
    """One role of the matrix."""

    name: str
    role: str
    """The logical id of its AWS::IAM::Role."""
    summary: str
    allow: tuple[Row, ...]
    deny: tuple[Row, ...]


def _rows(role: str, entries: list[list[str]], *, allowed: bool) -> tuple[Row, ...]:
    return tuple(
        Row(role, entry[0], entry[1], allowed, entry[2] if len(entry) > 2 else "") for entry in entries
    )


def load_matrix(path: Path = MATRIX_PATH, *, with_options: bool = False) -> dict[str, RoleEntry]:
    """The matrix by role name; every role also carries the rows every role must be denied.

    ``with_options``: the rows for a stack deployed with the deployer's options (the matrix's
    ``options``) as well: the base rows must hold there too.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    common = data.get("every_role", {}).get("deny", [])
    matrix = {
        name: RoleEntry(
            name=name,
            role=entry["role"],
            summary=entry["summary"],
            allow=_rows(name, entry.get("allow", []), allowed=True),
            deny=_rows(name, [*entry.get("deny", []), *common], allowed=False),
        )
        for name, entry in data["roles"].items()
    }
    if not with_options:
        return matrix
    return {
        name: RoleEntry(
            name=name,
            role=entry.role,
            summary=entry.summary,
            allow=(*entry.allow, *option_rows(name, data["options"], allowed=True)),
            deny=(*entry.deny, *option_rows(name, data["options"], allowed=False)),
        )
        for name, entry in matrix.items()
    }


def option_rows(name: str, options: Mapping[str, Any], *, allowed: bool) -> tuple[Row, ...]:
    """One role's rows that hold only when the stack is deployed with the deployer's options."""
    own = options.get("roles", {}).get(name, {})
    if allowed:
        in_vpc = options.get("functions_in_vpc", {})
        vpc = in_vpc.get("allow", []) if name in in_vpc.get("roles", []) else []
        return _rows(name, [*own.get("allow", []), *vpc], allowed=True)
    return _rows(name, [*own.get("deny", []), *options.get("every_role", {}).get("deny", [])], allowed=False)


def load_options(path: Path = MATRIX_PATH) -> Mapping[str, Any]:
    """The matrix's ``options`` section: the deployer's parameters and the rows they add."""
    options: Mapping[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))["options"]
    return options


def key_arn(region: str, account: str) -> str:
    """The KMS key the matrix's options deploy a stack with (``key``)."""
    return f"arn:aws:kms:{region}:{account}:key/0f0e0d0c-1111-4222-8333-444455556666"


def option_parameters(region: str, account: str, path: Path = MATRIX_PATH) -> dict[str, str]:
    """The template parameters of the matrix's options, ``key`` replaced by the key's ARN."""
    parameters = yaml.safe_load(path.read_text(encoding="utf-8"))["options"]["parameters"]
    return {
        name: key_arn(region, account) if value == "key" else str(value) for name, value in parameters.items()
    }


def all_rows(matrix: Mapping[str, RoleEntry]) -> Iterator[Row]:
    """Every row of every role."""
    for entry in matrix.values():
        yield from entry.allow
        yield from entry.deny


@dataclass(frozen=True)
class Stack:
    """The names of one deployed stack, for turning the matrix's symbolic resources into ARNs."""

    region: str
    account: str
    buckets: Mapping[str, str]
    """raw / work / results → bucket name."""
    resolver: Resolver

    def _arn(self, logical_id: str) -> str:
        return str(self.resolver.attributes[logical_id]["Arn"])

    def request(self, row: Row) -> Request:
        """The call a row describes: ``resource@service`` is a KMS call made through that service."""
        symbolic, _, service = row.resource.partition("@")
        context = {"kms:ViaService": f"{service}.{self.region}.amazonaws.com"} if service else {}
        return Request(row.action, self.resource(symbolic), context)

    def resource(self, symbolic: str) -> str:
        """The ARN a matrix resource stands for in this stack."""
        prefix = f"arn:aws:{{}}:{self.region}:{self.account}:"
        head, _, rest = symbolic.partition("/")
        if head in self.buckets:
            return f"arn:aws:s3:::{self.buckets[head]}" + (f"/{rest}" if rest else "")
        if symbolic.startswith("function:"):
            return self._arn(symbolic.removeprefix("function:"))
        if symbolic.startswith("logs:"):
            # The log group ARN ends with ":*"; a call names one stream of it.
            group = self._arn(symbolic.removeprefix("logs:")).removesuffix(":*")
            return f"{group}:log-stream:2026/01/01/[$LATEST]0123456789abcdef"
        fixed = {
            "table": self._arn("JobsTable"),
            "state-machine": self._arn("DocumentJob"),
            "bus": self._arn("JobEventBus"),
            "queue": self._arn("FailedInvocationsQueue"),
            "other-table": prefix.format("dynamodb") + "table/someone-elses-table",
            "other-state-machine": prefix.format("states") + "stateMachine:someone-elses-machine",
            "other-queue": prefix.format("sqs") + "someone-elses-queue",
            "other-function": prefix.format("lambda") + "function:someone-elses-function",
            "key": key_arn(self.region, self.account),
            "other-key": prefix.format("kms") + "key/9e8d7c6b-5555-4666-8777-888899990000",
            "eni": prefix.format("ec2") + "network-interface/eni-0123456789abcdef0",
            "other-eni": "arn:aws:ec2:eu-west-1:999999999999:network-interface/eni-0123456789abcdef0",
            "subnet": prefix.format("ec2") + "subnet/subnet-0a1b2c3d4e5f60718",
            "default-bus": prefix.format("events") + "event-bus/default",
            "*": "*",
        }
        if symbolic not in fixed:
            raise ValueError(f"the matrix names an unknown resource: {symbolic}")
        return fixed[symbolic]

    def key(self, symbolic: str) -> tuple[str, str]:
        """(bucket name, key) of an object resource; the key is empty for the bucket itself."""
        head, _, rest = symbolic.partition("/")
        return self.buckets[head], rest


def role_policies(cloudformation: Mapping[str, Any], resolver: Resolver, role: str) -> list[dict[str, Any]]:
    """The policy documents of one role of a translated template, resolved as deployed.

    Managed policies cannot be evaluated from the template: a role that has any is refused.
    """
    properties = copy.deepcopy(cloudformation["Resources"][role]["Properties"])
    if properties.get("ManagedPolicyArns"):
        raise ValueError(f"{role} has managed policies, which these checks cannot read: write them inline")
    resolved = resolver.resolve(properties.get("Policies", []))
    return [policy["PolicyDocument"] for policy in resolved]


def resolver_with(
    resolver: Resolver, cloudformation: Mapping[str, Any], parameters: Mapping[str, str]
) -> Resolver:
    """``resolver`` as it would resolve the same stack deployed with other parameter values."""
    other = Resolver(
        parameters={
            **resolver.parameters,
            **typed_parameters(cloudformation.get("Parameters", {}), parameters),
        },
        pseudo=resolver.pseudo,
        conditions=cloudformation.get("Conditions", {}),
        mappings=resolver.mappings,
    )
    other.refs.update(resolver.refs)
    other.attributes.update(resolver.attributes)
    return other


def held_policies(iam: Any, role_arn: str) -> list[dict[str, Any]]:
    """The inline policy documents an account's IAM holds for a role."""
    name = role_arn.rsplit("/", 1)[1]
    return [
        iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
    ]
