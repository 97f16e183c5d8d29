"""Corrections to moto 5.2.5's Step Functions engine where it differs from AWS.

Each fix is one place where the engine would make the real state machine behave differently
than on AWS; re-check them when moto is upgraded (the tests of the state machine's paths fail
if one stops applying).

1. ``$$.State.EnteredTime`` is ``datetime.isoformat()`` (``...123456+00:00``); AWS gives
   ``2026-01-01T12:00:00.123Z``.
2. Timestamp comparisons in Choice accept only ``%Y-%m-%dT%H:%M:%SZ``; AWS accepts RFC 3339 with
   fractional seconds and offsets.
3. A JSONPath with an index (``$.exported[0].svg_prefix``) yields a one-element list; AWS yields
   the value.
4. DynamoDB writes are not isolated from each other: concurrent requests read and write an item
   without a lock, so two transactions that ADD to one counter can lose an increment (or both
   pass a condition only one should). DynamoDB applies them one after another.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from typing import Any

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_applied = False


def _aws_timestamp(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: Any) -> datetime | None:
    """Parse an RFC 3339 timestamp as Step Functions does; None when it is not one."""
    if not isinstance(text, str) or not _TIMESTAMP.match(text):
        return None
    normalised = text[:-1] + "+00:00" if text.endswith("Z") else text
    match = re.match(r"^(.*?\.)(\d+)(.*)$", normalised)
    if match:  # fromisoformat before 3.11 wants exactly 3 or 6 fraction digits
        normalised = match.group(1) + (match.group(2) + "000000")[:6] + match.group(3)
    try:
        return datetime.fromisoformat(normalised)
    except ValueError:
        return None


def apply() -> None:
    """Apply the fixes (idempotent)."""
    global _applied
    if _applied:
        return
    _applied = True

    _serialise_dynamodb_writes()

    import importlib
    from pathlib import Path

    import moto.stepfunctions.parser as engine

    # Import now every engine module that holds a copy of extract_json, so each copy is patched.
    root = Path(engine.__file__).parent
    for source in root.rglob("*.py"):
        if "extract_json" in source.read_text(encoding="utf-8"):
            relative = source.relative_to(root).with_suffix("")
            importlib.import_module(".".join((engine.__name__, *relative.parts)).removesuffix(".__init__"))

    import moto.stepfunctions.parser.asl.component.state.state as state_module
    import moto.stepfunctions.parser.asl.utils.json_path as json_path
    from jsonpath_ng.ext import parse as parse_path
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
        is_operator,
    )

    original_state_data = state_module.StateData

    def state_data(**fields: Any) -> Any:
        entered = parse_timestamp(fields.get("EnteredTime"))
        if entered is not None:
            fields["EnteredTime"] = _aws_timestamp(entered)
        return original_state_data(**fields)

    state_module.StateData = state_data
    is_operator.IsTimestamp.string_to_timestamp = staticmethod(parse_timestamp)

    original_extract = json_path.extract_json

    def extract_json(path: str, data: Any) -> Any:
        if any(mark in path for mark in ("?", "*", ":", "..", ",")):
            return original_extract(path, data)
        matches = parse_path(path).find(data)
        if len(matches) == 1:
            return matches[0].value
        return original_extract(path, data)

    # extract_json is imported by name into many engine modules: replace every copy.
    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "") or ""
        if (
            name.startswith("moto.stepfunctions.parser")
            and getattr(module, "extract_json", None) is original_extract
        ):
            module.extract_json = extract_json  # type: ignore[attr-defined]
    json_path.extract_json = extract_json


def _serialise_dynamodb_writes() -> None:
    import functools
    import threading

    from moto.dynamodb.models import DynamoDBBackend

    # Re-entrant: a transaction calls the single-item writes.
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def serialised(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        functools.update_wrapper(serialised, original)
        setattr(DynamoDBBackend, name, serialised)
