"""What the emulated account refused or delayed, as AWS would have: the pressure a run was under.

The emulator counts each refusal where it makes it (a DynamoDB transaction conflict, a throttled
write, a throttled Lambda event, an invocation retried after an error), so `pagefan run --json`
and the progress display can show how close a run came to AWS's limits. Counters are per job
where the refusal can be tied to one (a page's key names its job), and for the account as a whole.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Pressure(StrEnum):
    """The kinds of refusal the emulator counts."""

    TRANSACTION_CONFLICTS = "transaction_conflicts"
    """A transaction cancelled (``TransactionConflict``), or a write refused on an item a transaction held."""
    THROTTLED_WRITES = "throttled_writes"
    """A DynamoDB write refused for its partition's throughput."""
    LAMBDA_THROTTLES = "lambda_throttles"
    """An invocation refused because its function's concurrency was in use."""
    RETRIED_INVOCATIONS = "retried_invocations"
    """An asynchronous invocation run again after a function error."""


ACCOUNT = ""
"""The key of the account-wide counters."""


@dataclass
class Contention:
    """Thread-safe counters of :class:`Pressure`, per job id and for the whole account."""

    _counts: dict[str, Counter[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: Pressure, job_id: str | None = None, amount: int = 1) -> None:
        """Count ``amount`` refusals of ``kind``, for ``job_id`` too when it is known."""
        with self._lock:
            for key in {ACCOUNT, job_id or ACCOUNT}:
                self._counts.setdefault(key, Counter())[kind] += amount

    def of(self, job_id: str | None = None) -> dict[str, int]:
        """Every counter of a job (of the account when ``job_id`` is None), zeros included."""
        with self._lock:
            counts = self._counts.get(job_id or ACCOUNT, Counter())
            return {kind.value: counts[kind] for kind in Pressure}
