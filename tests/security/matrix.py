"""The permission matrix (permission_matrix.yaml) as typed rows, and what its names mean in a stack."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pagefan.local.intrinsics import Resolver

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


def load_matrix(path: Path = MATRIX_PATH) -> dict[str, RoleEntry]:
    """The matrix by role name; every role also carries the rows every role must be denied."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    common = data.get("every_role", {}).get("deny", [])
    return {
        name: RoleEntry(
            name=name,
            role=entry["role"],
            summary=entry["summary"],
            allow=_rows(name, entry.get("allow", []), allowed=True),
            deny=_rows(name, [*entry.get("deny", []), *common], allowed=False),
        )
        for name, entry in data["roles"].items()
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
