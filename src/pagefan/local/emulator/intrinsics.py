"""CloudFormation intrinsic functions, resolved the way CloudFormation resolves them.

Enough of the language for a translated SAM template: Ref, Fn::GetAtt, Fn::Sub, Fn::Join,
Fn::If and the condition functions, Fn::Select, Fn::Split, Fn::FindInMap, Fn::Base64, the
pseudo parameters, and the rule function Fn::EachMemberEquals (for the template's Rules).
Anything else is an error naming the function, never a silent guess.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping
from typing import Any


class TemplateError(Exception):
    """The template uses something the local runtime cannot resolve."""


class _NoValue:
    """AWS::NoValue: the property is removed."""


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def typed_parameters(
    specs: Mapping[str, Mapping[str, Any]], values: Mapping[str, str]
) -> dict[str, str | list[str]]:
    """Parameter values as Ref returns them: a CommaDelimitedList is a list, anything else text."""
    return {
        name: [item.strip() for item in value.split(",")]
        if specs.get(name, {}).get("Type") == "CommaDelimitedList"
        else value
        for name, value in values.items()
    }


class Resolver:
    """Resolve intrinsics against parameters, pseudo parameters and created resources."""

    def __init__(
        self,
        *,
        parameters: Mapping[str, str | list[str]],
        pseudo: Mapping[str, str],
        conditions: Mapping[str, Any],
        mappings: Mapping[str, Any] | None = None,
    ) -> None:
        self.parameters = dict(parameters)
        self.pseudo = dict(pseudo)
        self._condition_definitions = dict(conditions)
        self._condition_values: dict[str, bool] = {}
        self.mappings = dict(mappings or {})
        self.refs: dict[str, str] = {}
        """Logical id → what Ref returns, for resources created so far."""
        self.attributes: dict[str, dict[str, str]] = {}
        """Logical id → attribute name → value (Fn::GetAtt)."""

    def condition(self, name: str) -> bool:
        """The value of a named template condition."""
        if name not in self._condition_values:
            if name not in self._condition_definitions:
                raise TemplateError(f"unknown condition {name}")
            self._condition_values[name] = bool(self.resolve(self._condition_definitions[name]))
        return self._condition_values[name]

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its result."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref":
                return self._ref(argument)
            if name == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if name.startswith("Fn::"):
                return self._function(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        raise TemplateError(f"Ref to {name}, which is neither a parameter nor a created resource")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not known locally") from None

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self.attributes:
                return self._get_att(*name.split(".", 1))
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            parts = argument.split(".", 1) if isinstance(argument, str) else argument
            return self._get_att(str(parts[0]), str(self.resolve(parts[1])))
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Join":
            separator, items = argument
            return str(separator).join(str(item) for item in self.resolve(items))
        if name == "Fn::If":
            condition, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition) else when_false)
        if name == "Fn::Equals":
            left, right = (self.resolve(item) for item in argument)
            return str(left) == str(right)
        if name == "Fn::Not":
            return not self.resolve(argument[0])
        if name == "Fn::And":
            return all(self.resolve(item) for item in argument)
        if name == "Fn::Or":
            return any(self.resolve(item) for item in argument)
        if name == "Fn::EachMemberEquals":
            members, expected = argument
            return all(str(member) == str(self.resolve(expected)) for member in self.resolve(members))
        if name == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if name == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if name == "Fn::FindInMap":
            mapping, top, second = (self.resolve(item) for item in argument)
            return self.mappings[mapping][top][second]
        if name == "Fn::Base64":
            return base64.b64encode(str(self.resolve(argument)).encode()).decode()
        if name == "Fn::GetAZs":
            region = self.pseudo["AWS::Region"]
            return [f"{region}a", f"{region}b", f"{region}c"]
        raise TemplateError(f"{name} is not supported by the local runtime")


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter name ``value`` refers to (Ref, GetAtt, Sub variables)."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for name, argument in value.items():
            if name == "Ref" and isinstance(argument, str):
                yield argument
            elif name == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                yield str(parts[0])
            elif name == "Fn::Sub":
                text = argument[0] if isinstance(argument, list) else argument
                for match in _SUB_VARIABLE.finditer(str(text)):
                    yield match.group(1).split(".", 1)[0].strip()
                if isinstance(argument, list):
                    yield from references(argument[1])
            else:
                yield from references(argument)
