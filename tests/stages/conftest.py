"""Fixtures of the stage tests: an emulated account in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.lambda_environment import Account


@pytest.fixture
def account() -> Iterator[Account]:
    """An empty account (moto's ``mock_aws``) in the region the sample events name."""
    with mock_aws():
        yield Account()
