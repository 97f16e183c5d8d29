"""JSON Schemas (draft 2020-12) of the JSON that pagefan stores, shipped inside the package.

``document-v1.json`` describes ``document.json`` (the Combiner's output) and
``page-result-v1.json`` one page result (the PageWorker's output, which document.json lists
without ``job_id`` and ``format_version``). Both are closed: every object lists all its
properties and allows no others. ``job-completed-v1.json`` and ``job-failed-v1.json`` describe
the events DocumentJob publishes on the stack's bus, as a rule's target receives them: the
envelope is EventBridge's and stays open, the ``detail`` is pagefan's, closed and versioned.

Versioning: :data:`pagefan.formats.versions.FORMAT_VERSION` is the version of every stored format, and
every body carries it as ``format_version``. Version 1 is the first: there never was a version 0,
so a body without a version (or with 0) was not written by pagefan. A released schema file never
changes. Any change to the shape (a property added, removed, renamed or retyped) is a new
version: the writer bumps ``FORMAT_VERSION``, a new ``<name>-v<N>.json`` is added next to the old
ones, and the reader gains an explicit, tested upgrade from each older version it still accepts.
Until then readers reject every version they do not know, newer ones included: they never
guess. The page result is at version 2 (graphics, images, text colour): its schema files are
``page-result-v1.json`` and ``page-result-v2.json``, and
:meth:`pagefan.formats.page_result.PageResult.from_dict` upgrades a version 1 result. document.json is still
at version 1 (it lists pages in their version 1 shape).

Validation needs ``jsonschema``, a development dependency: the Lambda functions do not ship it,
so it is imported only when a validation runs, and without it only the version is checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from pagefan.errors import FormatVersionError, SchemaViolation
from pagefan.formats.versions import FORMAT_VERSION, PAGE_RESULT_FORMAT_VERSION, check_format_version

CURRENT_VERSIONS = {
    "document": FORMAT_VERSION,
    "page-result": PAGE_RESULT_FORMAT_VERSION,
    "job-completed": FORMAT_VERSION,
    "job-failed": FORMAT_VERSION,
}
"""The version of each stored format this pagefan writes; it reads every version from 1 to it."""

SCHEMA_NAMES = ("document", "page-result")
"""Names of the shipped schemas of stored bodies; the files are ``<name>-v<version>.json``."""
EVENT_SCHEMA_NAMES = ("job-completed", "job-failed")
"""Names of the shipped schemas of job events (their ``detail`` carries the format version)."""


@cache
def _schema_text(name: str, version: int) -> str:
    if name not in SCHEMA_NAMES + EVENT_SCHEMA_NAMES:
        known = ", ".join(SCHEMA_NAMES + EVENT_SCHEMA_NAMES)
        raise ValueError(f"no schema is called {name!r}; pagefan has {known}")
    resource = resources.files(__name__) / f"{name}-v{version}.json"
    if not resource.is_file():
        raise FormatVersionError(
            f"pagefan has no {name} schema for format version {version!r}; "
            f"this pagefan writes and reads version {FORMAT_VERSION}"
        )
    return resource.read_text(encoding="utf-8")


def load_schema(name: str, version: int | None = None) -> dict[str, Any]:
    """Return one shipped schema as a fresh dict.

    Args:
        name: ``"document"``, ``"page-result"``, ``"job-completed"`` or ``"job-failed"``.
        version: The format version (default: the one this pagefan writes).

    Returns:
        The JSON Schema (draft 2020-12).

    Raises:
        ValueError: No schema has that name.
        FormatVersionError: No schema exists for that version.

    """
    if version is None:
        if name not in CURRENT_VERSIONS:
            raise ValueError(f"no schema is called {name!r}; pagefan has {', '.join(CURRENT_VERSIONS)}")
        version = CURRENT_VERSIONS[name]
    schema: dict[str, Any] = json.loads(_schema_text(name, version))
    return schema


@cache
def _validator(name: str, version: int) -> Any:
    # Imported here, not at module level: the Lambda functions do not ship jsonschema.
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(load_schema(name, version))


def _path(error: Any) -> str:
    return "/" + "/".join(str(part) for part in error.absolute_path)


def _validate(data: Any, name: str, what: str) -> bool:
    if not isinstance(data, Mapping):
        raise SchemaViolation(what, [f"/: expected a JSON object, not {type(data).__name__}"])
    version = data.get("format_version")
    current = CURRENT_VERSIONS[name]
    if type(version) is int and version > current:
        raise FormatVersionError(
            f"{what} has format version {version}; this pagefan reads version {current}. "
            "A newer pagefan wrote it: read it with that version (its reader upgrades older "
            "versions, never the other way round)"
        )
    if type(version) is not int or version < 1:
        raise FormatVersionError(
            f"{what} has format version {version!r}; this pagefan reads version {current}"
        )
    try:
        import jsonschema  # type: ignore[import-untyped]  # noqa: F401  (is it there?)
    except ImportError:
        return False
    validator = _validator(name, version)
    errors = sorted(validator.iter_errors(data), key=lambda error: (_path(error), error.message))
    if errors:
        raise SchemaViolation(what, [f"{_path(error)}: {error.message}" for error in errors])
    return True


def validate_document(data: Any) -> bool:
    """Check a decoded document.json against its format version and schema.

    Args:
        data: The decoded JSON.

    Returns:
        True when the schema was checked; False when ``jsonschema`` is not installed, in which
        case only the format version was.

    Raises:
        FormatVersionError: The document has another format version (or none).
        SchemaViolation: The document does not match the schema of its version.

    """
    return _validate(data, "document", "document.json")


def validate_page_result(data: Any) -> bool:
    """Check a decoded page result against its format version and schema.

    Args:
        data: The decoded JSON.

    Returns:
        True when the schema was checked; False when ``jsonschema`` is not installed.

    Raises:
        FormatVersionError: The page result has another format version (or none).
        SchemaViolation: The page result does not match the schema of its version.

    """
    return _validate(data, "page-result", "page result")


JOB_EVENT_SCHEMAS = {"JobCompleted": "job-completed", "JobFailed": "job-failed"}
"""The schema of each job event, by its detail-type."""


def validate_job_event(event: Any) -> bool:
    """Check a job event (as a target receives it) against its detail's format version and schema.

    Args:
        event: The decoded event, envelope and detail.

    Returns:
        True when the schema was checked; False when ``jsonschema`` is not installed.

    Raises:
        SchemaViolation: Not a job event, or it does not match the schema of its version.
        FormatVersionError: The detail has another format version (or none).

    """
    detail_type = event.get("detail-type") if isinstance(event, Mapping) else None
    if detail_type not in JOB_EVENT_SCHEMAS:
        raise SchemaViolation("event", [f"/detail-type: not a job event: {detail_type!r}"])
    detail = event.get("detail")
    what = f"{detail_type} event"
    if not isinstance(detail, Mapping):
        raise SchemaViolation(what, ["/detail: expected a JSON object"])
    check_format_version(detail, what)
    try:
        import jsonschema  # noqa: F401  (is it there?)
    except ImportError:
        return False
    name = JOB_EVENT_SCHEMAS[detail_type]
    validator = _validator(name, CURRENT_VERSIONS[name])
    errors = sorted(validator.iter_errors(event), key=lambda error: (_path(error), error.message))
    if errors:
        raise SchemaViolation(what, [f"{_path(error)}: {error.message}" for error in errors])
    return True


__all__ = [
    "EVENT_SCHEMA_NAMES",
    "JOB_EVENT_SCHEMAS",
    "SCHEMA_NAMES",
    "load_schema",
    "validate_document",
    "validate_job_event",
    "validate_page_result",
]
