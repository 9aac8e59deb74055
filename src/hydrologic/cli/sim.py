"""``hydrologic sim prog.py:scenario``: explore a simulator scenario from the command line.

``scenario`` names a function that builds the program and returns the scenario to explore:
either ``def scenario(flow: FlowBuilder) -> Callable[[], None]`` (we make the FlowBuilder) or
``def scenario() -> tuple[FlowBuilder, Callable[[], None]]``. Exit status 1 means a failing
execution was found; its trace and replay token are printed.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Callable

from ._args import cluster_size
from ..flow import FlowBuilder
from ..lang.program import load_program
from ..sim import Sim, SimulationFailure, sim
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


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic sim", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("program", help="module:function or path/to/file.py:function returning the scenario")
    parser.add_argument("--mode", choices=("exhaustive", "fuzz", "hypothesis", "replay"), default="exhaustive")
    parser.add_argument("--iterations", type=int, default=10_000, help="fuzz iterations / Hypothesis examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-executions", type=int, default=None, help="stop exhaustive search after this many")
    parser.add_argument("--token", default=None, help="replay token (with --mode replay)")
    parser.add_argument("--cluster", action="append", type=cluster_size, default=[], metavar="NAME=N", help="size of a cluster")
    parser.add_argument("--no-progress", action="store_true", help="no live progress display")
    args = parser.parse_args(argv)
    try:
        flow, scenario = _load(args.program)
        sm: Sim = sim(flow, cluster_sizes=dict(args.cluster))
        if args.mode == "replay":
            if not args.token:
                parser.error("--mode replay needs --token")
            print(sm.replay(scenario, args.token))
            print("[hydrologic sim] the replayed execution passed")
            return 0
        total = args.iterations if args.mode in ("fuzz", "hypothesis") else args.max_executions
        with progress_display(f"{args.mode} {args.program}", total, enabled=not args.no_progress) as progress:
            if args.mode == "exhaustive":
                sm.exhaustive(scenario, max_executions=args.max_executions, progress=progress)
            elif args.mode == "fuzz":
                sm.fuzz(scenario, iterations=args.iterations, seed=args.seed, progress=progress)
            else:
                sm.hypothesis(scenario, max_examples=args.iterations, seed=args.seed)
    except SimulationFailure as e:
        print(str(e), file=sys.stderr)
        return 1
    except (BuildError, UsageError, HydroRuntimeError) as e:
        print(f"hydrologic sim: {e}", file=sys.stderr)
        return 2
    st = sm.last
    assert st is not None
    how = "every execution" if args.mode == "exhaustive" else "no failure"
    print(
        f"[hydrologic sim] {args.mode}: {st.executions:,} execution(s) passed ({how}), {st.pruned:,} pruned as "
        f"redundant, {st.seconds:.2f}s ({st.per_second:,.0f}/s)"
    )
    return 0
