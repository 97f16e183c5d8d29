"""Reading template.yaml and translating it to plain CloudFormation with aws-sam-translator.

The local runtime deploys exactly what `sam deploy` would: the SAM transform's output. Local
paths (CodeUri, ContentUri, DefinitionUri) are swapped for ``s3://`` placeholders before the
transform, as the translator requires, and kept aside so the runtime can find the code and the
state machine definition on disk.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pagefan.local import project

PLACEHOLDER_BUCKET = "pagefan-local-artifacts"
_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML loader that turns short-form intrinsics (``!Ref``, ``!Sub`` ...) into their long form."""


def _construct_intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)
# CloudFormation reads 2012-10-17 as text (policy versions), never as a date.
_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_template(path: Path) -> dict[str, Any]:
    """Parse a CloudFormation/SAM YAML template, short-form intrinsics included."""
    with path.open(encoding="utf-8") as stream:
        data = yaml.load(stream, Loader=_CloudFormationLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template (no Resources)")
    return data


def template_functions(template: dict[str, Any]) -> list[str]:
    """The logical ids of the template's functions, sorted."""
    return sorted(
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in _FUNCTION_TYPES
    )


@dataclass
class TranslatedTemplate:
    """A template after the SAM transform, plus the local paths the transform cannot keep."""

    cloudformation: dict[str, Any]
    root: Path
    code_uris: dict[str, Path] = field(default_factory=dict)
    """Function logical id → directory of its code."""
    definition_uris: dict[str, Path] = field(default_factory=dict)
    """State machine logical id → its ASL file."""

    def parameter_defaults(self) -> dict[str, str]:
        """Each template parameter's default value, as text."""
        parameters = self.cloudformation.get("Parameters", {})
        return {name: str(spec["Default"]) for name, spec in parameters.items() if "Default" in spec}


class _NoManagedPolicies:
    """Policy loader for the translator: templates here name managed policies by ARN only."""

    def load(self) -> dict[str, str]:
        return {}


def _local_uri(value: Any) -> str | None:
    if isinstance(value, str) and not value.startswith("s3://"):
        return value
    return None


def translate(template_path: Path, parameter_values: dict[str, str], *, region: str) -> TranslatedTemplate:
    """Run the SAM transform over ``template_path`` as `sam deploy` would."""
    from samtranslator.translator.transform import transform

    root = template_path.parent
    sam = load_template(template_path)
    translated = TranslatedTemplate(cloudformation={}, root=root)
    global_code = _local_uri(sam.get("Globals", {}).get("Function", {}).get("CodeUri"))
    if global_code:
        sam["Globals"]["Function"]["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/{global_code}"
    for logical_id, resource in sam["Resources"].items():
        properties = resource.setdefault("Properties", {})
        kind = resource.get("Type")
        if kind == "AWS::Serverless::Function":
            local = _local_uri(properties.get("CodeUri")) or global_code
            if local:
                translated.code_uris[logical_id] = project.code_dir(root, local)
                properties["CodeUri"] = f"s3://{PLACEHOLDER_BUCKET}/{local}"
        elif kind == "AWS::Serverless::LayerVersion":
            local = _local_uri(properties.get("ContentUri"))
            if local:
                properties["ContentUri"] = f"s3://{PLACEHOLDER_BUCKET}/{local}"
        elif kind == "AWS::Serverless::StateMachine":
            local = _local_uri(properties.get("DefinitionUri"))
            if local:
                translated.definition_uris[logical_id] = (root / local).resolve()
                properties["DefinitionUri"] = f"s3://{PLACEHOLDER_BUCKET}/{local}"
    # The translator reads the region from the environment; give it the emulated one.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        translated.cloudformation = transform(
            copy.deepcopy(sam), dict(parameter_values), _NoManagedPolicies()
        )
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous
    return translated
