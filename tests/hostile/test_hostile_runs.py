"""Every hostile class through the local runtime: one account, the uploads in two batches.

The template runs with its defaults except two limits, lowered so the suite stays fast:
MaxUploadBytes (8 MiB, so the oversized upload is 9 MiB rather than 101 MiB) and MaxSvgElements
(500, so a page of 1,500 runs passes it). The enforcement is the same whatever the values.
MaxPages and MaxPageContentBytes keep their defaults (5,000 pages, 50 MiB).

No verdict may depend on which limit strikes first on this machine, so the time budget, the one
limit that a slow or loaded machine meets sooner, is set apart. The first batch, every class but
the time budget's, runs under PageTimeBudgetSeconds 55 (the template's highest; its pages take
about a second): there a size, count or depth limit strikes, never time. Then the budget is
lowered to 5 s, as a console edit of the PageWorker's environment would, and the second batch
runs: pages that parse for hours within every other limit, which only the budget can stop.

Within a batch the uploads go into the raw bucket together, each its own job; the module waits
until every job has ended, then each test reads what the run left behind. A link, image or action
in a document points at a sentinel HTTP server on 127.0.0.1, and a Launch action would create a
marker file: neither may ever be touched.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from pypdf import PdfReader

from pagefan import layout
from pagefan.formats.jobs_table import JobRecord, JobStatus, PageRecord, PageStatus
from tests.hostile.generator import AT_MAX_PAGES, MANY_RUNS, Completes, Fails, Hostile, hostile_inputs
from tests.hostile.sentinel import Sentinel, SentinelServer, probe
from tests.integration.pipeline import Pipeline, pipeline

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
# The first batch's time budget, which none of its pages comes near; the second batch's.
UNREACHED_TIME_BUDGET_SECONDS = 55
PAGE_TIME_BUDGET_SECONDS = 5
MAX_SVG_ELEMENTS = 500
MAX_PAGES = 5000  # the template's default
PARAMETERS = {
    "MaxUploadBytes": str(MAX_UPLOAD_BYTES),
    "PageTimeBudgetSeconds": str(UNREACHED_TIME_BUDGET_SECONDS),
    "MaxSvgElements": str(MAX_SVG_ELEMENTS),
}
# A guard against a hang: every job of a batch ends within about a minute on two cores.
RUN_TIMEOUT_S = 240
# The module's account runs in its first test's setup: both batches and their guards.
pytestmark = pytest.mark.timeout(900)

_NAMES_ONLY = hostile_inputs(
    sentinel_url="http://127.0.0.1:9",
    marker_path="/nonexistent",
    max_upload_bytes=MAX_UPLOAD_BYTES,
    max_pages=MAX_PAGES,
)
CLASSES = {hostile.name: hostile for hostile in _NAMES_ONLY if hostile.name != AT_MAX_PAGES}
COMPLETING = [name for name, hostile in CLASSES.items() if isinstance(hostile.expect, Completes)]
FAILING = [name for name, hostile in CLASSES.items() if isinstance(hostile.expect, Fails)]
# The classes only the time budget stops: the second batch.
TIME_BUDGET = [
    name
    for name, hostile in CLASSES.items()
    if isinstance(hostile.expect, Fails) and hostile.expect.code == "time_budget"
]

_WORK_KEY = re.compile(
    r"(pages/[0-9a-f]{32}/\d{5}\.pdf|results/[0-9a-f]{32}/\d{5}\.json|info/[0-9a-f]{32}/document-info\.json"
    r"|results/[0-9a-f]{32}/images/[0-9a-f]{64}\.(png|jpg)"
    r"|pdf-parts/[0-9a-f]{32}/\d{5}-\d{5}\.pdf)"
)
_RESULT_KEY = re.compile(
    r"jobs/[0-9a-f]{32}/(document\.json|document\.txt|svg/page-\d{5}\.svg|pdf/document\.pdf)"
)


@dataclass(frozen=True)
class Outcome:
    """One hostile upload and what the pipeline made of it."""

    hostile: Hostile
    record: JobRecord
    pages: list[PageRecord]

    @property
    def job_prefix(self) -> str:
        """The results bucket prefix of the job's outputs."""
        return f"{layout.JOBS_PREFIX}{self.record.job_id}/"


@dataclass(frozen=True)
class HostileRun:
    """The account after every hostile upload has been processed."""

    stack: Pipeline
    sentinel: Sentinel
    marker: Path
    outcomes: dict[str, Outcome]
    seconds: float


def _wait_for_all(stack: Pipeline, job_ids: dict[str, str], timeout: float) -> dict[str, JobRecord]:
    """Poll every job until all have ended; fail naming the ones that did not."""
    deadline = time.monotonic() + timeout
    ended: dict[str, JobRecord] = {}
    while time.monotonic() < deadline and len(ended) < len(job_ids):
        for name, job_id in job_ids.items():
            if name not in ended:
                record = stack.client.jobs.get_job(job_id)
                if record is not None and record.terminal:
                    ended[name] = record
        time.sleep(0.5)
    missing = sorted(set(job_ids) - set(ended))
    assert not missing, f"jobs still running after {timeout} s: {missing}"
    return ended


def _run_batch(
    stack: Pipeline, uploads: Path, batch: list[Hostile]
) -> tuple[dict[str, str], dict[str, JobRecord]]:
    """Upload a batch together and wait until every job has ended and every invocation returned."""
    # Local file names are the class names; the S3 keys are the hostile ones.
    job_ids = {
        hostile.name: stack.client.upload(uploads / f"{hostile.name}.pdf", key=hostile.key).job_id
        for hostile in batch
    }
    records = _wait_for_all(stack, job_ids, RUN_TIMEOUT_S)
    assert stack.account.wait_until_idle(timeout=120), "invocations still running after every job ended"
    return job_ids, records


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, boots_emulated_account: None) -> Iterator[HostileRun]:
    work = tmp_path_factory.mktemp("hostile")
    marker = work / "launch-marker"
    uploads = work / "uploads"
    uploads.mkdir()
    with (
        SentinelServer(lifetime=2 * RUN_TIMEOUT_S + 240) as sentinel,
        pipeline(work / "account", parameters=PARAMETERS) as stack,
    ):
        inputs = [
            hostile
            for hostile in hostile_inputs(
                sentinel_url=sentinel.url,
                marker_path=str(marker),
                max_upload_bytes=MAX_UPLOAD_BYTES,
                max_pages=MAX_PAGES,
            )
            if hostile.name in CLASSES
        ]
        for hostile in inputs:
            (uploads / f"{hostile.name}.pdf").write_bytes(hostile.data)
        started = time.monotonic()
        job_ids, records = _run_batch(stack, uploads, [h for h in inputs if h.name not in TIME_BUDGET])
        # Every environment is idle, so every later invocation starts in one with the new budget.
        stack.account.functions["PageWorker"].update_configuration(
            PAGE_TIME_BUDGET_SECONDS=str(PAGE_TIME_BUDGET_SECONDS)
        )
        more_job_ids, more_records = _run_batch(stack, uploads, [h for h in inputs if h.name in TIME_BUDGET])
        job_ids |= more_job_ids
        records |= more_records
        seconds = time.monotonic() - started
        outcomes = {
            hostile.name: Outcome(hostile, records[hostile.name], stack.pages(job_ids[hostile.name]))
            for hostile in inputs
        }
        yield HostileRun(stack, sentinel, marker, outcomes, seconds)


def _results(run: HostileRun, outcome: Outcome) -> dict[str, bytes]:
    """Every object the job left in the results bucket, by key."""
    return {
        key: run.stack.read("ResultsBucketName", key)
        for key in run.stack.keys("ResultsBucketName", outcome.job_prefix)
    }


# --- each class --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CLASSES))
def test_the_job_ends_as_its_class_requires(run: HostileRun, name: str) -> None:
    outcome = run.outcomes[name]
    record, expect = outcome.record, outcome.hostile.expect
    if isinstance(expect, Completes):
        assert record.status == JobStatus.COMPLETED, record.error
        assert (record.pages_total, record.pages_done, record.pages_failed) == (expect.pages,) * 2 + (0,)
        assert [page.status for page in outcome.pages] == [PageStatus.DONE] * expect.pages
        return
    assert record.status == JobStatus.FAILED
    assert record.error is not None
    assert (record.error.stage, expect.reason in record.error.reason) == (expect.stage, True), record.error
    assert "internal error" not in record.error.reason.lower()
    assert "Traceback" not in record.error.reason
    if expect.stage == "split":
        assert (record.pages_total, outcome.pages) == (0, [])
        return
    failed = [page for page in outcome.pages if page.status == PageStatus.FAILED]
    assert [page.page_number for page in failed] == list(expect.failed_pages)
    assert all(page.reason and page.reason.endswith(f"({expect.code})") for page in failed), failed
    assert record.pages_done == record.pages_total - len(failed)
    assert len(outcome.pages) == record.pages_total


@pytest.mark.parametrize("name", COMPLETING)
def test_a_completed_job_has_every_output_and_the_right_text(run: HostileRun, name: str) -> None:
    outcome = run.outcomes[name]
    hostile, expect = outcome.hostile, outcome.hostile.expect
    assert isinstance(expect, Completes)
    objects = _results(run, outcome)
    job = outcome.record.job_id
    svg_keys = [layout.svg_key(job, number) for number in range(1, expect.pages + 1)]
    expected_keys = {
        layout.document_json_key(job),
        layout.document_text_key(job),
        layout.pdf_key(job),
        *svg_keys,
    }
    assert set(objects) == expected_keys

    document = json.loads(objects[layout.document_json_key(job)])
    assert document["source"]["key"] == hostile.key
    assert document["source"]["sha256"]
    assert len(document["pages"]) == expect.pages
    text = "\n".join(page["text"] for page in document["pages"])
    assert [fragment for fragment in expect.texts if fragment not in text] == []
    assert objects[layout.document_text_key(job)].decode("utf-8").count("\f") == expect.pages - 1
    if expect.rotations:
        assert tuple(page["rotation"] for page in document["pages"]) == expect.rotations

    for key in svg_keys:
        root = ElementTree.fromstring(objects[key])  # well-formed XML, whatever the text held
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert tags <= {"svg", "title", "defs", "clipPath", "rect", "g", "path", "image", "text"}, tags
        # The only references are the images pagefan re-encoded, embedded: nothing external.
        references = [
            (element.tag.rsplit("}", 1)[-1], value)
            for element in root.iter()
            for name, value in element.attrib.items()
            if name.endswith("href")
        ]
        assert [
            (tag, value[:40])
            for tag, value in references
            if tag != "image" or not value.startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
        ] == []
    assert len(PdfReader(BytesIO(objects[layout.pdf_key(job)])).pages) == expect.pages

    for payload in hostile.never_in_outputs:
        assert [key for key, body in objects.items() if payload.encode() in body] == [], payload


@pytest.mark.parametrize("name", list(CLASSES))
def test_the_upload_is_untouched(run: HostileRun, name: str) -> None:
    hostile = run.outcomes[name].hostile
    bucket = run.stack.outputs["RawBucketName"]
    assert run.stack.read("RawBucketName", hostile.key) == hostile.data
    listing = run.stack.account.client("s3").list_object_versions(Bucket=bucket, Prefix=hostile.key)
    versions = [version for version in listing.get("Versions", []) if version["Key"] == hostile.key]
    markers = [marker for marker in listing.get("DeleteMarkers", []) if marker["Key"] == hostile.key]
    assert (len(versions), markers) == (1, [])
    assert run.outcomes[name].record.source.key == hostile.key


@pytest.mark.parametrize("name", FAILING)
def test_a_failed_job_leaves_nothing_in_the_results_bucket(run: HostileRun, name: str) -> None:
    outcome = run.outcomes[name]
    assert run.stack.keys("ResultsBucketName", outcome.job_prefix) == []
    assert outcome.record.outputs == {}


# --- the run as a whole ------------------------------------------------------------------------


def test_every_object_is_written_inside_the_pipelines_prefixes(run: HostileRun) -> None:
    # Keys such as "../../etc/passwd.pdf" name the upload only: the pipeline's keys are job ids.
    assert [key for key in run.stack.keys("WorkBucketName") if not _WORK_KEY.fullmatch(key)] == []
    assert [key for key in run.stack.keys("ResultsBucketName") if not _RESULT_KEY.fullmatch(key)] == []
    assert set(run.stack.keys("RawBucketName")) == {outcome.hostile.key for outcome in run.outcomes.values()}
    job_ids = {outcome.record.job_id for outcome in run.outcomes.values()}
    assert {key.split("/")[1] for key in run.stack.keys("ResultsBucketName")} <= job_ids


def test_no_link_is_followed_and_no_action_is_run(run: HostileRun) -> None:
    assert run.sentinel.requests == []
    assert not run.marker.exists()
    # The sentinel was listening all along: a request of our own is recorded.
    probe(run.sentinel)
    assert [request.path for request in run.sentinel.requests] == ["/probe"]


def test_a_bad_page_fails_that_page_and_never_its_worker(run: HostileRun) -> None:
    # Every failed page above was recorded by the PageWorker itself, in the invocation that read
    # it: no invocation failed, none was retried, nothing reached the on-failure queue. (The
    # FailureRecorder still sees each FAILED job's execution end, and leaves the ended job alone.)
    functions = run.stack.account.functions
    assert {name: environments.stats.errors for name, environments in functions.items()} == dict.fromkeys(
        functions, 0
    )
    assert run.stack.account.failed_deliveries == []
    assert run.stack.account.contention.of()["retried_invocations"] == 0
    assert run.stack.failed_invocations() == []
    pages_seen = sum(len(outcome.pages) for outcome in run.outcomes.values())
    assert functions["PageWorker"].stats.invocations == pages_seen


def test_the_time_budget_stops_pypdf_inside_the_environment_process(run: HostileRun) -> None:
    # The operators page makes pypdf parse for hours; SIGALRM stops it in the PageWorker's own
    # process after PageTimeBudgetSeconds, before the function's Timeout.
    assert TIME_BUDGET == ["millions_of_operators", "one_bad_page_among_good"]
    timeout_ms = run.stack.account.functions["PageWorker"].spec.timeout_s * 1000
    for name in TIME_BUDGET:
        failed = [page for page in run.outcomes[name].pages if page.status == PageStatus.FAILED]
        assert len(failed) == 1 and failed[0].reason is not None
        assert f"took longer than its {PAGE_TIME_BUDGET_SECONDS} s budget" in failed[0].reason
        # Never before the budget; how long after depends on the machine's load, so the bound is
        # the Timeout the budget exists to stay below.
        assert PAGE_TIME_BUDGET_SECONDS * 1000 <= failed[0].duration_ms < timeout_ms


def test_max_svg_elements_caps_the_runs_each_exported_page_draws(run: HostileRun) -> None:
    outcome = run.outcomes["many_text_runs"]
    svg = run.stack.read("ResultsBucketName", layout.svg_key(outcome.record.job_id, 1))
    root = ElementTree.fromstring(svg)
    texts = [(element.text or "").strip() for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[:MAX_SVG_ELEMENTS] == [f"r{index}" for index in range(MAX_SVG_ELEMENTS)]
    assert texts[MAX_SVG_ELEMENTS:] == [
        f"{MANY_RUNS - MAX_SVG_ELEMENTS} more text runs not shown (MaxSvgElements parameter)"
    ]
    # document.json keeps every run: the cap is the exporters' alone.
    document = json.loads(
        run.stack.read("ResultsBucketName", layout.document_json_key(outcome.record.job_id))
    )
    assert len(document["pages"][0]["runs"]) == MANY_RUNS


def test_every_function_stays_within_its_memory_and_time(run: HostileRun, record_property: Any) -> None:
    measured = {}
    for name, environments in run.stack.account.functions.items():
        stats, spec = environments.stats, environments.spec
        longest_ms = max(stats.durations_ms, default=0.0)
        measured[name] = {
            "invocations": stats.invocations,
            "max_rss_mb": round(stats.max_rss_mb),
            "memory_size_mb": spec.memory_mb,
            "longest_s": round(longest_ms / 1000, 2),
            "timeout_s": spec.timeout_s,
        }
        assert stats.max_rss_mb < spec.memory_mb, name
        # The behavioural limit is Lambda's Timeout; tighter wall-clock bounds break on a loaded machine
        # (the time budget itself is tested in test_budgets.py). Times are reported, not asserted.
        assert longest_ms < spec.timeout_s * 1000, name
    record_property("functions", measured)
    record_property("run_seconds", round(run.seconds, 1))
    print(json.dumps({"run_seconds": round(run.seconds, 1), "functions": measured}, indent=1))


def test_each_job_publishes_exactly_one_event_with_its_outcome(run: HostileRun) -> None:
    expected = {
        outcome.record.job_id: "JobCompleted" if outcome.record.status == JobStatus.COMPLETED else "JobFailed"
        for outcome in run.outcomes.values()
    }
    last = next(iter(expected))
    run.stack.job_events(last)  # drains the observer queue into run.stack.events
    deadline = time.monotonic() + 120  # a guard against a hang: each job published as it ended
    while len(run.stack.events) < len(expected) and time.monotonic() < deadline:
        run.stack.job_events("-", timeout=0.5)
    published: dict[str, list[str]] = {}
    for event in run.stack.events:
        published.setdefault(event["detail"]["job_id"], []).append(event["detail-type"])
    assert published == {job_id: [kind] for job_id, kind in expected.items()}
