"""read_objects: objects yielded in key order, a bounded number read ahead, errors raised in turn."""

from __future__ import annotations

import contextlib
import io
import threading
import time
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pagefan.aws.objects import read_object, read_objects
from pagefan.errors import ObjectTooLarge


def _keys(count: int) -> list[str]:
    return [f"results/job/{number:05d}.json" for number in range(1, count + 1)]


class SlowS3:
    """Answers GETs with the key as body, the later keys faster, counting how many are in flight.

    With ``meet``, the first ``meet`` GETs wait for one another before answering: reads that
    overlap are then a state the test sets up, not a race a loaded machine could lose (GETs made
    one at a time never meet, and the wait's guard fails them).
    """

    def __init__(self, fail_key: str | None = None, *, meet: int = 0) -> None:
        self.started: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._fail_key = fail_key
        self._lock = threading.Lock()
        self._meet = meet
        self._meeting = threading.Barrier(meet) if meet else None

    def get_object(self, *, Key: str, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.started.append(Key)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            meets = self._meeting is not None and len(self.started) <= self._meet
        if meets:
            assert self._meeting is not None
            self._meeting.wait(timeout=120)  # a guard against a hang: the others start at once
        # Later keys answer sooner than earlier ones, so completion order is not key order.
        time.sleep(0.002 + 0.004 * (int(Key[-10:-5]) % 3 == 1))
        with self._lock:
            self.in_flight -= 1
        if Key == self._fail_key:
            raise RuntimeError(f"GET {Key} failed")
        body = Key.encode()
        return {"ContentLength": len(body), "Body": io.BytesIO(body)}


def _reader_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("s3-read")]


def test_objects_come_back_in_key_order_with_their_bodies() -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="work")
        for key in _keys(20):
            s3.put_object(Bucket="work", Key=key, Body=key.encode(), Metadata={"page": key[-10:-5]})
        stored = list(read_objects(s3, "work", _keys(20), concurrency=4))
    assert [item.body.decode() for item in stored] == _keys(20)
    assert stored[6].metadata == {"page": "00007"} and stored[6].size == len(_keys(20)[6])


def test_reads_ahead_are_bounded_while_the_caller_is_slow() -> None:
    # GIVEN a store where the later keys answer first, and the first two GETs wait for each other
    s3 = SlowS3(meet=2)
    bodies: list[str] = []
    # WHEN the caller takes its time over each object
    for yielded, item in enumerate(read_objects(s3, "work", _keys(40), concurrency=4), start=1):  # type: ignore[arg-type]
        # THEN no more than 4 are read ahead of the objects the caller has had
        assert len(s3.started) - yielded <= 4
        bodies.append(item.body.decode())
        time.sleep(0.001)
    assert bodies == _keys(40)
    assert 1 < s3.most_in_flight <= 4


def test_an_error_is_raised_at_its_object_after_the_ones_before_it() -> None:
    s3 = SlowS3(fail_key=_keys(10)[5])
    reads = read_objects(s3, "work", _keys(10), concurrency=8)  # type: ignore[arg-type]
    yielded = [next(reads).body.decode() for _ in range(5)]
    assert yielded == _keys(5)
    with pytest.raises(RuntimeError, match=r"00006\.json failed"):
        next(reads)
    assert (s3.in_flight, _reader_threads()) == (0, [])


def test_closing_early_cancels_the_reads_not_started_and_leaves_no_thread() -> None:
    s3 = SlowS3()
    reads = read_objects(s3, "work", _keys(100), concurrency=4)  # type: ignore[arg-type]
    assert [next(reads).body.decode() for _ in range(2)] == _keys(2)
    reads.close()
    assert (s3.in_flight, _reader_threads()) == (0, [])
    assert len(s3.started) <= 2 + 4
    started = len(s3.started)
    time.sleep(0.02)
    assert len(s3.started) == started


def test_an_error_in_the_caller_stops_the_reads_once_the_generator_is_dropped() -> None:
    s3 = SlowS3()

    def consume() -> None:
        for item in read_objects(s3, "work", _keys(100), concurrency=4):  # type: ignore[arg-type]
            if item.body.endswith(b"00003.json"):
                raise ValueError("page 3 cannot be drawn")

    with contextlib.suppress(ValueError):
        consume()
    # the traceback, and with it the generator, was released on leaving the block
    assert (s3.in_flight, _reader_threads()) == (0, [])
    assert len(s3.started) <= 3 + 4


def test_no_keys_read_nothing() -> None:
    s3 = SlowS3()
    assert list(read_objects(s3, "work", iter(()), concurrency=4)) == []  # type: ignore[arg-type]
    assert s3.started == []


class _Body(io.BytesIO):
    def read(self, *args: Any) -> bytes:
        raise AssertionError("the body of an object over the limit is never read")


class _LargeObjectS3:
    def __init__(self, size: int) -> None:
        self.body = _Body()
        self.size = size

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        return {"ContentLength": self.size, "Body": self.body}


def test_an_object_over_the_limit_raises_the_adapters_error_before_its_body_is_read() -> None:
    s3 = _LargeObjectS3(size=2_000)
    with pytest.raises(ObjectTooLarge) as caught:
        read_object(s3, "raw", "big.pdf", max_bytes=1_000)  # type: ignore[arg-type]
    assert (caught.value.size, caught.value.max_bytes) == (2_000, 1_000)
    assert str(caught.value) == "s3://raw/big.pdf is 2,000 bytes, more than the 1,000 allowed"
    assert s3.body.closed
