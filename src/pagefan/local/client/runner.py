"""`pagefan run`: documents through the whole pipeline, locally or on a deployed stack."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from pagefan.formats.jobs_table import JobRecord, JobStatus
from pagefan.local.client.gallery import write_gallery
from pagefan.local.client.jobs_client import JobsClient, Upload


def stage_of(record: JobRecord | None) -> str:
    """A person's name for where a job is."""
    if record is None or record.status == JobStatus.SPLITTING:
        return "splitting"
    if record.terminal:
        return record.status.lower()
    if record.pages_done + record.pages_failed < record.pages_total:
        return "pages"
    return "combining and exporting"


@dataclass
class DocumentRun:
    """One document's journey, as observed from outside the pipeline."""

    upload: Upload
    started: float
    record: JobRecord | None = None
    stage: str = "uploaded"
    milestones: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    out_dir: Path | None = None
    contention: dict[str, int] | None = None
    """What the emulated account refused or delayed for this job (None on a deployed stack)."""
    counted_at: float = float("-inf")
    """When the follower last counted the job's pages (monotonic)."""

    def observe(self, record: JobRecord | None, contention: dict[str, int] | None = None) -> bool:
        """Take a new reading of the job; True if anything a person would see changed."""
        stage = stage_of(record)
        changed = (
            stage != self.stage
            or contention != self.contention
            or (
                record is not None
                and (
                    self.record is None
                    or (record.pages_done, record.pages_failed)
                    != (self.record.pages_done, self.record.pages_failed)
                )
            )
        )
        if stage != self.stage:
            self.milestones.append({"t": round(time.monotonic() - self.started, 3), "kind": stage})
            self.stage = stage
        self.record = record
        self.contention = contention
        return changed

    def pressure(self) -> str:
        """The contention counters that are not zero, for a person ("3 lambda throttles")."""
        return ", ".join(
            f"{count} {kind.replace('_', ' ')}" for kind, count in (self.contention or {}).items() if count
        )

    def summary(self) -> dict[str, Any]:
        """The JSON summary of `pagefan run --json`."""
        record = self.record
        timings = {m["kind"]: m["t"] for m in self.milestones}
        return {
            "document": str(self.upload.path),
            "job_id": self.upload.job_id,
            "status": record.status if record else "UNKNOWN",
            "pages_total": record.pages_total if record else 0,
            "pages_done": record.pages_done if record else 0,
            "pages_failed": record.pages_failed if record else 0,
            "error": (
                f"{record.error.stage}: {record.error.reason}"
                if record and record.error
                else (None if record and record.terminal else "the job did not finish in time")
            ),
            "outputs": {name: str(path) for name, path in self.files.items()},
            "contention": self.contention,
            "timings": {"seconds_to_" + kind.replace(" ", "_"): t for kind, t in timings.items()},
        }


class Progress(Protocol):
    """Where `pagefan run` reports progress."""

    def update(self, run: DocumentRun) -> None:
        """Show the document's current stage and counts."""

    def close(self) -> None:
        """Finish the display."""


class PlainProgress:
    """One line per change, for logs and pipes."""

    def __init__(self, stream: Any = None) -> None:
        self._stream = stream or sys.stderr

    def update(self, run: DocumentRun) -> None:
        """Print one line for the document."""
        record = run.record
        counts = (
            f"{record.pages_done}/{record.pages_total} pages done, {record.pages_failed} failed"
            if record and record.pages_total
            else ""
        )
        pressure = f" ({run.pressure()})" if run.pressure() else ""
        print(
            f"{run.upload.path.name}: {run.stage} {counts}".rstrip() + pressure, file=self._stream, flush=True
        )

    def close(self) -> None:
        """Nothing to finish: every line is already out."""


class RichProgress:
    """A progress bar per document on a terminal."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stage]}"),
            TimeElapsedColumn(),
            transient=False,
        )
        self._tasks: dict[str, Any] = {}
        self._bars.start()

    def update(self, run: DocumentRun) -> None:
        """Move the document's bar."""
        record = run.record
        task = self._tasks.get(run.upload.job_id)
        if task is None:
            task = self._bars.add_task(run.upload.path.name, total=None, stage=run.stage)
            self._tasks[run.upload.job_id] = task
        failed = f", {record.pages_failed} failed" if record and record.pages_failed else ""
        total = record.pages_total if record and record.pages_total else None
        done = (record.pages_done + record.pages_failed) if record else 0
        pressure = f" [{run.pressure()}]" if run.pressure() else ""
        self._bars.update(task, total=total, completed=done, stage=f"{run.stage}{failed}{pressure}")

    def close(self) -> None:
        """Stop redrawing the bars."""
        self._bars.stop()


# Counting a job's pages reads every page item (a strongly consistent Query: on a deployed stack,
# about 1 read unit per 16 pages), so the follower counts at most this often and reads only the job
# item in between; a job's end is always counted.
_COUNT_EVERY_S = 1.0


def _read_job(client: JobsClient, run: DocumentRun) -> JobRecord | None:
    due = time.monotonic() - run.counted_at >= _COUNT_EVERY_S
    record = client.jobs.get_job(run.upload.job_id, count_pages=due)
    if due:
        run.counted_at = time.monotonic()
    if record is None or due:
        return record
    if record.terminal:
        run.counted_at = time.monotonic()
        return client.jobs.get_job(run.upload.job_id)
    previous = run.record
    return replace(
        record,
        pages_done=previous.pages_done if previous else 0,
        pages_failed=previous.pages_failed if previous else 0,
    )


def follow(
    client: JobsClient,
    uploads: Sequence[Upload],
    *,
    out_root: Path,
    progress: Progress,
    timeout: float,
    timeline: list[dict[str, Any]] | None = None,
    contention: Callable[[str], dict[str, int]] | None = None,
) -> list[DocumentRun]:
    """Follow every uploaded document to its end, then fetch outputs and write galleries.

    ``contention`` gives a job's counters of what the emulated account refused or delayed.
    """
    started = time.monotonic()
    runs = [DocumentRun(upload=upload, started=started) for upload in uploads]
    for run in runs:
        progress.update(run)
    deadline = started + timeout
    try:
        while time.monotonic() < deadline:
            pending = [run for run in runs if not (run.record and run.record.terminal)]
            if not pending:
                break
            for run in pending:
                job_id = run.upload.job_id
                if run.observe(_read_job(client, run), contention(job_id) if contention else None):
                    progress.update(run)
            time.sleep(0.2)
    finally:
        progress.close()
    for run in runs:
        if contention is not None:  # what came after the job's end (a late retry) counts too
            run.contention = contention(run.upload.job_id)
        run.out_dir = out_root / run.upload.path.stem
        run.out_dir.mkdir(parents=True, exist_ok=True)
        if run.record and run.record.status == JobStatus.COMPLETED:
            run.files = client.download(run.record, run.out_dir)
        events = list(run.milestones) + list(timeline or [])
        run.files["gallery"] = write_gallery(run.out_dir, run.summary(), sorted(events, key=lambda e: e["t"]))
    return runs
