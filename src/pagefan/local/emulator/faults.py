"""Fault injection for local runs: duplicated, reordered deliveries and crashing invocations.

Every decision is made in the runtime's process from one seeded random generator, so a seed
names one schedule. Crashes hit first attempts only: Lambda's retries then recover every one,
and the outputs must equal a run without faults. Inside an execution environment a crash is
``os._exit`` at a chosen AWS call (before or after the page result is written, after the page is
recorded, or after the n-th page object of a split), as abrupt as a killed Lambda sandbox: the
environment's body (:mod:`.environment_process`) hooks boto3 at these points.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

# Crash points: (botocore event, which occurrence of it).
PAGE_CRASH_POINTS = (
    ("before-call.s3.PutObject", 1),  # before the page result is written
    ("after-call.s3.PutObject", 1),  # result written, page not recorded
    ("after-call.dynamodb.PutItem", 1),  # recorded, response lost
)


@dataclass(frozen=True)
class FaultPlan:
    """How often to duplicate deliveries and crash invocations."""

    duplicate: float = 0.0
    crash: float = 0.0
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> FaultPlan:
        """Parse ``duplicate=0.3,crash=0.1,seed=7``."""
        values: dict[str, Any] = {}
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name not in ("duplicate", "crash", "seed"):
                raise ValueError(f"unknown fault {part!r}: use duplicate=P,crash=P,seed=N")
            values[name] = int(value) if name == "seed" else float(value)
            if name != "seed" and not 0.0 <= values[name] <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1")
        return cls(**values)

    @property
    def active(self) -> bool:
        """Whether any fault is injected."""
        return self.duplicate > 0 or self.crash > 0


class FaultSchedule:
    """The seeded decisions of one run (thread-safe)."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._random = random.Random(plan.seed)
        self._lock = threading.Lock()
        self.duplicated = 0
        self.crashes = 0

    def copies(self) -> int:
        """How many times to deliver one event (1, or 2 to 3 when duplicated)."""
        with self._lock:
            if self._random.random() < self.plan.duplicate:
                self.duplicated += 1
                return self._random.choice((2, 3))
            return 1

    def delay(self) -> float:
        """A small random delay, so duplicated deliveries arrive out of order."""
        with self._lock:
            return self._random.random() * 0.05 if self.plan.duplicate else 0.0

    def crash_point(self, function: str, attempt: int) -> tuple[str, int] | None:
        """Where this invocation should die, if anywhere."""
        if attempt > 1 or self.plan.crash <= 0:
            return None
        with self._lock:
            if self._random.random() >= self.plan.crash:
                return None
            self.crashes += 1
            if function == "Splitter":
                return ("after-call.s3.PutObject", self._random.randint(1, 3))
            return self._random.choice(PAGE_CRASH_POINTS)
