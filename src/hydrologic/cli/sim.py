"""``hydrologic sim prog.py:scenario``: explore a simulator scenario from the command line.

``scenario`` names a function that builds the program and returns the scenario to explore:
either ``def scenario(flow: FlowBuilder) -> Callable[[], None]`` (we make the FlowBuilder) or
``def scenario() -> tuple[FlowBuilder, Callable[[], None]]``. Exit status 1 means a failing
execution was found; its trace and replay token are printed, and it is saved as a reproducer file
in ``sim-failures/`` next to the program. Before a long exhaustive search it prints the estimated
number of executions and the nondet sites that dominate it; a search over its budget (60 s and
1,000,000 executions unless ``--max-seconds``/``--max-executions``) stops with exit status 3 and
a message saying what to do. ``hydrologic sim --replay FILE`` re-runs a reproducer
with its full trace (one recorded under pytest re-runs its test with that file).
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from ._args import cluster_size
from ..flow import FlowBuilder
from ..lang.program import load_program
from ..sim import ExplorationLimitError, Sim, SimulationFailure, StaleReproducerError, sim
from ..sim import _repro
from ..sim._progress import progress_display
from ..types.errors import BuildError, HydroRuntimeError, UsageError

__all__ = ["main"]




def _load(spec: str) -> tuple[FlowBuilder, Callable[[], object]]:
    fn, _ = load_program(spec)
    params = [p for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty]
    made: object
    if params:
        flow = FlowBuilder(spec)
        made = fn(flow)
    else:
        got: object = fn()
        if not (isinstance(got, tuple) and len(got) == 2):  # pyright: ignore[reportUnknownArgumentType]
            raise UsageError(
                "HL501",
                f"{spec} must take a FlowBuilder and return the scenario, or take nothing and return (flow, scenario)",
            )
        pair: tuple[object, object] = got  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(pair[0], FlowBuilder):
            raise UsageError("HL501", f"{spec} returned {pair[0]!r} where a FlowBuilder was expected")
        flow, made = pair[0], pair[1]
    if not callable(made):
        raise UsageError("HL501", f"{spec} returned {made!r}, not a scenario function")
    scenario: Callable[[], object] = made
    return flow, scenario


def _absolute(spec: str) -> str:
    """``prog.py:fn`` with the file made absolute, so a reproducer can be replayed from anywhere."""
    target, sep, fn = spec.rpartition(":")
    if sep and target.endswith(".py") and os.path.isfile(target):
        return f"{os.path.abspath(target)}:{fn}"
    return spec


def _replay_file(path: Path, program: str | None) -> int:
    try:
        rep = _repro.load(path)
    except StaleReproducerError as e:
        print(f"[hydrologic] sim: {e}", file=sys.stderr)
        return 2
    print(f"[hydrologic] sim: replaying {path}: {rep.program}, scenario {rep.scenario}, found by {rep.how or 'a search'}")
    if program is None and rep.test and rep.test_file:
        # recorded under pytest: the program is built inside the test, so re-run the test with this file
        test_file = Path(rep.test_file)
        target = f"{test_file}::{rep.test.split('::', 1)[1]}" if "::" in rep.test else str(test_file)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target, "--hl-sim-replay", str(path.resolve())]
        print(f"[hydrologic] sim: it was recorded by the test {rep.test}; running: {' '.join(cmd)}", flush=True)
        return subprocess.run(cmd, cwd=test_file.parent).returncode
    spec = program or rep.program
    try:
        flow, scenario = _load(spec)
        sizes: dict[Any, int] = dict(rep.clusters)
        sm = sim(flow, cluster_sizes=sizes or None)
        trace = sm.replay_reproducer(scenario, rep)
    except SimulationFailure as e:
        print(str(e), file=sys.stderr)
        return 1
    except StaleReproducerError as e:
        print(f"[hydrologic] sim: {e}", file=sys.stderr)
        return 2
    except (BuildError, UsageError, HydroRuntimeError) as e:
        print(
            f"[hydrologic] sim: cannot rebuild the program of {path} from {spec!r}: {e}\n"
            "  (give the program explicitly: hydrologic sim prog.py:function --replay FILE)",
            file=sys.stderr,
        )
        return 2
    print(trace)
    print("[hydrologic] sim: the replayed execution passed: the failure no longer happens (delete the file once fixed)")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic sim", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "program", nargs="?", default=None, help="module:function or path/to/file.py:function returning the scenario"
    )
    parser.add_argument("--replay", type=Path, default=None, metavar="FILE", help="re-run a reproducer file (sim-failures/*.json)")
    parser.add_argument("--mode", choices=("exhaustive", "fuzz", "hypothesis", "replay"), default="exhaustive")
    parser.add_argument("--iterations", type=int, default=10_000, help="fuzz iterations / Hypothesis examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-executions", type=int, default=None, help="exhaustive budget: stop after this many executions (default 1,000,000)"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=None, help="exhaustive budget: stop after this many seconds (default 60; inf: none)"
    )
    parser.add_argument("--token", default=None, help="replay token (with --mode replay)")
    parser.add_argument("--cluster", action="append", type=cluster_size, default=[], metavar="NAME=N", help="size of a cluster")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    parser.add_argument(
        "--states", action="store_true", help="exhaustive: cache explored states, stop executions that reach one again"
    )
    parser.add_argument(
        "--symmetric", action="append", default=[], metavar="CLUSTER",
        help="exhaustive: the members of this cluster are interchangeable (symmetry reduction; implies --states)",
    )
    parser.add_argument(
        "--guided", action="store_true",
        help="fuzz: steer by coverage (plain random while random keeps finding new behaviour, then mutate what did)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="exhaustive and fuzz: use N processes (forked; about N times the executions per second on N free cores)",
    )
    args = parser.parse_args(argv)
    if args.replay is not None:
        return _replay_file(args.replay, args.program)
    if args.program is None:
        parser.error("give the program (prog.py:function), or --replay FILE")
    try:
        flow, scenario = _load(args.program)
        sm: Sim = sim(flow, cluster_sizes=dict(args.cluster))
        sm.program = _absolute(args.program)
        if args.mode == "replay":
            if not args.token:
                parser.error("--mode replay needs --token")
            print(sm.replay(scenario, args.token))
            print("[hydrologic] sim: the replayed execution passed")
            return 0
        total = args.iterations if args.mode in ("fuzz", "hypothesis") else None
        sm.on_estimate = lambda est: print(f"[hydrologic] sim: estimate: {est.render()}", flush=True)
        with progress_display(f"{args.mode} {args.program}", total, enabled=not args.no_progress) as progress:
            if args.mode == "exhaustive":
                sm.exhaustive(
                    scenario, max_executions=args.max_executions, max_seconds=args.max_seconds, progress=progress,
                    states=args.states, symmetric=args.symmetric, workers=args.workers,
                )
            elif args.mode == "fuzz":
                sm.fuzz(scenario, iterations=args.iterations, seed=args.seed, progress=progress, workers=args.workers, guided=args.guided)
            else:
                sm.hypothesis(scenario, max_examples=args.iterations, seed=args.seed)
    except SimulationFailure as e:
        print(str(e), file=sys.stderr)
        return 1
    except ExplorationLimitError as e:
        print(f"[hydrologic] sim: {e}", file=sys.stderr)
        return 3
    except (BuildError, UsageError, HydroRuntimeError) as e:
        print(f"[hydrologic] sim: {e}", file=sys.stderr)
        return 2
    st = sm.last
    assert st is not None
    how = "every execution" if args.mode == "exhaustive" else "no failure"
    print(
        f"[hydrologic] sim: {args.mode}: {st.executions:,} execution(s) passed ({how}), {st.pruned:,} pruned as "
        f"redundant, {st.seconds:.2f}s ({st.per_second:,.0f}/s)"
    )
    if st.states is not None:
        renamed = f", {st.states.renamed:,} keyed under a renaming of members" if st.states.symmetry is not None else ""
        print(f"[hydrologic] sim: {st.states.distinct:,} distinct state(s) explored{renamed}")
    return 0
