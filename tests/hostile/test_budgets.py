"""The PageWorker's budgets: a page that would parse for minutes or grow to gigabytes fails alone.

Time: SIGALRM stops the parsing, even where pypdf wraps it in ``except Exception`` (to skip a
damaged object and go on). Memory: a ceiling on the process's data turns a runaway allocation
into a failed page instead of an environment Lambda kills. The run through the local runtime
(test_hostile_runs.py) shows the time budget inside the PageWorker's environment process.
"""

from __future__ import annotations

import resource
import signal
import threading
import time
from pathlib import Path

import pytest

from pagefan.domain.analysis import analyse_page
from pagefan.errors import PageFailed
from pagefan.local.emulator.template import translate
from pagefan.stages.page_analysis import ANALYSIS_MEMORY_MB
from pagefan.stages.time_budget import REFIRE_SECONDS, memory_ceiling, time_budget
from tests.hostile.generator import millions_of_operators, text_expansion_page

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"

# An alarm that lands in a garbage-collection callback or a __del__ method is swallowed by
# Python as "unraisable" (pytest registers such callbacks); the budget then fires again 0.2 s
# later. pytest would turn the swallowed one into a failing warning.
tolerates_a_swallowed_alarm = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def _busy() -> int:
    return sum(range(1000))


@tolerates_a_swallowed_alarm
def test_the_budget_stops_a_loop_that_swallows_every_exception() -> None:
    # The shape of pypdf's parsing loops: any Exception raised inside is caught and skipped. The
    # loop never ends by itself: whenever it ends, the budget ended it.
    started = time.monotonic()
    with pytest.raises(PageFailed) as caught, time_budget(0.3, "Page 7"):
        armed = signal.getitimer(signal.ITIMER_REAL)
        while True:
            try:
                _busy()
            except Exception:  # swallowing everything is the point
                continue
    assert caught.value.code == "time_budget"
    assert str(caught.value) == "Page 7 took longer than its 0.3 s budget (PageTimeBudgetSeconds parameter)."
    # The alarm was set for the budget, then to fire again until the block has left; it never fires
    # early. How late it lands depends on the machine's load, so that is not asserted.
    assert 0 < armed[0] <= 0.3 and armed[1] == REFIRE_SECONDS
    assert time.monotonic() - started >= 0.3


@tolerates_a_swallowed_alarm
def test_the_budget_stops_pypdf_on_a_page_of_millions_of_operators() -> None:
    # Hours of parsing within every other limit (see millions_of_operators): only the budget can
    # stop it, however fast or loaded the machine.
    started = time.monotonic()
    with pytest.raises(PageFailed) as caught, time_budget(1, "Page 1"):
        analyse_page(millions_of_operators(), job_id="j", page_number=1, max_content_bytes=50 * 1024 * 1024)
    assert caught.value.code == "time_budget"
    assert time.monotonic() - started >= 1


def test_a_block_within_its_budget_runs_untouched_and_leaves_no_alarm_behind() -> None:
    def handler(signum: int, frame: object) -> None:
        raise AssertionError("the previous handler must not run")

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        with time_budget(5, "Page 1"):
            result = _busy()
        assert result == _busy()
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
        assert signal.getsignal(signal.SIGALRM) is handler
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_an_error_of_the_block_itself_passes_through() -> None:
    with pytest.raises(PageFailed) as caught, time_budget(5, "Page 1"):
        raise PageFailed("damaged_page", "Page 1 has an empty or invalid page size.")
    assert caught.value.code == "damaged_page"
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_outside_the_main_thread_the_block_runs_without_a_budget() -> None:
    # Signals reach the main thread only; Lambda runs handlers there.
    outcome: list[str] = []

    def work() -> None:
        try:
            with time_budget(0.05, "Page 1"):
                time.sleep(0.2)
            outcome.append("finished")
        except PageFailed:
            outcome.append("stopped")

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=120)  # a guard against a hang: the block sleeps 0.2 s
    assert outcome == ["finished"]


# --- memory ----------------------------------------------------------------------------------


def _data_mb() -> int:
    """The process's data size now (what RLIMIT_DATA limits), in MB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmData:"))


def test_an_allocation_past_the_ceiling_fails_the_page_and_the_limit_is_restored() -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = _data_mb() + 100
    with pytest.raises(PageFailed) as caught, memory_ceiling(ceiling, "Page 4"):
        _ = bytearray(200 * 1024 * 1024)
    assert caught.value.code == "memory_budget"
    assert str(caught.value).startswith(f"Page 4 needs more than {ceiling} MB of memory to be analysed")
    assert resource.getrlimit(resource.RLIMIT_DATA) == before
    # and the memory is usable again
    assert len(bytearray(200 * 1024 * 1024)) == 200 * 1024 * 1024


def test_a_font_that_multiplies_its_text_stops_at_the_ceiling() -> None:
    # 400,000 codes of 256 letters each: about 900 MB of text, from a 3 KB file. The text's length
    # is checked once it is extracted, so the ceiling, reached during the extraction, strikes
    # first; no time budget here, which a loaded machine could meet before the ceiling.
    page = text_expansion_page(400_000)
    with pytest.raises(PageFailed) as caught, memory_ceiling(_data_mb() + 150, "Page 1"):
        analyse_page(page, job_id="j", page_number=1, max_content_bytes=50 * 1024 * 1024)
    assert caught.value.code == "memory_budget"


def test_a_block_within_the_ceiling_runs_untouched() -> None:
    before = resource.getrlimit(resource.RLIMIT_DATA)
    with memory_ceiling(_data_mb() + 100, "Page 1"):
        data = bytearray(10 * 1024 * 1024)
    assert len(data) == 10 * 1024 * 1024
    assert resource.getrlimit(resource.RLIMIT_DATA) == before


def test_the_ceiling_leaves_the_page_worker_room_below_its_memory_size() -> None:
    resources = translate(TEMPLATE, {}, region="us-east-1").cloudformation["Resources"]
    # Python's code, boto3 and the buffers around the analysis live outside the ceiling.
    assert resources["PageWorker"]["Properties"]["MemorySize"] >= ANALYSIS_MEMORY_MB + 192
