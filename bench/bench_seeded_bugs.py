"""Seeded bugs: executions (and seconds) each search needs to find each bug.

    python bench/bench_seeded_bugs.py            # full run: 10 seeds, caps of 5,000 executions and 20 s (about 10 minutes)
    python bench/bench_seeded_bugs.py --quick    # 3 seeds, caps of 2,000 executions and 10 s
    python bench/bench_seeded_bugs.py --paxos --only lowest --no-naive --seeds 6 --cap 3000 --seconds 120
    python bench/bench_seeded_bugs.py --only "5 replicas" --no-naive --seeds 100 --seed0 2000   # guided vs random, deep bugs

For every mutation of the seeded-bug suite (``tests/seeded_bugs_support.py``) and the seeded
bugs of ``bench/bench_sim.py``, five searches run on the same program and scenario:

* **exhaustive**: our DFS, executions until the first failure;
* **guided**: coverage-guided fuzz (``fuzz(guided=True)``), mean over the seeds;
* **random**: plain random fuzz (``fuzz()``), mean over the seeds;
* **naive DFS** and **naive random**: the same two searches over the naive interleaving explorer
  (``hydrologic.sim._naive``: every message delivery is its own scheduling event, no reduction).

A search that reaches its cap (executions or ``--seconds``) without finding the bug is reported
as "> n" (the executions it ran) and counted as n in the means, so a mean with a missed seed, and
a ratio against a search that gave up, is a lower bound (marked "≥").
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from _results import metric, write_metrics  # noqa: E402

import hydrologic as hl  # noqa: E402
from hydrologic.sim import ExplorationLimitError, SimulationFailure, sim  # noqa: E402
from hydrologic.sim._engines import Make, Stats, exhaustive, fuzz  # noqa: E402
from hydrologic.sim._instance import SimInstance  # noqa: E402
from hydrologic.sim._naive import NaiveInstance  # noqa: E402
from hydrologic.sim._plan import Plan  # noqa: E402

import bench_sim  # noqa: E402
from seeded_bugs_support import BUGS, quorum_register  # noqa: E402


@dataclass
class Target:
    name: str
    plan: Callable[[], Plan]
    scenario: Callable[[], None]
    deep: bool = False  # random fuzz needs hundreds of executions or more (summarized apart)


@dataclass
class Found:
    executions: float  # mean over seeds (at the cap for a seed that did not find it)
    seconds: float  # mean over seeds
    missed: int  # seeds (or the one DFS) that hit the cap without finding it

    def show(self, runs: int) -> str:
        if self.executions != self.executions:  # not run
            return "-"
        if self.missed == runs:  # every run gave up: the bug needs more than that
            return f"> {self.executions:,.0f}"
        s = f"{self.executions:,.1f}" if self.executions % 1 else f"{self.executions:,.0f}"
        return s + (f" ({self.missed} missed)" if self.missed else "")


def paxos_lowest_ballot() -> Target:
    """``tests/test_paxos_sim.py``'s deepest seeded bug: a new leader recovers, for each slot, the
    value with the *lowest* ballot (about one random execution in 230 shows it). It replaces the
    private function the test replaces (``hydrologic.std.paxos.proposer._recover``); if that
    function is renamed the run stops with an error (it was once skipped with a note on stderr,
    and the table went without its deepest row for several runs unnoticed)."""
    import importlib

    tps = importlib.import_module("test_paxos_sim")
    module = tps.proposer_module
    if not hasattr(module, "_recover"):
        raise SystemExit(
            "bench_seeded_bugs --paxos: hydrologic.std.paxos.proposer has no _recover any more; "
            "point paxos_lowest_ballot() at the function tests/test_paxos_sim.py now replaces"
        )

    def lowest(promises: dict[int, tuple[tuple[int, object, object], ...]]) -> dict[int, tuple[object, object]]:
        merged: dict[int, tuple[object, object]] = {}
        for log in promises.values():
            for slot, ballot, value in log:
                cur = merged.get(slot)
                if cur is None or ballot < cur[0]:  # type: ignore[operator]
                    merged[slot] = (ballot, value)
        return merged

    module._recover = lowest
    p = tps.program(3, 3, 1)
    s = p.sim()
    return Target("test_paxos_sim: recovery prefers the lowest ballot", lambda: s.plan, tps.takeover_scenario(p, tps.Takeovers()), deep=True)


def targets(paxos: bool = False) -> list[Target]:
    out: list[Target] = []
    for bug in BUGS:
        case = bug.build(True)
        s = case.sim()
        out.append(Target(bug.name, lambda s=s: s.plan, case.scenario))
    legacy: list[tuple[str, Callable[[], tuple[hl.FlowBuilder, Callable[[], None]]], dict[object, int] | None]] = [
        ("bench_sim: a batch sums to 123 (30 fillers)", lambda: bench_sim.batch_123(30), None),
        ("bench_sim: first store batch holds 2 of 6", lambda: bench_sim.first_batch_pair(6), None),
        ("bench_sim: shard 1's first batch holds 2", lambda: bench_sim.cluster_first_batch(4), {bench_sim.Shard: 2}),
        ("bench_sim: stale snapshot read (4 writes)", lambda: bench_sim.stale_read(4), None),
    ]
    for name, mk, sizes in legacy:
        flow, scenario = mk()
        s = sim(flow, cluster_sizes=sizes)
        out.append(Target(name, lambda s=s: s.plan, scenario))
    # Deeper variants: the register's bugs with 5 replicas, where the bug needs a write quorum and a
    # read quorum that miss each other among more members (random fuzz: hundreds to thousands).
    for mutation, retry in (("write-quorum-too-small", False), ("duplicate-acks-counted", True)):
        case = quorum_register(mutation, retry=retry, replicas=5)
        s = case.sim()
        out.append(Target(f"{mutation}, 5 replicas", lambda s=s: s.plan, case.scenario, deep=True))
    if paxos:
        out.append(paxos_lowest_ballot())
    return out


def dfs(t: Target, make: Make, cap: int, seconds: float) -> Found:
    st = Stats("exhaustive")
    t0 = time.perf_counter()
    try:
        exhaustive(t.plan(), t.scenario, max_executions=cap, max_seconds=seconds, stats=st, make=make, probe_seconds=seconds)
    except SimulationFailure:
        return Found(st.executions + st.pruned, time.perf_counter() - t0, 0)
    except ExplorationLimitError:
        pass
    return Found(st.executions + st.pruned, time.perf_counter() - t0, 1)  # gave up (or finished: no bug)


def fuzzing(t: Target, make: Make, guided: bool, seeds: int, cap: int, seconds: float, seed0: int = 0) -> Found:
    counts: list[int] = []
    times: list[float] = []
    missed = 0
    plan = t.plan()
    for seed in range(seed0, seed0 + seeds):
        st = Stats("fuzz")
        t0 = time.perf_counter()
        try:
            fuzz(plan, t.scenario, iterations=cap, seed=seed, time_limit=seconds, shrink_failures=False, stats=st, make=make, guided=guided)
            missed += 1
            counts.append(cap)
        except SimulationFailure:
            counts.append(st.executions + st.pruned)
        times.append(time.perf_counter() - t0)
    return Found(statistics.mean(counts), statistics.mean(times), missed)


def ratio(prefix: str, r: float) -> str:
    return "-" if r != r else f"{prefix}{r:,.1f}×"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 seeds, caps of 2,000 executions and 10 s")
    ap.add_argument("--seeds", type=int, default=None)
    ap.add_argument("--seed0", type=int, default=0, help="the first fuzz seed (seeds seed0 .. seed0 + seeds - 1)")
    ap.add_argument("--cap", type=int, default=None, help="executions per search before it gives up")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per search (per seed) before it gives up")
    ap.add_argument("--only", nargs="*", default=None, help="bug names (substrings) to run")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive explorer (its columns show -)")
    ap.add_argument("--paxos", action="store_true", help="also the Paxos lowest-ballot bug of tests/test_paxos_sim.py (minutes)")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    args = ap.parse_args(argv)
    seeds = args.seeds or (3 if args.quick else 10)
    cap = args.cap or (2_000 if args.quick else 5_000)
    seconds = args.seconds or (10.0 if args.quick else 20.0)

    print(f"## Executions to find each seeded bug (fuzz: mean over {seeds} seeds; caps {cap:,} executions, {seconds:g} s)\n")
    print("| seeded bug | exhaustive | guided fuzz | random fuzz | naive DFS | naive random | naive DFS / exhaustive | naive random / random |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    dfs_ratios: list[float] = []
    rnd_ratios: list[float] = []
    guided_vs_random: list[float] = []
    deep_vs: list[float] = []  # random / guided executions, deep rows only
    time_vs: list[float] = []  # random / guided seconds per search, every row
    secs: dict[str, list[float]] = {"exhaustive": [], "guided": [], "random": []}
    for t in targets(args.paxos):
        if args.only and not any(o in t.name for o in args.only):
            continue
        ours = dfs(t, SimInstance, cap, seconds)
        guided = fuzzing(t, SimInstance, True, seeds, cap, seconds, args.seed0)
        rnd = fuzzing(t, SimInstance, False, seeds, cap, seconds, args.seed0)
        if args.no_naive:
            ndfs = nrnd = Found(float("nan"), 0.0, 0)
        else:
            ndfs = dfs(t, NaiveInstance, cap, seconds)
            nrnd = fuzzing(t, NaiveInstance, False, seeds, cap, seconds, args.seed0)
        r1 = ndfs.executions / max(ours.executions, 1)
        r2 = nrnd.executions / max(rnd.executions, 1)
        if not args.no_naive:
            dfs_ratios.append(r1)
            rnd_ratios.append(r2)
        guided_vs_random.append(rnd.executions / max(guided.executions, 1))
        time_vs.append(max(rnd.seconds, 1e-4) / max(guided.seconds, 1e-4))
        if t.deep:
            deep_vs.append(guided_vs_random[-1])
        secs["exhaustive"].append(ours.seconds)
        secs["guided"].append(guided.seconds)
        secs["random"].append(rnd.seconds)
        low1 = "≥ " if ndfs.missed else ""
        low2 = "≥ " if nrnd.missed else ""
        print(
            f"| {t.name} | {ours.show(1)} ({ours.seconds:.2f} s) | {guided.show(seeds)} ({guided.seconds:.2f} s) | "
            f"{rnd.show(seeds)} ({rnd.seconds:.2f} s) | {ndfs.show(1)} | {nrnd.show(seeds)} | {ratio(low1, r1)} | {ratio(low2, r2)} |",
            flush=True,
        )
    if not guided_vs_random:
        print(f"no seeded bug matches --only {args.only}", file=sys.stderr)
        return 2
    g1 = statistics.geometric_mean(dfs_ratios) if dfs_ratios else float("nan")
    g2 = statistics.geometric_mean(rnd_ratios) if rnd_ratios else float("nan")
    g3 = statistics.geometric_mean(guided_vs_random)
    g4 = statistics.geometric_mean(deep_vs) if deep_vs else float("nan")
    g5 = statistics.geometric_mean(time_vs)
    print(f"\ngeometric means: naive DFS / our exhaustive {g1:,.1f}×; naive random / our random {g2:,.1f}×; "
          f"random / guided {g3:,.2f}× (above 1: guided needs fewer executions), on the deep rows {g4:,.2f}×; "
          f"in seconds per search {g5:,.2f}×")
    print(f"slowest find: exhaustive {max(secs['exhaustive']):.2f} s, guided {max(secs['guided']):.2f} s, random {max(secs['random']):.2f} s (per seed)")
    metrics = {
        "naive DFS / exhaustive, geometric mean": metric(g1, "higher", "x"),
        "naive random / random fuzz, geometric mean": metric(g2, "higher", "x"),
        "random / guided fuzz executions, geometric mean": metric(g3, "higher", "x"),
    }
    if deep_vs:
        metrics["random / guided fuzz executions, deep bugs, geometric mean"] = metric(g4, "higher", "x")
    write_metrics(args.json, "seeded_bugs", metrics, {"quick": args.quick, "seeds": seeds, "cap": cap})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
