"""The Python each function's environments run on: the one its Runtime names, when this machine has it.

Lambda runs a ``python3.13`` function on CPython 3.13, whatever Python runs the local runtime. For
a Runtime of another version than its own, the runtime looks for that version's interpreter, in
this order: the one ``PAGEFAN_PYTHON_3_13`` names (for python3.13), the checkout's ``.venv-3.13``
(``make .venv-3.13`` makes it with the project's pins), ``python3.13`` on the PATH. It takes the
first that can import the functions' handler modules, that is their dependencies, from its own
environment; otherwise the functions run on the runtime's own Python, and a one-line warning says
so. The choice is made once per Runtime and code directory, while the stack deploys.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from pagefan.local import project
from pagefan.local.emulator import environment_process

ENVIRONMENT_SCRIPT = Path(environment_process.__file__).resolve()
"""Started by its path by every environment's Python, which may not be the runtime's."""

PROBE_TIMEOUT_S = 120.0  # a guard against a hung interpreter: a probe takes about a second

_LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Interpreter:
    """A Python that runs execution environments."""

    executable: str
    version: str
    """Its version, e.g. 3.13.0."""
    runtime_path: tuple[str, ...] | None = None
    """The runtime's sys.path when this is the runtime's own Python (environments inherit it, as
    multiprocessing's spawn would pass it); None for another Python, whose own environment holds
    the dependencies."""

    def command(self, *arguments: str) -> list[str]:
        """The command line that runs the environment script with this Python, isolated.

        -I: no PYTHON* variables, user site-packages or script folder on the import path, so that
        the function's import path is only what the script sets.
        """
        return [self.executable, "-I", str(ENVIRONMENT_SCRIPT), *arguments]


def own_interpreter() -> Interpreter:
    """The Python the runtime itself runs on."""
    return Interpreter(sys.executable, platform.python_version(), tuple(sys.path))


def runtime_version(runtime: str) -> tuple[int, int] | None:
    """The Python version a Lambda Runtime names (python3.13 → (3, 13)); None for other runtimes."""
    match = re.fullmatch(r"python(\d+)\.(\d+)", runtime)
    return (int(match[1]), int(match[2])) if match else None


def variable_for(version: tuple[int, int]) -> str:
    """The environment variable that names an interpreter of ``version`` (PAGEFAN_PYTHON_3_13)."""
    return f"PAGEFAN_PYTHON_{version[0]}_{version[1]}"


def candidates(version: tuple[int, int], environ: Mapping[str, str] = os.environ) -> list[tuple[str, str]]:
    """Where an interpreter of ``version`` may be, in order of preference: (where, executable)."""
    dotted = f"{version[0]}.{version[1]}"
    found = []
    named = environ.get(variable_for(version))
    if named:
        found.append((variable_for(version), named))
    checkout = project.checkout_root()
    if checkout is not None:
        venv = checkout / f".venv-{dotted}" / "bin" / "python"
        if venv.exists():
            found.append((f"the checkout's .venv-{dotted}", str(venv)))
    on_path = shutil.which(f"python{dotted}")
    if on_path:
        found.append((f"python{dotted} on the PATH", on_path))
    return found


@dataclass(frozen=True)
class FunctionCode:
    """What decides whether a Python can run a function: its code and its handler's imports."""

    code_dir: Path
    handler: str
    environment: Mapping[str, str]
    """The function's environment variables (a handler may read its configuration at import)."""


_probes: dict[tuple[str, str, tuple[str, ...]], tuple[str | None, str | None]] = {}
_probes_lock = threading.Lock()


def probe(
    executable: str, code_dir: Path, functions: Sequence[FunctionCode]
) -> tuple[str | None, str | None]:
    """(version, None) when ``executable`` imports every handler module; (version or None, why) if not.

    Answers are kept for the process's lifetime: the interpreter's packages do not change under a run.
    """
    key = (executable, str(code_dir), tuple(sorted({f.handler for f in functions})))
    with _probes_lock:
        if key in _probes:
            return _probes[key]
    request = {
        "code_dir": str(code_dir),
        "modules": [[f.handler.rpartition(".")[0], dict(f.environment)] for f in functions],
    }
    command = Interpreter(executable, "").command("probe")
    result: tuple[str | None, str | None]
    try:
        done = subprocess.run(
            command,
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={"PATH": os.environ.get("PATH", "")},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        result = (None, f"{type(error).__name__}: {error}")
    else:
        try:
            answer = json.loads(done.stdout)
            result = (str(answer["version"]), answer["error"])
        except (ValueError, KeyError, TypeError):
            result = (None, _what_went_wrong(done.stderr) or f"exit status {done.returncode}")
    with _probes_lock:
        _probes[key] = result
    return result


def _what_went_wrong(stderr: str) -> str:
    """The telling line of an interpreter's complaint: a traceback's last, another message's first."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    return lines[-1] if lines[0].startswith("Traceback") else lines[0]


def choose(runtime: str, code_dir: Path, functions: Sequence[FunctionCode]) -> Interpreter:
    """The Python to run these functions of one Runtime and code directory on (see the module)."""
    own = own_interpreter()
    version = runtime_version(runtime)
    if version is None or version == sys.version_info[:2]:
        return own
    dotted = f"{version[0]}.{version[1]}"
    tried = []
    for where, executable in candidates(version):
        found, problem = probe(executable, code_dir, functions)
        if problem is None and found is not None and found.startswith(f"{dotted}."):
            return Interpreter(executable, found)
        tried.append(f"{where}: {problem or f'Python {found}'}")
    hint = "; ".join(tried) or f"none found; set {variable_for(version)} or run `make .venv-{dotted}`"
    _LOG.warning(
        "warning: %s functions run on Python %s here: no Python %s imports their dependencies (%s)",
        runtime,
        own.version,
        dotted,
        hint,
    )
    return own


def choose_all(functions: Mapping[str, tuple[str, FunctionCode]]) -> dict[str, Future[Interpreter]]:
    """Each function's Python (logical id → (Runtime, code)), chosen in the background.

    Functions of one Runtime and code directory share one choice: one probe imports all their
    handlers (about a second for pagefan's on Python 3.13), while the stack goes on deploying.
    """
    groups: dict[tuple[str, Path], list[str]] = {}
    for logical_id, (runtime, code) in functions.items():
        groups.setdefault((runtime, code.code_dir), []).append(logical_id)
    chosen: dict[str, Future[Interpreter]] = {}
    for (runtime, code_dir), logical_ids in groups.items():
        future: Future[Interpreter] = Future()
        for logical_id in logical_ids:
            chosen[logical_id] = future
        codes = [functions[logical_id][1] for logical_id in logical_ids]
        threading.Thread(
            target=_settle,
            args=(future, runtime, code_dir, codes),
            name=f"choose-python-{runtime}",
            daemon=True,
        ).start()
    return chosen


def _settle(future: Future[Interpreter], runtime: str, code_dir: Path, codes: list[FunctionCode]) -> None:
    try:
        future.set_result(choose(runtime, code_dir, codes))
    except BaseException as error:  # the environments waiting on it must hear of it
        future.set_exception(error)
