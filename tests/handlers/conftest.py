"""Fixtures of the handler tests: an emulated account in-process, a fake Lambda context, cold starts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import cast

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from pagefan.local.emulator.account import REGION
from pagefan.local.emulator.stack import ACCOUNT_ID
from tests.lambda_environment import Account, ColdStart, cold_start


@pytest.fixture
def account() -> Iterator[Account]:
    """An empty account (moto's ``mock_aws``) in the region the sample events name."""
    with mock_aws():
        yield Account()


@pytest.fixture
def lambda_context() -> LambdaContext:
    """The LambdaContext fields handlers and Powertools read."""

    @dataclass
    class FakeLambdaContext:
        function_name: str = "handler-under-test"
        memory_limit_in_mb: int = 128
        invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:handler-under-test"
        aws_request_id: str = "00000000-0000-0000-0000-00000000c0de"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    return cast(LambdaContext, FakeLambdaContext())


@pytest.fixture
def start(monkeypatch: pytest.MonkeyPatch) -> ColdStart:
    """Import a function's handler module (by logical id) as a cold start in its own environment."""
    return partial(cold_start, monkeypatch=monkeypatch)
