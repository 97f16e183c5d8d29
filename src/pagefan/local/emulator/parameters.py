"""Template parameter values, refused where CloudFormation would refuse them.

CloudFormation checks every value a stack is created with against its parameter's declaration
(Type, AllowedValues, AllowedPattern, MinValue/MaxValue, MinLength/MaxLength), refuses a name
the template does not declare, then evaluates the template's Rules. The deployer checks here
before it creates anything, and `pagefan` checks here before it starts an emulated account, so
that a bad value is one line naming the parameter, not a half-deployed account.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pagefan.local.emulator.intrinsics import Resolver, TemplateError, references, typed_parameters

# What CloudFormation takes as a Number: an integer or a decimal, with an optional exponent.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class ParameterError(TemplateError):
    """A parameter value (or name) the template refuses, as CloudFormation would refuse it."""


def check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    """Refuse a value that breaks its parameter's declaration, naming the parameter and the rule."""
    kind = str(spec.get("Type", "String"))
    if kind == "Number" and not _NUMBER.fullmatch(value.strip()):
        raise ParameterError(f"parameter {name}={value!r} is not a number")
    if kind == "List<Number>":
        for item in value.split(","):
            if not _NUMBER.fullmatch(item.strip()):
                raise ParameterError(f"parameter {name}={value!r} holds {item.strip()!r}, not a number")
    problems = []
    if kind == "Number":
        number = float(value)
        if "MinValue" in spec and number < float(spec["MinValue"]):
            problems.append(f"below its MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            problems.append(f"above its MaxValue {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        problems.append(f"shorter than its MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        problems.append(f"longer than its MaxLength {spec['MaxLength']}")
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        problems.append(f"not one of {spec['AllowedValues']}")
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        problems.append(f"not matching {spec['AllowedPattern']}")
    if problems:
        hint = f" ({spec['ConstraintDescription']})" if spec.get("ConstraintDescription") else ""
        raise ParameterError(f"parameter {name}={value!r} is " + " and ".join(problems) + hint)


def _unknown(name: str, declared: Mapping[str, Any]) -> ParameterError:
    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ParameterError(f"parameter {name} is not declared by the template{hint}")


def check_parameters(
    template: Mapping[str, Any], values: Mapping[str, str], *, pseudo: Mapping[str, str]
) -> dict[str, str]:
    """Every parameter's value (``values`` over the defaults), or ParameterError for the first bad one.

    ``template`` is a SAM or CloudFormation template as parsed; ``pseudo`` gives the pseudo
    parameters (AWS::Region ...) that its Rules may refer to.
    """
    declared: Mapping[str, Mapping[str, Any]] = template.get("Parameters") or {}
    for name in values:
        if name not in declared:
            raise _unknown(name, declared)
    chosen = {name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec}
    chosen.update(values)
    missing = [name for name in declared if name not in chosen]
    if missing:
        raise ParameterError(f"parameters without a value: {', '.join(missing)}")
    for name, spec in declared.items():
        check_parameter(name, spec, chosen[name])
    check_rules(template, chosen, pseudo=pseudo)
    return chosen


def check_rules(template: Mapping[str, Any], values: Mapping[str, str], *, pseudo: Mapping[str, str]) -> None:
    """Refuse values that break one of the template's Rules, naming the rule and its parameters."""
    declared = template.get("Parameters") or {}
    resolver = Resolver(
        parameters=typed_parameters(declared, values),
        pseudo=pseudo,
        conditions=template.get("Conditions") or {},
        mappings=template.get("Mappings") or {},
    )
    for name, rule in (template.get("Rules") or {}).items():
        if "RuleCondition" in rule and not resolver.resolve(rule["RuleCondition"]):
            continue
        for assertion in rule.get("Assertions", []):
            if not resolver.resolve(assertion["Assert"]):
                description = assertion.get("AssertDescription", "an assertion does not hold")
                involved = sorted(
                    {ref for ref in references(rule) if ref in declared}, key=list(declared).index
                )
                names = f" ({', '.join(involved)})" if involved else ""
                raise ParameterError(f"template rule {name}{names}: {description}")
