"""template.yaml as a scanner should see it for given parameters: every condition decided.

checkov skips an IAM policy that holds an ``Fn::If``, so the roles' checks would silently stop
running once a deployer option adds a conditional statement. ``make lint`` therefore scans the
template as written and once per variant written here (the defaults, and every option set), in
which each ``Fn::If`` is replaced by its chosen branch and each resource or output whose condition
is false is left out. Every other intrinsic is kept as written.

    python -m pagefan.local.emulator.template_variants template.yaml OUT.yaml [Name=Value ...]

Bad arguments print the usage and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from pagefan.local.emulator.intrinsics import Resolver, typed_parameters
from pagefan.local.emulator.template import load_template

_NO_VALUE = {"Ref": "AWS::NoValue"}


def decide_conditions(template: Mapping[str, Any], parameter_values: Mapping[str, str]) -> dict[str, Any]:
    """A copy of ``template`` with its conditions decided for ``parameter_values``."""
    specs = template.get("Parameters", {})
    values = {name: str(spec["Default"]) for name, spec in specs.items() if "Default" in spec}
    values.update(parameter_values)
    resolver = Resolver(
        parameters=typed_parameters(specs, values),
        pseudo={"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"},
        conditions=template.get("Conditions", {}),
    )

    def decide(value: Any) -> Any:
        if isinstance(value, list):
            return [decided for decided in map(decide, value) if decided != _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            return decide(when_true if resolver.condition(condition) else when_false)
        decided = {key: decide(item) for key, item in value.items()}
        return {key: item for key, item in decided.items() if item != _NO_VALUE}

    variant = dict(template)
    for section in ("Resources", "Outputs"):
        variant[section] = {
            name: decide(body)
            for name, body in template.get(section, {}).items()
            if "Condition" not in body or resolver.condition(body["Condition"])
        }
    if "Globals" in template:
        variant["Globals"] = decide(template["Globals"])
    return variant


def _assignment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not Name=Value")
    return name, value


def main(argv: list[str] | None = None) -> int:
    """Write one variant of a template: ``SOURCE OUT [Name=Value ...]``."""
    parser = argparse.ArgumentParser(
        prog="python -m pagefan.local.emulator.template_variants",
        description="Write TEMPLATE with every condition decided for the given parameter values.",
    )
    parser.add_argument("source", type=Path, metavar="TEMPLATE", help="the template to read")
    parser.add_argument("out", type=Path, metavar="OUT", help="where to write the variant")
    parser.add_argument(
        "parameters",
        nargs="*",
        default=[],
        type=_assignment,
        metavar="Name=Value",
        help="parameter values (else defaults)",
    )
    args = parser.parse_args(argv)
    try:
        template = load_template(args.source)
    except (OSError, ValueError, yaml.YAMLError) as problem:
        parser.error(f"cannot read {args.source}: {problem}")
    variant = decide_conditions(template, dict(args.parameters))
    try:
        args.out.write_text(yaml.safe_dump(variant, sort_keys=False, width=120), encoding="utf-8")
    except OSError as problem:
        parser.error(f"cannot write {args.out}: {problem.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
