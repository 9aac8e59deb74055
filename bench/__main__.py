"""Run every benchmark, repeat it, summarise, and compare with the last stored results.

    python -m bench                 # quick mode: small sizes, at most about 3 minutes in all
    python -m bench --full          # the sizes of docs/benchmarks.md (about an hour)
    python -m bench --only redis_p16 core --repeat 5
    python -m bench --smoke         # tiny sizes, one run each: proves that nothing crashes

Each benchmark script runs in its own process with ``--json``; its metrics (ratios against the
baselines it measures in the same run, rates, latencies) are collected over the repeats, and the
table gives each one's median and spread (the range of the repeats, relative to the median). The
results go to ``bench/results/<mode>-<UTC time>.json`` and are compared with the newest earlier
file of the same mode: a metric is flagged ``REGRESSION`` when its median is worse than the stored
median by more than the noise measured in the two runs (the larger of their spreads, and at least
``--min-noise``). The load average is recorded beside every run, since a busy machine moves
every figure.

Exit status: 1 if a benchmark crashed (non-zero exit, or no metrics written), else 0; regressions
are reported, not fatal, unless ``--fail-on-regression`` (then 3). Speed never fails the smoke
mode.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


@dataclass
class Bench:
    name: str
    script: str
    quick: list[str]
    full: list[str]
    smoke: list[str]
    needs: list[str] = field(default_factory=list)  # executables the benchmark drives
    quick_repeat: int = 3


BENCHES: list[Bench] = [
    Bench("core", "bench_core.py", ["--n", "100000", "--reps", "3", "--no-memory", "--ticks", "5000"], ["--reps", "15"],
          ["--n", "2000", "--reps", "1", "--chunk", "10", "--no-memory", "--ticks", "1000"]),
    Bench("net", "bench_net.py", ["--n", "200000", "--repeat", "1", "--ray-n", "0", "--no-memory"], ["--n", "5000000", "--rounds", "3"],
          ["--n", "2000", "--repeat", "1", "--ray-n", "0", "--no-memory"]),
    Bench("resp", "bench_resp.py", ["--requests", "50000", "--reps", "3"], [], ["--requests", "500", "--reps", "1"]),
    Bench("redis_p1", "bench_redis.py", ["--n", "10000", "--repeat", "1"], ["--n", "100000"],
          ["--n", "300", "--c", "5", "--repeat", "1"], needs=["redis-benchmark", "redis-server", "redis-cli"]),
    Bench("redis_p16", "bench_redis.py", ["--n", "50000", "--pipeline", "16", "--repeat", "1"],
          ["--n", "300000", "--pipeline", "16"], ["--n", "3000", "--c", "5", "--pipeline", "16", "--repeat", "1"],
          needs=["redis-benchmark", "redis-server", "redis-cli"]),
    Bench("replicated", "bench_replicated.py", ["--n", "3000", "--pipelines", "16", "--no-unbounded"], ["--n", "50000"],
          ["--n", "200", "--c", "5", "--pipelines", "4", "--no-unbounded"], needs=["redis-benchmark"], quick_repeat=2),
    Bench("abuse", "bench_abuse.py", ["--seconds", "2", "--pipeline", "20000", "--only", "single", "--no-memory"], [],
          ["--seconds", "0.5", "--pipeline", "500", "--only", "single", "--no-memory"], quick_repeat=2),
    Bench("restart", "bench_restart.py", ["--kills", "1", "--starts", "1"], [], ["--kills", "1", "--starts", "1"],
          quick_repeat=1),
    Bench("sim", "bench_sim.py", ["--quick"], [], ["--quick"], quick_repeat=2),
    Bench("reach", "bench_reach.py", ["--quick"], [], ["--quick"], quick_repeat=1),
    Bench("seeded_bugs", "bench_seeded_bugs.py", ["--quick", "--seeds", "2", "--cap", "1000", "--seconds", "5"], [],
          ["--seeds", "1", "--cap", "100", "--seconds", "2", "--only", "read-quorum", "dedupe", "first store batch"], quick_repeat=1),
    # --- scaling: throughput with 1, 2, 4 processes (sharded store, pipeline with k members per stage)
    Bench("scaling_store", "bench_scaling.py", ["--only", "store", "--store-n", "5000", "--shards", "1", "2", "4"],
          ["--only", "store", "--store-n", "100000"],
          ["--only", "store", "--store-n", "300", "--c", "4", "--shards", "1", "2", "--pipelines", "1"],
          needs=["redis-benchmark", "redis-cli"], quick_repeat=1),
    Bench("scaling_pipeline", "bench_scaling.py", ["--only", "pipeline", "--pipe-n", "100000", "--repeat", "1"],
          ["--only", "pipeline", "--pipe-n", "1000000", "--repeat", "3"],
          ["--only", "pipeline", "--pipe-n", "2000", "--shards", "1", "2", "--repeat", "1"], quick_repeat=1),
    # --- scaling on Ray: a local two-node Ray cluster, each program on Ray and on Localhost (skips without ray)
    Bench("ray_scaling", "bench_ray_scaling.py",
          ["--members", "1", "2", "--only", "store-ports", "mapreduce", "--store-n", "20000", "--docs", "2000"],
          ["--repeat", "2", "--store-n", "200000", "--docs", "50000"],
          ["--members", "1", "--only", "mapreduce", "--docs", "50", "--tls-hosts", "2", "--connections", "20"],
          quick_repeat=1),
]
BY_NAME = {b.name: b for b in BENCHES}


def run_once(bench: Bench, args: list[str], timeout: float) -> tuple[dict[str, Any] | None, str, float]:
    """One run of ``bench``: its JSON (None if it crashed), its output, and its duration."""
    fd, path = tempfile.mkstemp(suffix=".json", prefix=f"bench-{bench.name}-")
    os.close(fd)
    os.unlink(path)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, os.path.join(HERE, bench.script), *args, "--json", path],
            capture_output=True, text=True, timeout=timeout, cwd=os.path.dirname(HERE),
        )
        out = proc.stdout + proc.stderr
        ok = proc.returncode == 0 and os.path.exists(path)
        if proc.returncode != 0:
            out += f"\n[exit status {proc.returncode}]"
    except subprocess.TimeoutExpired as e:
        out = f"{e.stdout or ''}{e.stderr or ''}\n[timed out after {timeout:g} s]"
        ok = False
    took = time.monotonic() - t0
    data = None
    if ok:
        with open(path) as f:
            data = json.load(f)
        os.unlink(path)
    return data, out, took


def summarise(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per metric: the values over the repeats, their median and relative spread."""
    out: dict[str, dict[str, Any]] = {}
    for run in runs:
        for name, m in run["metrics"].items():
            e = out.setdefault(name, {"values": [], "better": m["better"], "unit": m.get("unit", "")})
            e["values"].append(m["value"])
    for e in out.values():
        vs = e["values"]
        med = statistics.median(vs)
        e["median"] = med
        e["spread"] = (max(vs) - min(vs)) / abs(med) if len(vs) > 1 and med else None
    return out


def last_results(mode: str, exclude: str | None = None) -> tuple[str, dict[str, Any]] | None:
    files = sorted(glob.glob(os.path.join(RESULTS, f"{mode}-*.json")))
    files = [f for f in files if f != exclude]
    if not files:
        return None
    with open(files[-1]) as f:
        return files[-1], json.load(f)


def compare(now: dict[str, Any], before: dict[str, Any], min_noise: float) -> list[tuple[str, str, float, float, float, float, bool]]:
    """(bench, metric, median now, median before, relative change for the worse, noise, regression)."""
    rows = []
    for bname, b in now["benches"].items():
        old = before.get("benches", {}).get(bname)
        if not old or "metrics" not in b or "metrics" not in old:
            continue
        for mname, m in b["metrics"].items():
            o = old["metrics"].get(mname)
            if o is None or not o.get("median"):
                continue
            worse = (o["median"] - m["median"]) / abs(o["median"])
            if m["better"] == "lower":
                worse = -worse
            noise = max([min_noise] + [s for s in (m.get("spread"), o.get("spread")) if s is not None])
            rows.append((bname, mname, m["median"], o["median"], worse, noise, worse > noise))
    return rows


def fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="small sizes, about 3 minutes in all (the default)")
    g.add_argument("--full", action="store_true", help="the sizes of docs/benchmarks.md")
    g.add_argument("--smoke", action="store_true", help="tiny sizes, one run each: does every benchmark run?")
    ap.add_argument("--only", nargs="+", choices=list(BY_NAME), metavar="NAME", help=f"run these only: {', '.join(BY_NAME)}")
    ap.add_argument("--repeat", type=int, help="runs per benchmark (default: 3 in quick mode, less for the slow ones; 3 in full mode)")
    ap.add_argument("--budget", type=float, default=180.0, help="quick mode: seconds for all benchmarks; repeats stop early to keep to it")
    ap.add_argument("--min-noise", type=float, default=0.10, help="smallest relative change flagged as a regression (default 0.10)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds one run may take before it counts as crashed")
    ap.add_argument("--no-save", action="store_true", help="do not write bench/results/<mode>-<time>.json")
    ap.add_argument("--compare-with", metavar="PATH", help="compare with this results file instead of the newest stored one")
    ap.add_argument("--fail-on-regression", action="store_true", help="exit 3 when a metric regressed beyond the noise")
    ap.add_argument("--verbose", action="store_true", help="print each run's own output")
    a = ap.parse_args(argv)
    mode = "full" if a.full else "smoke" if a.smoke else "quick"
    benches = [BY_NAME[n] for n in a.only] if a.only else BENCHES
    started = time.monotonic()
    report: dict[str, Any] = {"mode": mode, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "python": sys.version.split()[0], "cpus": os.cpu_count(), "benches": {}}
    crashed: list[str] = []
    print(f"python -m bench --{mode}: {len(benches)} benchmarks; load average {os.getloadavg()[0]:.1f}", flush=True)
    for i, bench in enumerate(benches):
        missing = [t for t in bench.needs if not _which(t)]
        if missing:
            crashed.append(bench.name)
            print(f"  {bench.name}: CRASHED: {', '.join(missing)} not installed", flush=True)
            report["benches"][bench.name] = {"error": f"{', '.join(missing)} not installed"}
            continue
        args = {"quick": bench.quick, "full": bench.full, "smoke": bench.smoke}[mode]
        repeat = a.repeat or (1 if mode == "smoke" else bench.quick_repeat if mode == "quick" else 3)
        runs: list[dict[str, Any]] = []
        loads: list[float] = []
        took: list[float] = []
        for r in range(repeat):
            if mode == "quick" and r > 0 and not a.repeat:
                left = a.budget - (time.monotonic() - started)
                share = left / max(1, len(benches) - i)
                if took and statistics.mean(took) > share:
                    break  # another repeat would overrun the budget: keep what we have
            loads.append(os.getloadavg()[0])
            data, out, t = run_once(bench, args, a.timeout)
            took.append(t)
            if a.verbose or data is None:
                print(out.rstrip(), flush=True)
            if data is None:
                crashed.append(bench.name)
                print(f"  {bench.name}: CRASHED (run {r + 1}); its output is above", flush=True)
                break
            runs.append(data)
        if not runs or bench.name in crashed:
            report["benches"][bench.name] = {"error": "crashed", "seconds": took}
            continue
        metrics = summarise(runs)
        report["benches"][bench.name] = {"args": args, "runs": len(runs), "seconds": [round(x, 1) for x in took],
                                         "load": loads, "metrics": metrics}
        print(f"  {bench.name}: {len(runs)} run(s), {sum(took):.0f} s, load average {min(loads):.1f}-{max(loads):.1f}", flush=True)
        for name, m in metrics.items():
            spread = "" if m["spread"] is None else f" ± {m['spread'] * 100:.0f}%"
            print(f"    {name:52} {fmt(m['median']):>12} {m['unit']:6}{spread}", flush=True)
    total = time.monotonic() - started
    report["seconds"] = round(total, 1)
    print(f"done in {total:.0f} s", flush=True)

    saved = None
    if not a.no_save and mode != "smoke":
        os.makedirs(RESULTS, exist_ok=True)
        saved = os.path.join(RESULTS, f"{mode}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json")
        with open(saved, "w") as f:
            json.dump(report, f, indent=1)
        print(f"results: {os.path.relpath(saved)}")
    if a.compare_with:
        with open(a.compare_with) as f:
            before: tuple[str, dict[str, Any]] | None = (a.compare_with, json.load(f))
    else:
        before = last_results(mode, exclude=saved)
    regressions = 0
    if before is not None and mode != "smoke":
        rows = compare(report, before[1], a.min_noise)
        print(f"\ncompared with {os.path.relpath(before[0])} ({before[1].get('time', '?')}):")
        for bname, mname, now, then, worse, noise, bad in rows:
            flag = "REGRESSION" if bad else ("better" if worse < -noise else "")
            print(f"  {bname:11} {mname:52} {fmt(then):>10} -> {fmt(now):>10} {(-worse) * 100:+6.0f}% (noise {noise * 100:.0f}%) {flag}")
            regressions += bad
        if regressions:
            print(f"{regressions} metric(s) worse than the stored results beyond the measured noise")
    if crashed:
        print(f"crashed: {', '.join(dict.fromkeys(crashed))}")
        return 1
    return 3 if regressions and a.fail_on_regression else 0


def _which(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None


if __name__ == "__main__":
    sys.exit(main())
