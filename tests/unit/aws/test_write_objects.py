"""write_objects: every object written, a bounded number at a time, errors raised after the writes settle."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pagefan.aws.objects import ObjectToWrite, write_objects
from pagefan.formats.versions import object_metadata


def _objects(count: int, size: int = 10) -> Iterator[ObjectToWrite]:
    for number in range(1, count + 1):
        yield ObjectToWrite(
            key=f"pages/job/{number:05d}.pdf",
            body=bytes([number % 256]) * size,
            content_type="application/pdf",
            metadata=object_metadata("job", page=number),
        )


class SlowS3:
    """Records the PUTs it receives and how many were in flight at once."""

    def __init__(self, fail_key: str | None = None, *, meet: int = 0) -> None:
        self.keys: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.bytes_in_flight = 0
        self.most_bytes_in_flight = 0
        self._fail_key = fail_key
        self._lock = threading.Lock()
        # With `meet`, the first `meet` PUTs wait for one another: overlapping writes are a state
        # set up here, not a race a loaded machine could lose.
        self._puts = 0
        self._meet = meet
        self._meeting = threading.Barrier(meet) if meet else None

    def put_object(self, *, Key: str, Body: bytes, **kwargs: Any) -> None:
        with self._lock:
            self.in_flight += 1
            self.bytes_in_flight += len(Body)
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.most_bytes_in_flight = max(self.most_bytes_in_flight, self.bytes_in_flight)
            self._puts += 1
            meets = self._meeting is not None and self._puts <= self._meet
        if meets:
            assert self._meeting is not None
            self._meeting.wait(timeout=120)  # a guard against a hang: the others start at once
        time.sleep(0.002)
        with self._lock:
            self.in_flight -= 1
            self.bytes_in_flight -= len(Body)
            self.keys.append(Key)
        if Key == self._fail_key:
            raise RuntimeError("PUT failed")


def test_every_object_is_written_with_its_type_and_metadata() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        assert write_objects(s3, "work", _objects(25)) == 25
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="work")["Contents"]]
        assert keys == [f"pages/job/{n:05d}.pdf" for n in range(1, 26)]
        head = s3.head_object(Bucket="work", Key="pages/job/00007.pdf")
        assert head["ContentType"] == "application/pdf"
        assert head["Metadata"] == object_metadata("job", page=7)
        assert s3.get_object(Bucket="work", Key="pages/job/00007.pdf")["Body"].read() == bytes([7]) * 10


def test_writes_in_flight_are_bounded_in_number_and_bytes() -> None:
    s3 = SlowS3(meet=2)
    assert write_objects(s3, "work", _objects(40), concurrency=4) == 40  # type: ignore[arg-type]
    assert sorted(s3.keys) == [f"pages/job/{n:05d}.pdf" for n in range(1, 41)]
    assert 1 < s3.most_in_flight <= 4

    s3 = SlowS3()
    write_objects(s3, "work", _objects(20, size=100), concurrency=8, max_bytes_in_flight=250)  # type: ignore[arg-type]
    assert s3.most_bytes_in_flight <= 250
    # one body larger than the budget is still written, alone
    s3 = SlowS3()
    write_objects(s3, "work", _objects(3, size=1000), max_bytes_in_flight=250)  # type: ignore[arg-type]
    assert (len(s3.keys), s3.most_in_flight) == (3, 1)


def test_an_error_from_the_objects_is_raised_after_the_writes_started_are_done() -> None:
    s3 = SlowS3()

    def damaged() -> Iterator[ObjectToWrite]:
        yield from _objects(5)
        raise ValueError("page 6 is damaged")

    with pytest.raises(ValueError, match="page 6"):
        write_objects(s3, "work", damaged(), concurrency=8)  # type: ignore[arg-type]
    assert (len(s3.keys), s3.in_flight) == (5, 0)


def test_a_failed_write_stops_taking_objects_and_is_raised() -> None:
    s3 = SlowS3(fail_key="pages/job/00003.pdf")
    taken: list[int] = []

    def counted() -> Iterator[ObjectToWrite]:
        for item in _objects(100):
            taken.append(1)
            yield item

    with pytest.raises(RuntimeError, match="PUT failed"):
        write_objects(s3, "work", counted(), concurrency=2)  # type: ignore[arg-type]
    assert s3.in_flight == 0
    assert len(taken) < 100


def test_an_object_without_its_format_version_is_refused_before_any_write() -> None:
    s3 = SlowS3()
    bare = ObjectToWrite(key="k", body=b"x", content_type="text/plain", metadata={})
    with pytest.raises(ValueError, match="format version"):
        write_objects(s3, "work", [bare])  # type: ignore[arg-type]
    assert s3.keys == []


def test_each_written_object_is_reported() -> None:
    s3 = SlowS3()
    reported: list[str] = []
    write_objects(s3, "work", _objects(20), concurrency=3, written=reported.append)  # type: ignore[arg-type]
    assert sorted(reported) == sorted(s3.keys) == [f"pages/job/{n:05d}.pdf" for n in range(1, 21)]


def test_a_failed_write_is_never_reported_as_written() -> None:
    s3 = SlowS3(fail_key="pages/job/00003.pdf")
    reported: list[str] = []
    with pytest.raises(RuntimeError, match="PUT failed"):
        write_objects(s3, "work", _objects(6), concurrency=2, written=reported.append)  # type: ignore[arg-type]
    # Only writes that succeeded are reported (writes still in flight when the error is raised may
    # finish unreported: a report is a promise, its absence is not).
    assert "pages/job/00003.pdf" not in reported
    assert set(reported) <= set(s3.keys)
