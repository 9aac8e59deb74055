"""The machine-readable output every benchmark script writes with ``--json PATH``.

``write_metrics(path, bench, metrics, config)`` writes ``{"bench": ..., "config": {...},
"metrics": {name: {"value": float, "better": "higher"|"lower", "unit": str}}, "load": [...]}``,
which ``python -m bench`` collects over repeats, summarises (median, spread) and compares with the
last stored run. It also holds the one measurement every multi-process benchmark shares:
``cpu_seconds(pid)``, a live process's CPU time read from ``/proc``.
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (all its threads) so far; NaN once it is gone.

    Read from ``/proc/<pid>/stat`` (Linux), in clock ticks of 10 ms: measure spans of a second
    or more. Wall-clock rates of several processes on two cores measure the scheduler as much as
    the code; their CPU time per unit of work does not.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def write_metrics(path: str | None, bench: str, metrics: dict[str, dict[str, Any]], config: dict[str, Any]) -> None:
    if not path:
        return
    with open(path, "w") as f:
        json.dump({"bench": bench, "config": config, "metrics": metrics, "load": load_average()}, f, indent=1)
