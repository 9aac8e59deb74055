"""Reach: protocol scenarios explored exhaustively with the state cache, with and without the
symmetry reduction (``exhaustive(states=True)`` against ``exhaustive(symmetric=[cluster])``), run
side by side in one process.

    python bench/bench_reach.py            # every scenario (about 2 minutes on a quiet 2-core machine)
    python bench/bench_reach.py --quick    # the small ones (seconds)
    python bench/bench_reach.py --workers 2  # also the symmetric search on 2 processes

The table gives, per scenario and per search, the executions run to the end, those pruned at a
state already explored, the distinct states, and the wall-clock time; the last columns are the
ratios (plain / symmetric) of states and of time. The Paxos leader-change race with three
acceptors does not finish either way: it is run for ``--race-seconds`` each way and reported as a
rate and the states reached.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from _results import load_average, metric, write_metrics  # noqa: E402
from hydrologic.sim import ExplorationLimitError  # noqa: E402
from seeded_bugs_support import Participants, Replicas, quorum_register, two_phase_commit_counter  # noqa: E402
from test_paxos_sim import Acceptors, program, race_scenario  # noqa: E402


def two_pc(n: int) -> tuple[Any, Callable[[], None], type]:
    case = two_phase_commit_counter(None, n)
    return case.sim(), case.scenario, Participants


def register(retry: bool) -> tuple[Any, Callable[[], None], type]:
    case = quorum_register(None, retry=retry)
    return case.sim(), case.scenario, Replicas


def paxos_election() -> tuple[Any, Callable[[], None], type]:
    p = program(2, 3, 1)

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()
        p.commands.send("a", member=0)
        p.committed.collect()

    return p.sim(), scenario, Acceptors


def paxos_race() -> tuple[Any, Callable[[], None], type]:
    p = program(2, 3, 1)
    return p.sim(), race_scenario(p), Acceptors


def run(make: Callable[[], tuple[Any, Callable[[], None], type]], symmetric: bool, seconds: float, workers: int = 1) -> dict[str, Any]:
    sim, scenario, cluster = make()
    sim.show_progress = False
    t0 = time.perf_counter()
    finished = True
    try:
        sim.exhaustive(scenario, states=True, symmetric=[cluster] if symmetric else (), max_seconds=seconds, workers=workers)
    except ExplorationLimitError:
        finished = False
    dt = time.perf_counter() - t0
    st = sim.last
    return {
        "finished": finished, "executions": st.executions, "pruned": st.pruned, "states": st.states.distinct,
        "seconds": dt, "rate": (st.executions + st.pruned) / dt,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="only the scenarios that take seconds")
    ap.add_argument("--race-seconds", type=float, default=60.0, help="how long the Paxos race runs each way")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    ap.add_argument(
        "--workers", type=int, default=1,
        help="also run the symmetric search on this many processes (workers=; states are then summed over workers)",
    )
    args = ap.parse_args()
    cases: list[tuple[str, Callable[[], tuple[Any, Callable[[], None], type]], float]] = [
        ("2PC, 2 participants, two conflicting increments", lambda: two_pc(2), 600),
        ("Paxos election + 1 command, 3 acceptors (f = 1)", paxos_election, 600),
        ("quorum register, 3 replicas, a write then a read", lambda: register(False), 600),
    ]
    if not args.quick:
        cases.append(("2PC, 3 participants, two conflicting increments", lambda: two_pc(3), 900))
        cases.append(("quorum register, 3 replicas, a retried write then a read", lambda: register(True), 900))
        cases.append(("Paxos leader-change race, 3 acceptors (f = 1)", paxos_race, args.race_seconds))
    print(f"load average before: {load_average()}")
    print("| scenario | search | executions + pruned | states | time | executions/s | states plain / symmetric | time plain / symmetric |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    metrics: dict[str, Any] = {}
    for label, make, seconds in cases:
        plain = run(make, False, seconds)
        sym = run(make, True, seconds)
        rows = [("plain cache", plain), ("symmetric", sym)]
        if args.workers > 1:
            rows.append((f"symmetric, workers={args.workers}", run(make, True, seconds, args.workers)))
        for name, r in rows:
            done = "" if r["finished"] else f" (stopped at {seconds:g} s, not finished)"
            ratio_states = f"{plain['states'] / sym['states']:.2f}×" if name == "symmetric" and plain["finished"] and sym["finished"] else ""
            ratio_time = f"{plain['seconds'] / sym['seconds']:.2f}×" if name == "symmetric" and plain["finished"] and sym["finished"] else ""
            print(
                f"| {label} | {name}{done} | {r['executions']:,} + {r['pruned']:,} | {r['states']:,} | {r['seconds']:.1f} s | "
                f"{r['rate']:,.0f} | {ratio_states} | {ratio_time} |",
                flush=True,
            )
        short = label
        if plain["finished"] and sym["finished"]:
            metrics[f"{short}: states plain / symmetric"] = metric(plain["states"] / sym["states"], "higher", "x")
            metrics[f"{short}: time plain / symmetric"] = metric(plain["seconds"] / sym["seconds"], "higher", "x")
        else:
            metrics[f"{short}: symmetric executions/s"] = metric(sym["rate"], "higher", "1/s")
    print(f"load average after: {load_average()}")
    write_metrics(args.json, "reach", metrics, {"quick": args.quick, "race_seconds": args.race_seconds})


if __name__ == "__main__":
    main()
