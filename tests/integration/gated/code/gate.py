"""A Lambda handler that waits at a gate: logs its start, waits for GATE_DIR/open, logs its end."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    """Hold an execution environment until the test opens the gate."""
    gate = Path(os.environ["GATE_DIR"])
    records = event.get("Records") or [{"s3": {"object": {"key": str(event.get("name", "direct"))}}}]
    key = records[0]["s3"]["object"]["key"]
    with (gate / "log").open("a", encoding="utf-8") as log:
        log.write(f"start {key}\n")
    while not (gate / "open").exists():
        time.sleep(0.01)
    with (gate / "log").open("a", encoding="utf-8") as log:
        log.write(f"end {key}\n")
    return {"key": key}
