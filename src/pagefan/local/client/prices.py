"""AWS list prices for a job's bill: one dated file, read and checked.

Prices live in one dated file (``benchmarks/prices.json``, shipped with the command); they are
public list prices without free tiers and must be re-checked before relying on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pagefan.local import project

PRICE_KEYS = (
    "lambda_arm64_gb_second",
    "lambda_request",
    "s3_put_request",
    "s3_get_request",
    "sfn_standard_transition",
    "dynamodb_write_request_unit",
    "dynamodb_read_request_unit",
    "eventbridge_event",
    "sqs_request",
)


@dataclass(frozen=True)
class Prices:
    """US dollars per unit (one GB-second, one request, one transition, one request unit)."""

    as_of: str
    region: str
    unit_usd: Mapping[str, float]
    sources: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Prices:
        """Read prices.json's shape: ``{"as_of", "region", "sources", "usd": {key: price}}``."""
        usd = {key: float(value) for key, value in data["usd"].items()}
        missing = [key for key in PRICE_KEYS if key not in usd]
        if missing:
            raise ValueError(f"prices lack {', '.join(missing)}")
        return cls(
            as_of=str(data["as_of"]),
            region=str(data["region"]),
            unit_usd=usd,
            sources=tuple(str(s) for s in data.get("sources", ())),
        )

    @classmethod
    def load(cls, path: Path) -> Prices:
        """Read a prices file (benchmarks/prices.json)."""
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def default_prices_path() -> Path:
    """benchmarks/prices.json of the project (a checkout, or the wheel's copy)."""
    return project.default_prices_path()
