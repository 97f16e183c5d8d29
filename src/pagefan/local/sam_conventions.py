"""What `pagefan` reads the way the SAM CLI reads it: parameter overrides, samconfig.toml, --env-vars.

* ``--parameter-overrides`` takes ``Name=Value`` pairs, or ``ParameterKey=Name,ParameterValue=Value``,
  several in one argument when separated by spaces (quote a value that holds spaces), as
  `sam deploy --parameter-overrides` does.
* samconfig.toml: ``stack_name``, ``region``, ``profile`` and ``parameter_overrides`` of the
  ``[ENV.deploy.parameters]`` table, else of ``[ENV.global.parameters]``; ENV is ``--config-env``
  (``default``). The file is ``--config-file``, else samconfig.toml beside the template.
* ``--env-vars FILE``: a JSON object whose ``Parameters`` object sets variables of every function
  and whose other keys, functions' logical ids, set that function's (which wins). As with `sam local
  invoke`, only variables the template gives the function are changed; the others are ignored.

Every problem is a :class:`ConventionError` whose message is one line for the person who typed it.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_FILE = "samconfig.toml"
DEFAULT_CONFIG_ENV = "default"
# The tables read, first match wins: the deploy command's, then the global one.
CONFIG_COMMANDS = ("deploy", "global")
ENV_VARS_ALL_FUNCTIONS = "Parameters"

_PARAMETER_KEY_FORM = re.compile(r"ParameterKey=([^,]*),ParameterValue=(.*)", re.DOTALL)
_NAME_VALUE_FORM = re.compile(r"([A-Za-z0-9]+)=(.*)", re.DOTALL)


class ConventionError(ValueError):
    """An option value or a file that does not follow the SAM CLI's syntax."""


def parse_parameter_overrides(arguments: Iterable[str]) -> dict[str, str]:
    """``Name=Value`` pairs (either of SAM's forms, several per argument) as a dict; a later name wins."""
    values: dict[str, str] = {}
    for argument in arguments:
        try:
            tokens = shlex.split(argument)
        except ValueError as error:
            raise ConventionError(f"cannot read {argument!r}: {error}") from None
        for token in tokens:
            match = _PARAMETER_KEY_FORM.fullmatch(token) or _NAME_VALUE_FORM.fullmatch(token)
            if match is None or not match.group(1):
                raise ConventionError(
                    f"{token!r} is not Name=Value (nor ParameterKey=Name,ParameterValue=Value)"
                )
            values[match.group(1)] = match.group(2)
    return values


@dataclass(frozen=True)
class SamConfig:
    """The settings one samconfig.toml environment gives `pagefan` (all empty without a file)."""

    path: Path | None = None
    env: str = DEFAULT_CONFIG_ENV
    stack_name: str | None = None
    region: str | None = None
    profile: str | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def find(cls, config_file: Path | None, config_env: str | None, *, project_dir: Path) -> SamConfig:
        """The settings of ``config_file`` (else samconfig.toml in ``project_dir``, when there is one).

        A file or environment named explicitly must exist; the default ones may be missing.
        """
        path = config_file or project_dir / DEFAULT_CONFIG_FILE
        env = config_env or DEFAULT_CONFIG_ENV
        if not path.is_file():
            if config_file is not None:
                raise ConventionError(f"config file {config_file}: no such file")
            return cls(env=env)
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConventionError(f"cannot read config file {path}: {error}") from None
        if config_env is not None and config_env not in document:
            known = ", ".join(name for name, table in document.items() if isinstance(table, dict))
            raise ConventionError(f"config file {path} has no environment {config_env!r} (it has: {known})")
        tables = [_parameters_table(document, env, command, path) for command in CONFIG_COMMANDS]

        def setting(key: str) -> str | None:
            for table in tables:
                if key in table:
                    value = table[key]
                    if not isinstance(value, str):
                        raise ConventionError(f"config file {path}: {key} must be a string, not {value!r}")
                    return value
            return None

        overrides: dict[str, str] = {}
        for table in tables:
            if "parameter_overrides" in table:
                overrides = _config_overrides(table["parameter_overrides"], path)
                break
        return cls(
            path=path,
            env=env,
            stack_name=setting("stack_name"),
            region=setting("region"),
            profile=setting("profile"),
            parameter_overrides=overrides,
        )


def _parameters_table(document: Mapping[str, Any], env: str, command: str, path: Path) -> Mapping[str, Any]:
    table = document.get(env, {})
    for key in (command, "parameters"):
        table = table.get(key, {}) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        raise ConventionError(f"config file {path}: [{env}.{command}.parameters] is not a table")
    return table


def _config_overrides(value: Any, path: Path) -> dict[str, str]:
    """The parameter_overrides of samconfig.toml: one string of pairs, or a list of them."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConventionError(
            f"config file {path}: parameter_overrides must be a string or a list of strings"
        )
    try:
        return parse_parameter_overrides(value)
    except ConventionError as error:
        raise ConventionError(f"config file {path}: parameter_overrides: {error}") from None


# --- --env-vars ------------------------------------------------------------------------------------


def function_variables(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each function's environment variable names as the template gives them (Globals included)."""
    globals_ = template.get("Globals", {}).get("Function", {})
    shared = set(_variables(globals_))
    names: dict[str, set[str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        kind = resource.get("Type")
        properties = resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            names[logical_id] = shared | set(_variables(properties))
        elif kind == "AWS::Lambda::Function":
            names[logical_id] = set(_variables(properties))
    return names


def _variables(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    variables = properties.get("Environment", {}).get("Variables", {})
    return variables if isinstance(variables, dict) else {}


@dataclass(frozen=True)
class EnvironmentOverrides:
    """What an --env-vars file changes: function → variable → value, and what it names in vain."""

    variables: dict[str, dict[str, str]]
    ignored: list[str]
    """One line per variable the template does not give that function (left unset, as SAM does)."""


def read_env_vars(path: Path, functions: Mapping[str, set[str]]) -> EnvironmentOverrides:
    """The overrides of an --env-vars file, for functions with the variables ``functions`` gives."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConventionError(f"--env-vars {path}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConventionError(f"--env-vars {path} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConventionError(f"--env-vars {path} must hold a JSON object")
    unknown = sorted(key for key in document if key != ENV_VARS_ALL_FUNCTIONS and key not in functions)
    if unknown:
        raise ConventionError(
            f"--env-vars {path} names {', '.join(unknown)}, not functions of the template "
            f"({', '.join(sorted(functions))}, or {ENV_VARS_ALL_FUNCTIONS} for all)"
        )
    tables = {key: _env_table(path, key, value) for key, value in document.items()}
    everyone = tables.get(ENV_VARS_ALL_FUNCTIONS, {})
    variables: dict[str, dict[str, str]] = {}
    for function, declared in sorted(functions.items()):
        chosen = {**everyone, **tables.get(function, {})}
        kept = {name: value for name, value in chosen.items() if name in declared}
        if kept:
            variables[function] = kept
    ignored = [
        f"{name} is not an environment variable of {function} in the template: ignored"
        for function, table in sorted(tables.items())
        if function != ENV_VARS_ALL_FUNCTIONS
        for name in sorted(table)
        if name not in functions[function]
    ]
    ignored += [
        f"{name} is an environment variable of no function in the template: ignored"
        for name in sorted(everyone)
        if not any(name in declared for declared in functions.values())
    ]
    return EnvironmentOverrides(variables, ignored)


def _env_table(path: Path, key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ConventionError(f"--env-vars {path}: {key} must be an object of variable names to values")
    return {name: _env_value(path, key, name, item) for name, item in value.items()}


def _env_value(path: Path, key: str, name: str, value: Any) -> str:
    """A variable's value as Lambda holds it: text (JSON booleans as SAM writes them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ConventionError(f"--env-vars {path}: {key}.{name} must be a string, number or boolean")
