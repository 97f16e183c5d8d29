"""The body of one execution environment: a process that imports a handler and serves invocations.

The runtime starts this file by its path (``python -I environment_process.py serve FD``) with the
Python the function's Runtime names, which need not be the runtime's own: so it imports nothing
but the standard library until the function's import path is set, and boto3 (for the crash hooks
of fault injection) after. Requests and results travel as pickles over the inherited socket FD.

``probe`` answers whether this Python can import a set of handler modules, each with its
function's environment variables: the dependencies it lacks show up as an ImportError.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import json
import math
import os
import resource
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from importlib.machinery import ModuleSpec
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any


def max_rss_mb(ru_maxrss: int, platform: str) -> float:
    """``getrusage``'s ru_maxrss in MB: Linux counts it in KiB, macOS in bytes."""
    return ru_maxrss / (1024 * 1024) if platform == "darwin" else ru_maxrss / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of the current process, in MB.

    VmHWM belongs to the address space, which exec replaces; ru_maxrss would also count the
    parent's memory at fork time (the emulated services), which no Lambda environment carries.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return max_rss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, sys.platform)


def report_line(
    request_id: str, duration_ms: float, memory_mb: int, max_rss_mb: float, init_ms: float | None
) -> str:
    """Lambda's REPORT line for one invocation.

    Billed Duration rounds up to the millisecond and, since August 2025, includes a cold start's
    Init Duration.
    """
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    line = (
        f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {billed} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {max_rss_mb:.0f} MB"
    )
    return line + (f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else "")


class _CodeFirst(importlib.abc.MetaPathFinder):
    """Finds the function's top-level packages in its code directory before anywhere else."""

    def __init__(self, code_dir: str, names: set[str]) -> None:
        self._code_dir = code_dir
        self._names = names

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self._names:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self._code_dir])


def set_import_path(code_dir: str, modules: Sequence[str], runtime_path: Sequence[str] | None) -> None:
    """Give this process the function's import path: its code first, then its dependencies.

    On the runtime's own Python (``runtime_path``: its sys.path, as multiprocessing's spawn would
    pass it) the code directory goes in front, as Lambda's task root does. On another Python the
    dependencies are that Python's own environment (a dependency layer's part): its sys.path stays
    and the code directory goes last, but the top-level package of each of ``modules`` is found in
    the code directory first, so that a copy of it in that environment (an editable install of
    another checkout, say) does not stand in for the function's code.
    """
    if runtime_path is not None:
        sys.path[:] = [code_dir, *runtime_path]
        return
    sys.path.append(code_dir)
    sys.meta_path.insert(0, _CodeFirst(code_dir, {module.partition(".")[0] for module in modules}))


# --- fault injection: a crash at a chosen AWS call --------------------------------------------

_armed: dict[str, Any] = {}


def install_crash_hooks(events: Sequence[str]) -> None:
    """Register the crash hooks on boto3's default session (before the handler makes its clients)."""
    import boto3

    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    for event_name in events:
        session.events.register(event_name, _maybe_crash)


def arm(point: tuple[str, int] | None) -> None:
    """Set (or clear) the crash point of the next invocation."""
    _armed.clear()
    if point is not None:
        _armed.update(event=point[0], remaining=point[1])


def _maybe_crash(event_name: str, **kwargs: Any) -> None:
    if _armed.get("event") != event_name:
        return
    _armed["remaining"] -= 1
    if _armed["remaining"] <= 0:
        os._exit(70)  # as abrupt as a killed Lambda sandbox


# --- serving invocations ------------------------------------------------------------------------


class _FakeContext:
    """The LambdaContext fields handlers and Powertools read."""

    def __init__(self, spec: Mapping[str, Any], deadline: float, request_id: str) -> None:
        self.function_name = spec["name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec["arn"]
        self.memory_limit_in_mb = spec["memory_mb"]
        self.aws_request_id = request_id
        self.log_group_name = spec["log_group"]
        self.log_stream_name = f"local/{os.getpid()}"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def serve(conn: Connection) -> None:
    """Receive the function's spec, import its handler, then serve invocations until EOF."""
    spec: dict[str, Any] = conn.recv()
    # Exactly the function's variables: the interpreter's start adds some (LC_CTYPE, coercing a C locale).
    os.environ.clear()
    os.environ.update(spec["environment"])
    log = open(spec["log_path"], "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    module_name, _, function_name = spec["handler"].rpartition(".")
    handler: Any = None
    init_error: Exception | None = None
    try:
        set_import_path(spec["code_dir"], [module_name], spec["runtime_path"])
        install_crash_hooks(spec["crash_events"])
    except Exception as error:  # the runtime's preparation (this Python lacks boto3, say): reported alike
        init_error = error
    started = time.perf_counter()  # Init Duration: the handler's import
    if init_error is None:
        try:
            handler = getattr(importlib.import_module(module_name), function_name)
        except Exception as error:  # an import failure is the function's error, reported per invocation
            init_error = error
    init_ms = (time.perf_counter() - started) * 1000
    cold = True
    while True:
        try:
            request, crash_point, request_id = conn.recv()
        except EOFError:
            return
        arm(crash_point)
        print(f"START RequestId: {request_id} Version: $LATEST")
        invoke_started = time.perf_counter()
        context = _FakeContext(spec, time.monotonic() + spec["timeout_s"], request_id)
        try:
            if init_error is not None:
                raise init_error
            assert handler is not None
            payload, ok, error_type, message = handler(request, context), True, None, None
        except Exception as error:
            traceback.print_exc()
            payload, ok = None, False
            error_type = "Runtime.ImportModuleError" if error is init_error else type(error).__name__
            message = str(error)
        duration_ms = (time.perf_counter() - invoke_started) * 1000
        rss = peak_rss_mb()
        print(f"END RequestId: {request_id}")
        print(report_line(request_id, duration_ms, spec["memory_mb"], rss, init_ms if cold else None))
        conn.send((ok, payload, error_type, message, duration_ms, rss, cold, init_ms))
        cold = False


def probe(request: Mapping[str, Any]) -> dict[str, Any]:
    """Import each handler module with its function's environment; say which Python this is.

    Only an ImportError counts against this Python: a handler that refuses its configuration
    (or fails otherwise) at import fails the same way on any Python, as the function's own error.
    """
    answer: dict[str, Any] = {"version": ".".join(map(str, sys.version_info[:3])), "error": None}
    modules: list[tuple[str, dict[str, str]]] = [(m, env) for m, env in request["modules"]]
    try:
        set_import_path(request["code_dir"], [module for module, _ in modules], None)
        importlib.import_module("boto3")  # the crash hooks' (fault injection)
        for module, environment in modules:
            os.environ.clear()
            os.environ.update(environment)
            try:
                importlib.import_module(module)
            except ImportError:
                raise
            except Exception:  # the function's own failure (its configuration, say), not this Python's
                pass
    except ImportError as error:
        answer["error"] = f"{type(error).__name__}: {error}"
    return answer


def main(argv: Sequence[str]) -> None:
    """``serve FD`` or ``probe`` (a JSON request on stdin, the answer on stdout)."""
    if argv[:1] == ["serve"] and len(argv) == 2:
        serve(Connection(int(argv[1])))
    elif list(argv) == ["probe"]:
        with contextlib.redirect_stdout(sys.stderr):  # whatever an import prints is not the answer
            answer = probe(json.load(sys.stdin))
        sys.stdout.write(json.dumps(answer))
    else:
        sys.exit(f"usage: {sys.argv[0]} serve FD | probe")


if __name__ == "__main__":
    main(sys.argv[1:])
