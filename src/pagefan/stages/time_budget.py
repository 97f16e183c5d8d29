"""Budgets for library calls on pathological PDF content: wall-clock time, and memory.

A page that would parse for minutes, or whose text expands to gigabytes (a ToUnicode map can turn
each 2-byte code into 256 characters), must fail alone, with a reason, instead of running into
the function's Timeout or MemorySize: Lambda would kill the environment and retry it twice.
"""

from __future__ import annotations

import resource
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from pagefan.errors import PageFailed, PageFailureCode

# After the budget is spent, the alarm fires again at this interval until the block has left:
# one expiry swallowed by library code (see _BudgetExpired) only costs this much more time.
REFIRE_SECONDS = 0.2


class _BudgetExpired(BaseException):
    """Raised by the alarm inside the block.

    A BaseException on purpose: pypdf wraps much of its parsing in ``except Exception`` (to
    skip a damaged object and go on), which would swallow an ordinary exception raised there,
    and the loop would run on unbounded. It becomes a PageFailed when it leaves the block.
    """


class TimeBudget:
    """Raise PageFailed(``time_budget``) if the block runs longer than ``seconds``.

    Uses SIGALRM, which interrupts pure-Python loops such as pypdf's content parsing; Lambda runs
    handlers on the main thread, where signals are delivered. Elsewhere (any other thread) the
    block runs unbounded, and the function's Timeout is the only limit. A signal is handled
    between two Python bytecodes, so a single long call into C code (a regular expression, a
    decompression) finishes before the budget can fire.
    """

    def __init__(self, seconds: float, what: str) -> None:
        """Prepare a budget of ``seconds`` for the block; ``what`` names it in the failure."""
        self.seconds = seconds
        self.what = what
        self._armed = False
        self._expired = False
        self._previous: Callable[[int, FrameType | None], Any] | int | None = signal.SIG_DFL

    def _alarm(self, signum: int, frame: FrameType | None) -> None:
        if self._armed:
            self._expired = True
            raise _BudgetExpired

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        self._previous = signal.signal(signal.SIGALRM, self._alarm)
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.seconds, REFIRE_SECONDS)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not self._armed:
            return
        # The alarm may fire once more while we disarm it (it repeats): then disarm again.
        while True:
            try:
                self._armed = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_DFL if self._previous is None else self._previous)
                break
            except _BudgetExpired:
                continue
        if self._expired and (kind is None or issubclass(kind, _BudgetExpired | Exception)):
            # Whatever the block raised on the way out (its own error, or an error caused by the
            # interruption inside a library), the budget is what ended it.
            raise PageFailed(
                PageFailureCode.TIME_BUDGET,
                f"{self.what} took longer than its {self.seconds:g} s budget "
                "(PageTimeBudgetSeconds parameter).",
            ) from None


def time_budget(seconds: float, what: str) -> TimeBudget:
    """A :class:`TimeBudget` of ``seconds`` for a ``with`` block; ``what`` names it in the failure."""
    return TimeBudget(seconds, what)


class MemoryCeiling:
    """Fail the block with PageFailed(``memory_budget``) when the process's data passes ``megabytes``.

    Sets the soft RLIMIT_DATA (heap and private mappings, which is where Python allocates) for the
    block, so an allocation past it raises MemoryError, which pypdf lets through; the limit is
    restored on the way out, and the memory is freed as the block unwinds. Where the limit cannot
    be set, the block runs without it.
    """

    def __init__(self, megabytes: int, what: str) -> None:
        """Prepare a ceiling of ``megabytes`` for the block; ``what`` names it in the failure."""
        self.megabytes = megabytes
        self.what = what
        self._previous: tuple[int, int] | None = None

    def __enter__(self) -> None:
        try:
            soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
            ceiling = self.megabytes * 1024 * 1024
            if hard != resource.RLIM_INFINITY:
                ceiling = min(ceiling, hard)
            resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
        except (ValueError, OSError):
            return
        self._previous = (soft, hard)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._previous is None:
            return
        resource.setrlimit(resource.RLIMIT_DATA, self._previous)
        self._previous = None
        if kind is not None and issubclass(kind, MemoryError):
            raise PageFailed(
                PageFailureCode.MEMORY_BUDGET,
                f"{self.what} needs more than {self.megabytes} MB of memory to be analysed: its text or "
                "structure expands far beyond its size. It may be a decompression bomb.",
            ) from None


def memory_ceiling(megabytes: int, what: str) -> MemoryCeiling:
    """A :class:`MemoryCeiling` of ``megabytes`` for a ``with`` block; ``what`` names it in the failure."""
    return MemoryCeiling(megabytes, what)
