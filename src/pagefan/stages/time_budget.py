"""A wall-clock budget for library calls that may not return (pathological PDF content)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from pagefan.errors import PageFailed


@contextmanager
def time_budget(seconds: float, what: str) -> Iterator[None]:
    """Raise PageFailed(``time_budget``) if the block runs longer than ``seconds``.

    Uses SIGALRM, which interrupts pure-Python loops such as pypdf's content parsing; Lambda runs
    handlers on the main thread, where signals are delivered. Elsewhere the block runs unbounded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum: int, frame: FrameType | None) -> None:
        raise PageFailed(
            "time_budget",
            f"{what} took longer than its {seconds:g} s budget (PageTimeBudgetSeconds parameter).",
        )

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
