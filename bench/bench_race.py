"""The Paxos leader-change race with three acceptors (f = 1), explored exhaustively to the end.

    python bench/bench_race.py                  # two processes, every reduction on (about 2 minutes)
    python bench/bench_race.py --workers 1      # one process (about twice as long)
    python bench/bench_race.py --seconds 30     # stop after 30 s and report how far it got
    python bench/bench_race.py --off carry      # without one of the search's optimizations

The scenario (``tests/test_paxos_sim.py``, ``race_scenario``): proposer 0 is elected, then gets
command "a" while proposer 1, which has "b", times out and takes over, with every message of
both in flight. The search is ``sim.exhaustive(race_scenario(p), symmetric=[Acceptors],
workers=...)``: state caching, sleep sets, the acceptors' symmetry. It prints the executions run
to the end, those pruned, the distinct states, the wall-clock time and the machine's load, so
that two settings can be compared back to back (this VM's speed moves by a quarter within the
hour: compare figures from one sitting only). ``--off`` names a switch of the search to turn off
for the run: ``carry`` (going forward when an execution starts over, ``_rewind.CARRY``),
``rewind`` (going back inside a driver call, ``_rewind.REWIND``) or ``refine`` (a revisited
state runs only what its first visit left asleep, ``_states.REFINE``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from _results import load_average  # noqa: E402
from hydrologic.sim import ExplorationLimitError, _rewind, _states  # noqa: E402
from test_paxos_sim import Acceptors, program, race_scenario  # noqa: E402

SWITCHES = {"carry": (_rewind, "CARRY"), "rewind": (_rewind, "REWIND"), "refine": (_states, "REFINE")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--seconds", type=float, default=3000.0, help="stop after this long (default: run to the end)")
    ap.add_argument("--off", choices=sorted(SWITCHES), action="append", default=[], help="turn a switch of the search off")
    args = ap.parse_args()
    for name in args.off:
        module, attr = SWITCHES[name]
        setattr(module, attr, False)
    p = program(2, 3, 1)
    sim = p.sim()
    sim.show_progress = False
    print(f"load average before: {load_average()}", flush=True)
    started = time.perf_counter()
    finished = True
    try:
        sim.exhaustive(race_scenario(p), symmetric=[Acceptors], workers=args.workers, max_seconds=args.seconds, max_executions=10**12)
    except ExplorationLimitError:
        finished = False
    seconds = time.perf_counter() - started
    st = sim.last
    assert st is not None and st.states is not None
    how = "finished" if finished else f"stopped at {args.seconds:g} s"
    off = ", ".join(args.off) or "none"
    print(
        f"race f=1, workers={args.workers}, off: {off}: {st.executions:,} executions + {st.pruned:,} pruned, "
        f"{st.states.distinct:,} states, {seconds:.1f} s ({how})"
    )
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
