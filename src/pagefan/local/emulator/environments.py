"""Lambda execution environments on this machine: one process per environment.

Like Lambda, an environment is created on demand (a cold start: the handler module is imported
with the function's environment variables), reused while warm, never runs two invocations at
once, is killed when an invocation exceeds the function's Timeout, and is replaced when it
exceeds its MemorySize. Processes, not threads, so pages really run in parallel (pypdf is pure
Python) and each function sees only its own environment variables. Each process runs the Python
the function's Runtime names when this machine has one (:mod:`.interpreters`), the body in
:mod:`.environment_process`.

Like Lambda, the runtime writes each invocation's log lines, framed by START, END and REPORT
lines (duration, billed duration, memory), to the function's CloudWatch Logs group when given a
``log_sink``: `pagefan cost JOB_ID` reads them there as it reads them on AWS.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pagefan.local.emulator.environment_process import peak_rss_mb, report_line
from pagefan.local.emulator.faults import PAGE_CRASH_POINTS
from pagefan.local.emulator.interpreters import Interpreter, own_interpreter
from pagefan.local.emulator.stack import FunctionSpec

__all__ = ["peak_rss_mb", "report_line"]  # the environments' own, re-exported for the runtime's readers

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation, as Lambda reports it."""

    function: str
    ok: bool
    payload: Any
    error_type: str | None
    error_message: str | None
    duration_ms: float
    max_rss_mb: float
    cold_start: bool
    init_ms: float = 0.0

    def error_payload(self) -> dict[str, Any]:
        """The body Lambda returns for a function error."""
        return {"errorType": self.error_type, "errorMessage": self.error_message}


@dataclass
class FunctionStats:
    """What the runtime measured of one function's invocations."""

    invocations: int = 0
    errors: int = 0
    cold_starts: int = 0
    total_ms: float = 0.0
    init_ms: float = 0.0
    """Cold starts' import time, which Lambda bills with the first invocation."""
    max_rss_mb: float = 0.0
    durations_ms: list[float] = field(default_factory=list)
    peak_concurrency: int = 0
    """The most invocations that ran at once."""


class EnvironmentsClosed(RuntimeError):
    """The function's environments were closed: no new invocation starts."""


class LogSink(Protocol):
    """Where Lambda's log lines go: a function's log group, one stream per environment."""

    def __call__(self, log_group: str, log_stream: str, lines: Sequence[tuple[int, str]]) -> None:
        """Append ``lines`` (epoch milliseconds, message) to the stream, creating it when new."""


class CloudWatchLogSink:
    """Writes log lines to CloudWatch Logs as Lambda does (the emulated account's, locally).

    ``logs`` makes the client on first use: the account's credentials change once IAM is enforced.
    """

    def __init__(self, logs: Callable[[], Any]) -> None:
        self._make_client = logs
        self._client: Any = None
        self._streams: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @property
    def _logs(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def __call__(self, log_group: str, log_stream: str, lines: Sequence[tuple[int, str]]) -> None:
        """Append ``lines`` to the stream; a missing group is created, as Lambda creates its own."""
        if not lines:
            return
        logs = self._logs
        with self._lock:
            if (log_group, log_stream) not in self._streams:
                try:
                    logs.create_log_stream(logGroupName=log_group, logStreamName=log_stream)
                except logs.exceptions.ResourceNotFoundException:
                    logs.create_log_group(logGroupName=log_group)
                    logs.create_log_stream(logGroupName=log_group, logStreamName=log_stream)
                self._streams.add((log_group, log_stream))
        logs.put_log_events(
            logGroupName=log_group,
            logStreamName=log_stream,
            logEvents=[{"timestamp": t, "message": m} for t, m in lines],
        )


class _Environment:
    def __init__(
        self, spec: FunctionSpec, env: dict[str, str], log_path: Path, interpreter: Interpreter
    ) -> None:
        self.parent, child = multiprocessing.Pipe()
        # The pipe is used by the invoking thread and closed by whichever thread stops the
        # environment (a timeout, a crash, the account's shutdown): one at a time, closed once, so
        # that no thread reads, or closes again, a descriptor number the process has reused.
        self._channel = threading.Lock()
        self._channel_closed = False
        self.log_path = log_path
        self.log_offset = 0
        self.shipped = ""
        """The request id whose lines were shipped last."""
        # Lambda names a stream after the day, the version and the environment.
        self.log_stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
        # Its own subprocess, not multiprocessing's: spawn's executable is one per runtime process,
        # and its child would take the runtime's sys.path, compiled extensions of another Python
        # included. Its output goes to the log from the start: a failure before the body runs shows.
        with child, log_path.open("a", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                interpreter.command("serve", str(child.fileno())),
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
            )
        # A process that died at once shows at the first invocation (EOF): Runtime.ExitError.
        with contextlib.suppress(OSError):
            self._send_spec(spec, env, log_path, interpreter)

    def _send_spec(
        self, spec: FunctionSpec, env: dict[str, str], log_path: Path, interpreter: Interpreter
    ) -> None:
        self.parent.send(
            {
                "environment": env,
                "name": spec.name,
                "arn": spec.arn,
                "handler": spec.handler,
                "code_dir": str(spec.code_dir),
                "runtime_path": None if interpreter.runtime_path is None else list(interpreter.runtime_path),
                "crash_events": sorted({event for event, _ in PAGE_CRASH_POINTS}),
                "memory_mb": spec.memory_mb,
                "timeout_s": spec.timeout_s,
                "log_group": log_group_of(spec),
                "log_path": str(log_path),
            }
        )

    def new_log_lines(self) -> list[str]:
        """The lines the environment wrote since the last call (its invocations run one at a time)."""
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as log:
                log.seek(self.log_offset)
                text = log.read()
        except OSError:
            return []
        # A line still being written waits for the next call.
        complete = text[: text.rfind("\n") + 1]
        self.log_offset += len(complete.encode("utf-8"))
        return complete.splitlines()

    def stop(self) -> None:
        self.signal_stop()
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)
        # Only now: closing the pipe under a thread blocked in poll() would not wake it, while the
        # process's death does (EOF), and that thread lets go of the channel.
        with self._channel:
            if not self._channel_closed:
                self._channel_closed = True
                with contextlib.suppress(OSError):
                    self.parent.close()

    def exchange(self, message: Any, timeout: float) -> Any | None:
        """Send one invocation and wait up to ``timeout`` for its answer: None when none came.

        EOFError (or OSError) when the process died or the environment was stopped.
        """
        with self._channel:
            if self._channel_closed:
                raise EOFError("the environment was stopped")
            self.parent.send(message)
            if not self.parent.poll(timeout):
                return None
            return self.parent.recv()

    def signal_stop(self) -> None:
        """Ask the process to end, without waiting for it."""
        if self.process.poll() is None:
            self.process.terminate()


def log_group_of(spec: FunctionSpec) -> str:
    """The function's log group: the template's LoggingConfig, else Lambda's default."""
    return spec.log_group or f"/aws/lambda/{spec.name}"


class FunctionEnvironments:
    """The execution environments of one function, at most ``concurrency`` at a time.

    An invocation runs in a slot: :meth:`invoke` waits for one, or runs in the slot its caller
    took with :meth:`acquire` (which can refuse instead of waiting, as Lambda refuses an
    invocation beyond a function's reserved concurrency).
    """

    def __init__(
        self,
        spec: FunctionSpec,
        *,
        base_env: Mapping[str, str],
        concurrency: int,
        log_dir: Path,
        on_result: Callable[[InvocationResult], None] | None = None,
        log_sink: LogSink | None = None,
        on_slot_freed: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self._on_slot_freed = on_slot_freed
        self._env = {**base_env, **spec.environment}
        self._env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": log_group_of(spec),
                "LAMBDA_TASK_ROOT": str(spec.code_dir),
            }
        )
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self.running = 0
        self._idle: list[_Environment] = []
        self._closed = False
        self._all: list[_Environment] = []
        # Each environment writes its own log file: a number is never given twice, not even after the
        # environment that had it is retired or discarded (a new one would read the old one's lines).
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._log_dir = log_dir
        self._on_result = on_result
        self._log_sink = log_sink
        self.stats = FunctionStats()
        self._interpreter: Future[Interpreter] = Future()
        self._interpreter.set_result(own_interpreter())

    @property
    def environment(self) -> dict[str, str]:
        """The environment variables new environments get."""
        return dict(self._env)

    def run_on(self, interpreter: Future[Interpreter]) -> None:
        """Start new environments with this Python (when chosen) instead of the runtime's own."""
        self._interpreter = interpreter

    @property
    def python(self) -> str:
        """The version of the Python the environments run on (waits until it is chosen)."""
        return self._interpreter.result().version

    def set_environment(self, **values: str) -> None:
        """Add variables to environments created from now on (credentials, for instance)."""
        self._env.update(values)

    def update_configuration(self, **environment: str) -> None:
        """Change environment variables as a function configuration update does.

        Lambda runs later invocations in new environments; so do these: idle ones are retired.
        """
        with self._lock:
            self.spec.environment.update(environment)
            self._env.update(environment)
            retired, self._idle = self._idle, []
            for environment_process in retired:
                self._all.remove(environment_process)
        for environment_process in retired:
            environment_process.stop()

    def _acquire(self) -> _Environment:
        interpreter = self._interpreter.result()  # chosen while the stack deployed: waits at most once
        with self._lock:
            if self._closed:
                raise EnvironmentsClosed(f"{self.spec.logical_id} is shutting down")
            if self._idle:
                return self._idle.pop()
            number = next(self._numbers)
            log_path = self._log_dir / f"{self.spec.logical_id}-{number}.log"
            _LOG.debug("%s: starting execution environment %d", self.spec.logical_id, number)
            environment = _Environment(self.spec, dict(self._env), log_path, interpreter)
            self._all.append(environment)
            return environment

    def _discard(self, environment: _Environment) -> None:
        environment.stop()
        with self._lock:
            if environment in self._all:
                self._all.remove(environment)

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take a slot for one invocation; without ``blocking``, False at once when every slot is in use."""
        if not self._slots.acquire(blocking=blocking):
            return False
        with self._lock:
            self.running += 1
            self.stats.peak_concurrency = max(self.stats.peak_concurrency, self.running)
        return True

    def release(self) -> None:
        """Give back a slot taken with :meth:`acquire` and not used by :meth:`invoke`."""
        with self._lock:
            self.running -= 1
        self._slots.release()
        if self._on_slot_freed is not None:
            self._on_slot_freed()

    def invoke(
        self, event: Any, *, crash_point: tuple[str, int] | None = None, acquired: bool = False
    ) -> InvocationResult:
        """Run one invocation synchronously in a free (or new) environment.

        ``crash_point`` makes the environment die at that AWS call (fault injection). With
        ``acquired``, the invocation runs in the slot the caller took with :meth:`acquire`;
        otherwise it waits for one. Either way the slot is free again when this returns.
        """
        if not acquired:
            self.acquire()
        try:
            try:
                environment = self._acquire()
            except EnvironmentsClosed:
                return self._failure("Runtime.Unavailable", "the local runtime is shutting down")
            request_id = str(uuid.uuid4())
            started = time.perf_counter()
            reused = False
            try:
                # + a cold start's allowance
                answer = environment.exchange((event, crash_point, request_id), self.spec.timeout_s + 5)
                if answer is None:
                    self._discard(environment)
                    result = self._failure(
                        "Sandbox.Timedout",
                        f"Task timed out after {self.spec.timeout_s:.2f} seconds",
                        self._billed_ms(started),
                    )
                else:
                    ok, payload, error_type, message, duration_ms, rss, cold, init_ms = answer
                    result = InvocationResult(
                        self.spec.logical_id,
                        ok,
                        payload,
                        error_type,
                        message,
                        duration_ms,
                        rss,
                        cold,
                        init_ms,
                    )
                    if rss > self.spec.memory_mb:
                        # Lambda kills an environment that goes over its memory size.
                        self._discard(environment)
                        result = InvocationResult(
                            self.spec.logical_id,
                            False,
                            None,
                            "Runtime.OutOfMemory",
                            f"Runtime exited with error: signal: killed (used {rss:.0f} MB of "
                            f"MemorySize {self.spec.memory_mb} MB)",
                            duration_ms,
                            rss,
                            cold,
                            init_ms,
                        )
                    else:
                        # Shipped before the environment is free: its next invocation appends lines,
                        # and ships them itself.
                        self._ship_logs(environment, request_id, started)
                        reused = True
                        with self._lock:
                            self._idle.append(environment)
            except (EOFError, OSError, BrokenPipeError):
                self._discard(environment)
                result = self._failure(
                    "Runtime.ExitError", "Runtime exited without providing a reason", self._billed_ms(started)
                )
            # An environment discarded above (timeout, crash, memory) is this thread's alone: its
            # lines are shipped now. One freed for reuse must not be read again here: another
            # invocation may be running in it, reading the same log.
            if not reused:
                self._ship_logs(environment, request_id, started)
        finally:
            self.release()
        self._record(result)
        return result

    def _ship_logs(self, environment: _Environment, request_id: str, started: float) -> None:
        """Write the invocation's lines to the function's log group, as Lambda does.

        An environment killed (timeout, crash) never printed its REPORT line: Lambda still writes
        one, billed for the time the invocation took, at most the Timeout.
        """
        if self._log_sink is None or environment.shipped == request_id:
            return
        environment.shipped = request_id
        elapsed_ms = self._billed_ms(started)
        lines = environment.new_log_lines()
        if not any(line.startswith(f"REPORT RequestId: {request_id}") for line in lines):
            lines.append(f"END RequestId: {request_id}")
            lines.append(report_line(request_id, elapsed_ms, self.spec.memory_mb, 0.0, None))
        now = int(time.time() * 1000)
        try:
            self._log_sink(log_group_of(self.spec), environment.log_stream, [(now, line) for line in lines])
        except Exception:
            # Losing log lines must not fail the invocation they report (nor, when the emulated
            # services stop under a running invocation, print a traceback to the user's terminal).
            _LOG.debug("could not write %s's log lines", self.spec.logical_id, exc_info=True)

    def _billed_ms(self, started: float) -> float:
        """What Lambda reports for an invocation that never reported itself: its time, at most the Timeout."""
        return min((time.perf_counter() - started) * 1000, self.spec.timeout_s * 1000.0)

    def _failure(self, error_type: str, message: str, duration_ms: float = 0.0) -> InvocationResult:
        return InvocationResult(
            self.spec.logical_id, False, None, error_type, message, duration_ms, 0.0, False
        )

    def _record(self, result: InvocationResult) -> None:
        _LOG.debug(
            "%s: %s in %.0f ms%s, %.0f MB",
            result.function,
            "succeeded" if result.ok else f"failed ({result.error_type})",
            result.duration_ms,
            f" after a {result.init_ms:.0f} ms cold start" if result.cold_start else "",
            result.max_rss_mb,
        )
        with self._lock:
            self.stats.invocations += 1
            self.stats.errors += 0 if result.ok else 1
            self.stats.cold_starts += 1 if result.cold_start else 0
            self.stats.total_ms += result.duration_ms
            self.stats.init_ms += result.init_ms if result.cold_start else 0.0
            self.stats.durations_ms.append(result.duration_ms)
            self.stats.max_rss_mb = max(self.stats.max_rss_mb, result.max_rss_mb)
        if self._on_result:
            self._on_result(result)

    def close(self) -> None:
        """Stop every environment of the function."""
        with self._lock:
            self._closed = True
            environments, self._all, self._idle = list(self._all), [], []
        for environment in environments:  # all at once: an idle environment ends at once
            environment.signal_stop()
        for environment in environments:
            environment.stop()
