"""The one form of every time pagefan stores or passes on: ISO 8601, UTC, milliseconds, ``Z``.

It is the form Step Functions writes (``$$.State.EnteredTime``), which the DocumentJob compares with
a job's deadline (``TimestampGreaterThanPath``), and the form of every timestamp in the jobs table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def iso_timestamp(moment: datetime) -> str:
    """``moment`` as ``2024-05-01T12:34:56.789Z`` (an aware datetime, converted to UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_now() -> str:
    """The current time as Step Functions writes it."""
    return iso_timestamp(datetime.now(UTC))


def deadline_after(seconds: float) -> str:
    """The time ``seconds`` from now, in the form the state machine compares."""
    return iso_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))
