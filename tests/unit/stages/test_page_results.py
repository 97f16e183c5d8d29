"""Reading a job's page results back: in page order, read ahead; a missing one is a readable failure."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import boto3
import pytest
from moto import mock_aws

from pagefan import layout
from pagefan.aws.page_results import iter_page_results
from pagefan.errors import MissingPageResult
from pagefan.formats.page_result import PageResult
from pagefan.formats.versions import dumps

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def s3() -> Iterator[S3Client]:
    """A moto S3 with an empty work bucket."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="work")
        yield client


def _store_pages(s3: S3Client, numbers: range, *, skip: int | None = None) -> None:
    for number in numbers:
        if number != skip:
            page = PageResult("job", number, 612.0, 792.0, 0, f"page {number}", [], [], 0)
            key = layout.page_result_key("job", number)
            s3.put_object(Bucket="work", Key=key, Body=dumps(page.to_dict()))


def test_a_missing_page_result_names_the_page_and_what_to_do(s3: S3Client) -> None:
    expected = r"The result of page 1 \(results/job/00001.json\) is missing"
    with pytest.raises(MissingPageResult, match=expected):
        list(iter_page_results(s3, "work", "job", 2))


def test_pages_come_in_page_order_within_the_range_asked(s3: S3Client) -> None:
    _store_pages(s3, range(1, 31))
    pages = iter_page_results(s3, "work", "job", 30, read_ahead=4)
    assert [page.text for page in pages] == [f"page {n}" for n in range(1, 31)]
    part = iter_page_results(s3, "work", "job", 30, first_page=11, last_page=40)
    assert [page.page_number for page in part] == list(range(11, 31))


def test_a_missing_page_in_the_middle_is_raised_at_its_turn(s3: S3Client) -> None:
    # GIVEN page 6 of 12 expired while the pages read ahead of it are there
    _store_pages(s3, range(1, 13), skip=6)
    seen: list[int] = []
    # WHEN the pages are read
    with pytest.raises(MissingPageResult, match=r"page 6 \(results/job/00006.json\)") as raised:
        for page in iter_page_results(s3, "work", "job", 12):
            seen.append(page.page_number)
    # THEN pages 1 to 5 came first, and the S3 error is the cause
    assert seen == [1, 2, 3, 4, 5]
    assert raised.value.__cause__ is not None


def test_stopping_early_leaves_no_reader_thread(s3: S3Client) -> None:
    _store_pages(s3, range(1, 41))
    pages = iter_page_results(s3, "work", "job", 40)
    assert [next(pages).page_number for _ in range(3)] == [1, 2, 3]
    assert isinstance(pages, Generator)
    pages.close()
    assert [t for t in threading.enumerate() if t.name.startswith("s3-read")] == []
