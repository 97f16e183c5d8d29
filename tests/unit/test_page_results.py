"""Reading a job's page results back: a missing one is a readable failure, not a botocore error."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from pagefan.stages.page_results import MissingPageResult, iter_page_results


@mock_aws
def test_a_missing_page_result_names_the_page_and_what_to_do() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="work")
    expected = r"The result of page 1 \(results/job/00001.json\) is missing"
    with pytest.raises(MissingPageResult, match=expected):
        list(iter_page_results(s3, "work", "job", 2))
