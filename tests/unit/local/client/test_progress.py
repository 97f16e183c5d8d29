"""`pagefan run`'s progress shows the pressure a job is under, only when there is some."""

from __future__ import annotations

import io
from pathlib import Path

from pagefan.local.client.jobs_client import Upload
from pagefan.local.client.runner import DocumentRun, PlainProgress
from pagefan.local.emulator.contention import Contention, Pressure


def _run() -> DocumentRun:
    return DocumentRun(upload=Upload(path=Path("report.pdf"), key="report.pdf", job_id="j1"), started=0.0)


def test_a_job_without_pressure_shows_none() -> None:
    run, stream = _run(), io.StringIO()
    assert run.observe(None, Contention().of("j1"))
    PlainProgress(stream).update(run)
    assert stream.getvalue() == "report.pdf: splitting\n"
    assert run.summary()["contention"] == {kind.value: 0 for kind in Pressure}


def test_the_counters_that_are_not_zero_are_shown_and_a_change_is_news() -> None:
    # GIVEN a job whose page events were throttled, one of them retried after an error
    contention, run, stream = Contention(), _run(), io.StringIO()
    run.observe(None, contention.of("j1"))
    contention.add(Pressure.LAMBDA_THROTTLES, "j1", 3)
    contention.add(Pressure.RETRIED_INVOCATIONS, "j1")
    contention.add(Pressure.LAMBDA_THROTTLES, "another job")

    # WHEN the runner reads the job again THEN the change is news, and the line names the counters
    assert run.observe(None, contention.of("j1"))
    PlainProgress(stream).update(run)
    assert stream.getvalue() == "report.pdf: splitting (3 lambda throttles, 1 retried invocations)\n"
    assert run.summary()["contention"][Pressure.LAMBDA_THROTTLES] == 3
