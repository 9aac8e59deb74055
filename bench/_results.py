"""The machine-readable output every benchmark script writes with ``--json PATH``.

``write_metrics(path, bench, metrics, config)`` writes ``{"bench": ..., "config": {...},
"metrics": {name: {"value": float, "better": "higher"|"lower", "unit": str}}, "load": [...]}``,
which ``python -m bench`` collects over repeats, summarises (median, spread) and compares with the
last stored run.
"""

from __future__ import annotations

import json
import os
from typing import Any


def metric(value: float, better: str = "higher", unit: str = "") -> dict[str, Any]:
    assert better in ("higher", "lower")
    return {"value": float(value), "better": better, "unit": unit}


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - platforms without it
        return []


def write_metrics(path: str | None, bench: str, metrics: dict[str, dict[str, Any]], config: dict[str, Any]) -> None:
    if not path:
        return
    with open(path, "w") as f:
        json.dump({"bench": bench, "config": config, "metrics": metrics, "load": load_average()}, f, indent=1)
