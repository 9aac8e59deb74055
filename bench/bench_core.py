"""Core runtime overhead: hydrologic programs against the hand-written loops they replace.

    python bench/bench_core.py [--n 1000000] [--reps 7] [--keys 1000]

Cases (each calls the SAME user functions on both sides):

(a) map -> filter -> fold over N ints.
    hydrologic: ``p.source_iter(data).map(f).filter(pred).fold(init, g)``, read with ``run.value``.
    baseline:   ``acc = init(); for x in data: y = f(x); if pred(y): acc = g(acc, y)``.
(b) keyed count over N (key, value) pairs with K distinct keys.
    hydrologic: ``p.source_iter(pairs).into_keyed().fold(init, g)``.
    baseline:   ``d = {}; for k, v in pairs: d[k] = g(d[k] if k in d else init(), v)``.
(c) case (a) streamed: the N ints arrive in N/B sends of B (``--chunk``), each followed by
    ``run_until_idle()`` (one tick per send), so per-tick overhead shows.
    hydrologic: ``inp, xs = p.sim_input(int); xs.map(f).filter(pred).fold(init, g)``.
    baseline:   the loop of (a), run over the chunks one after the other.

The hydrologic side is timed twice: "build+run" (FlowBuilder, graph, build checks, runtime
construction, run to idle, read the value) and "run only" (the flow is built beforehand; the
timing covers ``run_in_process`` and running it). Each timing is the best (and median) of
``--reps`` repetitions with ``time.perf_counter`` (or, with ``--cpu-time``, ``time.process_time``:
the CPU time of this process, which waiting for a core on a loaded machine does not inflate), the
three interleaved rep by rep; peak memory is measured separately, once per
side, with ``tracemalloc`` (tracing slows Python down, so it never overlaps a timed run). Inputs
are created before timing and are shared by both sides.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from typing import Any, Callable

import hydrologic as hl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import metric, write_metrics  # noqa: E402

# ---- the user functions (shared by both sides) ------------------------------------------------


def f(x: int) -> int:
    return x * 3 + 1


def pred(y: int) -> bool:
    return y % 2 == 0


def init() -> int:
    return 0


def g(acc: int, y: int) -> int:
    return acc + y


class Main: ...


# ---- case (a) ---------------------------------------------------------------------------------


def baseline_a(data: list[int]) -> int:
    acc = init()
    for x in data:
        y = f(x)
        if pred(y):
            acc = g(acc, y)
    return acc


def build_a(data: list[int]) -> tuple[hl.FlowBuilder, Any]:
    flow = hl.FlowBuilder("bench_a")
    p = flow.process(Main)
    total = p.source_iter(data).map(f).filter(pred).fold(init, g)
    return flow, total


# ---- case (b) ---------------------------------------------------------------------------------


def baseline_b(pairs: list[tuple[int, int]]) -> dict[int, int]:
    d: dict[int, int] = {}
    for k, v in pairs:
        d[k] = g(d[k] if k in d else init(), v)
    return d


def build_b(pairs: list[tuple[int, int]]) -> tuple[hl.FlowBuilder, Any]:
    flow = hl.FlowBuilder("bench_b")
    p = flow.process(Main)
    counts = p.source_iter(pairs).into_keyed().fold(init, g)
    return flow, counts


# ---- case (c) ---------------------------------------------------------------------------------


def baseline_c(chunks: list[list[int]]) -> int:
    acc = init()
    for chunk in chunks:
        for x in chunk:
            y = f(x)
            if pred(y):
                acc = g(acc, y)
    return acc


def build_c(chunks: list[list[int]]) -> tuple[hl.FlowBuilder, Any]:
    flow = hl.FlowBuilder("bench_c")
    p = flow.process(Main)
    inp, xs = p.sim_input(int)
    total = xs.map(f).filter(pred).fold(init, g)
    return flow, (total, inp, chunks)


# ---- harness ----------------------------------------------------------------------------------


def run_flow(flow: hl.FlowBuilder, coll: Any) -> Any:
    with flow.run_in_process() as run:
        if isinstance(coll, tuple):  # a streamed case: (collection, input port, chunks)
            streamed: tuple[Any, hl.SimInput[int], list[list[int]]] = coll  # pyright: ignore[reportUnknownVariableType]
            total, inp, chunks = streamed
            for chunk in chunks:
                inp.send_many(chunk)
                run.run_until_idle()
            return run.value(total)
        return run.value(coll)


def build_and_run(build: Callable[[Any], tuple[hl.FlowBuilder, Any]], data: Any) -> Any:
    flow, coll = build(data)
    return run_flow(flow, coll)


CLOCK: Callable[[], float] = time.perf_counter


def once(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = CLOCK()
    fn()
    return CLOCK() - t0


def timed_round_robin(
    build: Callable[[Any], tuple[hl.FlowBuilder, Any]], baseline: Callable[[Any], Any], inp: Any, reps: int
) -> tuple[list[float], list[float], list[float]]:
    """Wall times of baseline, build+run and run-only, interleaved rep by rep so that noise
    from other processes on the machine hits all three alike, and in a rotating order so that
    none of the three always runs first, second or third (a fixed order showed up as a steady
    few-percent bias between build+run and run-only, which do the same work but 0.3 ms)."""
    base: list[float] = []
    both: list[float] = []
    run_only: list[float] = []

    def time_base() -> None:
        base.append(once(lambda: baseline(inp)))

    def time_both() -> None:
        both.append(once(lambda: build_and_run(build, inp)))

    def time_run_only() -> None:
        flow, coll = build(inp)  # untimed
        run_only.append(once(lambda: run_flow(flow, coll)))

    order = [time_base, time_both, time_run_only]
    for rep in range(reps):
        for step in order[rep % 3 :] + order[: rep % 3]:
            step()
    return base, both, run_only


def tick_cost(elements: int, reps: int, sizes: tuple[int, ...] = (1, 10, 100, 1000)) -> list[tuple[int, float, float]]:
    """Case (c) at several elements per tick: (elements per tick, hydrologic µs per tick, baseline
    µs per tick), the best of ``reps`` runs, ``elements`` elements in all at each size."""
    rows = []
    for size in sizes:
        ticks = max(1, elements // size)
        chunks = [list(range(i * size, (i + 1) * size)) for i in range(ticks)]
        h: list[float] = []
        b: list[float] = []
        for _ in range(reps):
            flow, coll = build_c(chunks)
            h.append(once(lambda: run_flow(flow, coll)))
            b.append(once(lambda: baseline_c(chunks)))
        rows.append((size, min(h) / ticks * 1e6, min(b) / ticks * 1e6))
    return rows


def build_branches(branches: int) -> tuple[hl.FlowBuilder, list[Any], list[Any]]:
    """``branches`` copies of case (c)'s program on one process, each with its own input."""
    flow = hl.FlowBuilder("bench_branches")
    p = flow.process(Main)
    ports: list[Any] = []
    totals: list[Any] = []
    for _ in range(branches):
        inp, xs = p.sim_input(int)
        ports.append(inp)
        totals.append(xs.map(f).filter(pred).fold(init, g))
    return flow, ports, totals


def branches_cost(branches: int, ticks: int, reps: int) -> float:
    """µs per tick of a location running ``branches`` independent map->filter->fold chains when
    each tick's one element goes to one of them: what idle operators cost a tick."""
    best = float("inf")
    for _ in range(reps):
        flow, ports, totals = build_branches(branches)

        def run() -> None:
            with flow.run_in_process() as r:
                for i in range(ticks):
                    ports[i % branches].send(i)
                    r.run_until_idle()
                assert sum(r.value(t) for t in totals) == baseline_c([list(range(ticks))])

        best = min(best, once(run))
    return best / ticks * 1e6


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares ``y = a + b x``: (a, b)."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def peak_memory(fn: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--keys", type=int, default=1000)
    ap.add_argument("--chunk", type=int, default=100, help="elements per send in case (c)")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    ap.add_argument("--no-fusion", action="store_true", help="run operators one by one (no chain fusion)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with time.process_time (CPU time of this process) instead of wall time")
    ap.add_argument("--ticks", type=int, default=20_000, metavar="N",
                    help="cost per tick and per element: case (c) with N elements at 1, 10, 100, 1000 per tick (0: skip)")
    ap.add_argument("--json", metavar="PATH", help="also write the ratios as JSON (for python -m bench)")
    args = ap.parse_args()
    if args.cpu_time:
        global CLOCK
        CLOCK = time.process_time
    if args.no_fusion:
        import hydrologic.runtime.tick as tick_engine

        tick_engine.FUSION = False
    n, reps = args.n, args.reps

    data = list(range(n))
    pairs = [(i % args.keys, i) for i in range(n)]
    chunks = [data[i : i + args.chunk] for i in range(0, n, args.chunk)]

    cases: list[tuple[str, Callable[[Any], tuple[hl.FlowBuilder, Any]], Callable[[Any], Any], Any]] = [
        (f"(a) map->filter->fold, {n:,} ints", build_a, baseline_a, data),
        (f"(b) keyed fold (count), {n:,} pairs, {args.keys:,} keys", build_b, baseline_b, pairs),
        (f"(c) = (a) in {len(chunks):,} sends of {args.chunk:,}", build_c, baseline_c, chunks),
    ]

    print(f"python {platform.python_version()} ({platform.python_implementation()}) on {platform.machine()}, "
          f"reps={reps}, fusion={'off' if args.no_fusion else 'on'}, best (median) seconds"
          f"{' of CPU time' if args.cpu_time else ''}")
    header = f"{'case':52} {'hydrologic build+run':>22} {'hydrologic run only':>22} {'baseline':>18} {'ratio b+r':>9} {'ratio run':>9}"
    print(header)
    print("-" * len(header))
    mem_rows: list[tuple[str, int, int]] = []
    metrics: dict[str, dict[str, Any]] = {}
    for name, build, baseline, inp in cases:
        expected = baseline(inp)
        got = build_and_run(build, inp)
        assert got == expected, f"{name}: hydrologic {got!r:.80} != baseline {expected!r:.80}"

        base, both, run_only = timed_round_robin(build, baseline, inp, reps)
        b_best, b_med = min(base), statistics.median(base)
        h_best, h_med = min(both), statistics.median(both)
        r_best, r_med = min(run_only), statistics.median(run_only)
        print(
            f"{name:52} {h_best:10.3f} ({h_med:8.3f}) {r_best:10.3f} ({r_med:8.3f}) {b_best:7.3f} ({b_med:7.3f})"
            f" {h_best / b_best:8.2f}x {r_best / b_best:8.2f}x"
        )
        metrics[f"{name[:3]} run only / baseline"] = metric(r_best / b_best, "lower", "x")
        metrics[f"{name[:3]} build+run / baseline"] = metric(h_best / b_best, "lower", "x")
        if not args.no_memory:
            mem_rows.append((name, peak_memory(lambda: build_and_run(build, inp)), peak_memory(lambda: baseline(inp))))

    if mem_rows:
        print()
        print(f"{'peak memory (tracemalloc, beyond the input)':52} {'hydrologic':>12} {'baseline':>12}")
        for name, h, b in mem_rows:
            print(f"{name:52} {h / 2**20:9.1f} MiB {b / 2**20:9.1f} MiB")
    if args.ticks:
        rows = tick_cost(args.ticks, reps)
        print()
        print(f"cost per tick, case (c) with {args.ticks:,} elements at each size (best of {reps}, µs per tick)")
        print(f"{'elements per tick':>18} {'hydrologic':>12} {'baseline':>10} {'overhead':>10}")
        for size, h, b in rows:
            print(f"{size:>18,} {h:>12.2f} {b:>10.2f} {h - b:>10.2f}")
        xs = [float(r[0]) for r in rows]
        ha, hb = fit(xs, [r[1] for r in rows])
        ba, bb = fit(xs, [r[2] for r in rows])
        print(f"fit (a + b * elements): hydrologic {ha:.2f} µs per tick + {hb:.3f} µs per element; "
              f"baseline {ba:.2f} + {bb:.3f}")
        metrics["tick: fixed µs per tick"] = metric(rows[0][1] - rows[0][2], "lower", "µs")
        wide = branches_cost(10, args.ticks, reps)
        print(f"10 independent chains on one process, one element per tick to one of them: {wide:.2f} µs per tick")
        metrics["tick: 10 chains, 1 active, µs"] = metric(wide, "lower", "µs")
        metrics["tick: fit µs per tick"] = metric(ha, "lower", "µs")
        metrics["tick: fit µs per element"] = metric(hb, "lower", "µs")
        for size, h, b in rows:
            metrics[f"tick: {size} per tick, µs"] = metric(h, "lower", "µs")
            metrics[f"tick: {size} per tick, baseline µs"] = metric(b, "lower", "µs")
        metrics["tick: µs per element / baseline"] = metric(hb / bb, "lower", "x")
    sys.stdout.flush()
    write_metrics(args.json, "core", metrics,
                  {"n": n, "reps": reps, "chunk": args.chunk, "fusion": not args.no_fusion, "cpu_time": args.cpu_time})


if __name__ == "__main__":
    main()
