"""A small evaluator of identity-based IAM policies: does a role's policy allow this call?

AWS's logic for one principal's identity policies in its own account (no resource policies, no
session policies, no permission boundaries): an explicit Deny wins, else an Allow that matches,
else the call is implicitly denied. A statement matches when its Action (or NotAction) matches the
action, case-insensitively, with ``*`` and ``?`` wildcards; its Resource (or NotResource) matches
the ARN, case-sensitively, with the same wildcards (``*`` spans ``/`` and ``:`` too); and every
Condition holds for the request's context. A condition key absent from the context fails the
condition, except under an ``...IfExists`` operator. Condition operators outside the few the
template uses raise, rather than guess.

No library on PyPI evaluates this (policyuniverse parses and expands statements, parliament lints
them, cloudsplaining reports risks), and moto's evaluator reads an Allow whose condition it cannot
evaluate as a Deny and matches actions case-sensitively. The S3 rows of the permission matrix are
checked both here and by moto's enforcement, so the two keep each other honest.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any


class Decision(Enum):
    """The outcome of evaluating a request."""

    ALLOWED = "allowed"
    EXPLICITLY_DENIED = "explicitly denied"
    IMPLICITLY_DENIED = "implicitly denied"


@dataclass(frozen=True)
class Request:
    """One call: an action on a resource, with the condition keys the request carries."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@cache
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    # fnmatch.translate also gives meaning to [...], which IAM does not: escape brackets first.
    escaped = glob.replace("[", "\x00").replace("]", "\x01")
    regex = fnmatch.translate(escaped).replace("\x00", r"\[").replace("\x01", r"\]")
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def matches(glob: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM wildcard matching: ``*`` any run of characters, ``?`` any one character."""
    return _pattern(glob, ignore_case).fullmatch(value) is not None


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


_STRING_OPERATORS = {
    "StringEquals": lambda pattern, value: pattern == value,
    "StringNotEquals": lambda pattern, value: pattern != value,
    "StringEqualsIgnoreCase": lambda pattern, value: pattern.lower() == value.lower(),
    "StringLike": lambda pattern, value: matches(pattern, value),
    "StringNotLike": lambda pattern, value: not matches(pattern, value),
    "ArnEquals": lambda pattern, value: pattern == value,
    "ArnLike": lambda pattern, value: matches(pattern, value),
    "Bool": lambda pattern, value: str(pattern).lower() == value.lower(),
}
_NEGATED = {"StringNotEquals", "StringNotLike"}


def _condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in condition.items():
        name = operator.removesuffix("IfExists")
        if name not in _STRING_OPERATORS:
            raise ValueError(f"condition operator {operator} is not supported by this evaluator")
        compare = _STRING_OPERATORS[name]
        for key, patterns in keys.items():
            value = context.get(key)
            if value is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            results = [compare(str(pattern), value) for pattern in _as_list(patterns)]
            # A negated operator holds when the value matches none of the patterns.
            if not (all(results) if name in _NEGATED else any(results)):
                return False
    return True


def statement_applies(statement: Mapping[str, Any], request: Request) -> bool:
    """Whether one statement covers the request (its effect aside)."""
    if "Action" in statement:
        action_ok = any(matches(p, request.action, ignore_case=True) for p in _as_list(statement["Action"]))
    else:
        action_ok = not any(
            matches(p, request.action, ignore_case=True) for p in _as_list(statement["NotAction"])
        )
    if not action_ok:
        return False
    if "Resource" in statement:
        resource_ok = any(matches(p, request.resource) for p in _as_list(statement["Resource"]))
    else:
        resource_ok = not any(matches(p, request.resource) for p in _as_list(statement["NotResource"]))
    if not resource_ok:
        return False
    return _condition_holds(statement.get("Condition", {}), request.context)


def statements(documents: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every statement of some policy documents."""
    found: list[Mapping[str, Any]] = []
    for document in documents:
        found.extend(_as_list(document.get("Statement", [])))
    return found


def evaluate(documents: Sequence[Mapping[str, Any]], request: Request) -> Decision:
    """The decision for ``request`` under a principal's identity policy documents."""
    applicable = [s for s in statements(documents) if statement_applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applicable):
        return Decision.EXPLICITLY_DENIED
    if any(s["Effect"] == "Allow" for s in applicable):
        return Decision.ALLOWED
    return Decision.IMPLICITLY_DENIED
