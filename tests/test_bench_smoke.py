"""Every benchmark runs: ``python -m bench --smoke`` sizes, one benchmark per test.

These prove that no benchmark crashes and that each writes the metrics ``python -m bench``
summarises. They never assert on speed: a slow or busy machine passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.__main__ import BENCHES, compare, summarise  # noqa: E402


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", [b.name for b in BENCHES])
def test_benchmark_runs_in_smoke_mode(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", name], cwd=ROOT, capture_output=True, text=True, timeout=230,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert f"  {name}: 1 run(s)" in out, out[-4000:]
    assert "CRASHED" not in out


def test_a_crashing_benchmark_fails_the_run(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--only", "core", "--timeout", "0.01"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1 and "core: CRASHED" in proc.stdout and "crashed: core" in proc.stdout


def _run(values: dict[str, list[float]], better: str = "higher") -> dict[str, object]:
    runs = [{"metrics": {k: {"value": v[i], "better": better, "unit": "x"} for k, v in values.items()}}
            for i in range(len(next(iter(values.values()))))]
    return {"benches": {"b": {"metrics": summarise(runs)}}}


def test_summary_is_median_and_relative_spread() -> None:
    s = summarise([{"metrics": {"m": {"value": v, "better": "higher"}}} for v in (1.0, 1.2, 0.8)])
    assert s["m"]["median"] == 1.0 and s["m"]["spread"] == pytest.approx(0.4)


def test_regressions_are_flagged_only_beyond_the_measured_noise() -> None:
    before = _run({"ratio": [1.0, 1.05, 0.95]})  # 10% spread
    # 8% worse: within the noise
    assert [r[-1] for r in compare(_run({"ratio": [0.92, 0.92, 0.92]}), before, 0.05)] == [False]
    # 30% worse: flagged
    assert [r[-1] for r in compare(_run({"ratio": [0.7, 0.7, 0.7]}), before, 0.05)] == [True]
    # 30% better: not a regression
    assert [r[-1] for r in compare(_run({"ratio": [1.3, 1.3, 1.3]}), before, 0.05)] == [False]
    # lower-is-better metrics: higher is worse
    lat_before = _run({"p99": [10.0, 10.0]}, "lower")
    assert [r[-1] for r in compare(_run({"p99": [14.0, 14.0]}, "lower"), lat_before, 0.1)] == [True]
    assert [r[-1] for r in compare(_run({"p99": [7.0, 7.0]}, "lower"), lat_before, 0.1)] == [False]
    # a noisy run widens the threshold
    assert [r[-1] for r in compare(_run({"p99": [9.0, 15.0]}, "lower"), lat_before, 0.1)] == [False]
    assert [r[-1] for r in compare(_run({"p99": [12.0, 12.0]}, "lower"), lat_before, 0.1)] == [True]


def test_stored_results_are_valid_json_with_medians() -> None:
    files = sorted((ROOT / "bench" / "results").glob("*.json"))
    assert files, "bench/results holds the last stored results that python -m bench compares with"
    for f in files:
        data = json.loads(f.read_text())
        assert data["mode"] in ("quick", "full")
        for b in data["benches"].values():
            for m in b.get("metrics", {}).values():
                assert m["better"] in ("higher", "lower") and isinstance(m["median"], (int, float))
    assert os.path.basename(files[-1]).startswith(("quick-", "full-"))
