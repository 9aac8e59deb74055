"""Simulator benchmarks: executions per second, and executions needed to find seeded bugs
compared with a naive explorer that interleaves every message delivery (run side by side).

    python bench/bench_sim.py            # full run (about a minute)
    python bench/bench_sim.py --quick    # smaller budgets, for CI smoke runs

The naive explorer (``hydrologic.sim._naive``) runs the same program and scenario, but makes every
delivery of every message its own scheduling event and lets ticks take everything delivered so far,
the way a generic deterministic-simulation framework explores; our simulator branches only at the
program's nondet sites.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from typing import Callable

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, sim
from hydrologic.sim._engines import Make, Stats, exhaustive, fuzz

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import metric, write_metrics  # noqa: E402
from hydrologic.sim._instance import SimInstance
from hydrologic.sim._naive import NaiveInstance


class Client: ...


class Proxy: ...


class Store: ...


class Proposers: ...


class Acceptors: ...


Case = tuple[hl.FlowBuilder, Callable[[], None]]


# ---- programs -------------------------------------------------------------------------------------


def three_locations(n: int, bug: int | None = None) -> Case:
    """client -> proxy (map) -> store (batch, sum per tick) -> client. ``bug``: a batch sum the
    scenario rejects (a bug that appears only under one batching)."""
    flow = hl.FlowBuilder()
    client, proxy, store = flow.process(Client), flow.process(Proxy), flow.process(Store)
    inp, s = client.sim_input(int)
    sums = (
        s.send(proxy)
        .map(lambda x: x)
        .send(store)
        .batch(store.tick(), nondet("the store sums whatever has arrived"))
        .fold(lambda: 0, lambda a, x: a + x)
        .into_stream()
        .all_ticks()
        .send(client)
        .sim_output()
    )
    values = list(range(1, n + 1))

    def scenario() -> None:
        inp.send_many(values)
        got = sums.collect()
        assert sum(got) == sum(values)
        if bug is not None:
            assert bug not in got, f"a batch summed to {bug}"

    return flow, scenario


def first_batch_pair(n: int) -> Case:
    """client -> proxy -> store; the bug: the store's *first* batch holds two messages."""
    flow = hl.FlowBuilder()
    client, proxy, store = flow.process(Client), flow.process(Proxy), flow.process(Store)
    inp, s = client.sim_input(int)
    sizes = (
        s.send(proxy)
        .map(lambda x: x)
        .send(store)
        .batch(store.tick(), nondet("the store takes whatever has arrived"))
        .count()
        .into_stream()
        .all_ticks()
        .send(client)
        .sim_output()
    )

    def scenario() -> None:
        inp.send_many(list(range(n)))
        got = sizes.collect()
        assert got[0] != 2, "first batch held two messages"

    return flow, scenario


class Shard: ...


def cluster_first_batch(n: int) -> Case:
    """Two independent shards each batch what the client sends them; the bug: shard 1's first
    batch holds two messages. Shard 0's batching is irrelevant to the bug."""
    flow = hl.FlowBuilder()
    client = flow.process(Client)
    shards = flow.cluster(Shard)
    inp, s = client.sim_input(tuple)
    sizes = (
        s.map(lambda mx: (hl.MemberId(mx[0]), mx[1]))
        .demux(shards)
        .batch(shards.tick(), nondet("each shard takes whatever has arrived"))
        .count()
        .into_stream()
        .all_ticks()
        .cross_singleton(shards.self_id())
        .send(client)
        .values()
        .sim_output()
    )

    _INPUTS[id(flow)] = [inp]
    _OUTPUTS[id(flow)] = sizes

    def scenario() -> None:
        inp.send_many([(m, i) for i in range(n) for m in (0, 1)])
        per: dict[int, list[int]] = {0: [], 1: []}
        for c, m in sizes.collect():
            per[m.raw_id].append(c)
        assert per[1][0] != 2, "shard 1's first batch held two messages"

    return flow, scenario


def cluster_first_batch_ok(n: int) -> Case:
    flow, _ = cluster_first_batch(n)
    del _
    return flow, _cluster_ok(flow, n)


def _cluster_ok(flow: hl.FlowBuilder, n: int) -> Callable[[], None]:
    inp = next(iter(_INPUTS[id(flow)]))
    out = _OUTPUTS[id(flow)]

    def scenario() -> None:
        inp.send_many([(m, i) for i in range(n) for m in (0, 1)])
        assert sum(c for c, _ in out.collect()) == 2 * n

    return scenario


_INPUTS: dict[int, list[hl.SimInput[tuple[int, int]]]] = {}
_OUTPUTS: dict[int, hl.SimOutput[tuple[int, hl.MemberId[Shard]]]] = {}


def batch_123(fillers: int) -> Case:
    flow = hl.FlowBuilder()
    p = flow.process(Proxy)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("batch")).fold(lambda: 0, lambda a, v: a + v).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([456] * fillers)
        inp.send_many([100, 23])
        inp.send(99)
        while True:
            try:
                v = out.next()
            except AssertionError:
                return
            if v == 456:
                return
            assert v != 123, "boom"

    return flow, scenario


def sequence_payloads(n: int) -> Case:
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    inp, s = p.sim_input(int)
    out = (
        s.weaken_ordering()
        .assume_ordering(nondet("payloads arrive in order (wrong)"))
        .enumerate()
        .filter(lambda iv: iv[0] == iv[1])
        .map(lambda iv: iv[1])
        .sim_output()
    )

    def scenario() -> None:
        inp.send_many_unordered(list(range(n)))
        got = out.collect()
        assert got == list(range(n)), f"dropped payloads: {got}"

    return flow, scenario


def unordered_batch(n: int) -> Case:
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    inp, s = p.sim_input(int)
    out = s.weaken_ordering().batch(p.tick(), nondet("batch")).all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many_unordered(list(range(n)))
        out.assert_yields_only_unordered(list(range(n)))

    return flow, scenario


def stale_read(writes: int) -> Case:
    flow = hl.FlowBuilder()
    client, proxy, store = flow.process(Client), flow.process(Proxy), flow.process(Store)
    w_in, w = client.sim_input(int)
    r_in, r = client.sim_input(str)
    total = w.send(proxy).send(store).fold(lambda: 0, lambda a, x: a + x)
    tick = store.tick()
    answers = (
        r.send(proxy)
        .send(store)
        .batch(tick, nondet("reads are served as they arrive"))
        .cross_singleton(total.snapshot(tick, nondet("reads see some version of the total")))
        .map(lambda rq: rq[1])
        .all_ticks()
        .send(client)
        .sim_output()
    )
    values = list(range(1, writes + 1))

    def scenario() -> None:
        w_in.send_many(values)
        r_in.send("get")
        got = answers.next()
        # the bug: only the final total or a total of at least half of it is acceptable
        assert got * 2 >= sum(values), f"stale read {got}"

    return flow, scenario


# ---- measurements ------------------------------------------------------------------------------------


def paxos_election(n_acceptors: int) -> tuple[hl.FlowBuilder, Callable[[], None], dict[type, int]]:
    """std.paxos with 2 proposers and ``n_acceptors`` (f = 1 for 3): proposer 0 times out and
    takes office, then commits one command; both proposers must learn it in slot 0. A real
    protocol's execution: 5 locations, each with tens of operators."""
    from hydrologic.std.paxos import paxos

    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    px = paxos(
        proposers, acceptors, commands, clock, f=(n_acceptors - 1) // 2,
        nondet_leader=nondet("the scenario drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the scenario accepts any slot for any command"),
        election_timeout=1,
    )
    committed = px.committed.cross_singleton(proposers.self_id()).sim_output()

    def scenario() -> None:
        clock_in.send(None, member=0)
        committed.collect()
        cmd_in.send("a", member=0)
        got = committed.collect()
        assert sorted((e, m.raw_id) for e, m in got) == [((0, "a"), 0), ((0, "a"), 1)], got

    return flow, scenario, {Proposers: 2, Acceptors: n_acceptors}


def execs_per_second(case: Case, mode: str, budget: float, sizes: dict[type, int] | None = None) -> tuple[float, int]:
    flow, scenario = case
    sm = flow.sim(cluster_sizes=sizes) if sizes else sim(flow)
    t0 = time.perf_counter()
    runs = 0
    if mode == "exhaustive":
        while time.perf_counter() - t0 < budget:
            runs += sm.exhaustive(scenario)
    else:
        while time.perf_counter() - t0 < budget:
            runs += sm.fuzz(scenario, iterations=200, seed=runs)
    return runs / (time.perf_counter() - t0), runs


def parallel_rates(quick: bool, metrics: dict[str, object]) -> None:
    """One search at a time, on one process and on two (``workers=2``), in the same invocation.
    Each search runs past its probe (0.2 s), so the two-process runs do fork."""
    n = os.cpu_count() or 1
    print(f"\n## Executions per second on several processes (workers=; this machine has {n} cores)\n")
    print("| program | mode | workers=1 | workers=2 | ratio | executions |")
    print("|---|---|---:|---:|---:|---:|")
    msgs = 12 if quick else 14
    iterations = 4_000 if quick else 20_000
    cases: list[tuple[str, str, Callable[[], tuple[Case, dict[type, int] | None]]]] = [
        (f"3 locations, {msgs} messages", "exhaustive", lambda: (three_locations(msgs), None)),
        ("3 locations, 10 messages", "fuzz", lambda: (three_locations(10), None)),
    ]
    if not quick:
        def paxos() -> tuple[Case, dict[type, int] | None]:
            flow, scenario, sizes = paxos_election(3)
            return (flow, scenario), sizes

        cases.append(("std.paxos election + 1 command, 3 acceptors", "exhaustive", paxos))
    for label, mode, mk in cases:
        rates: list[float] = []
        runs = 0
        for workers in (1, 2):
            (flow, scenario), sizes = mk()
            sm = flow.sim(cluster_sizes=sizes) if sizes else sim(flow)
            sm.show_progress = False
            t0 = time.perf_counter()
            if mode == "exhaustive":
                runs = sm.exhaustive(scenario, workers=workers, max_seconds=600)
            else:
                runs = sm.fuzz(scenario, iterations=iterations, workers=workers)
            rates.append(runs / (time.perf_counter() - t0))
        print(f"| {label} | {mode} | {rates[0]:,.0f} | {rates[1]:,.0f} | {rates[1] / rates[0]:.2f}x | {runs:,} |")
        metrics[f"{label[:11]} {mode} workers=2 executions/s"] = metric(rates[1], "higher", "1/s")


def to_find(case: Case, make: Make, mode: str, seeds: int, cap: int) -> tuple[float, bool]:
    """Executions until the first failure (exhaustive), or the mean over ``seeds`` fuzz runs."""
    flow, scenario = case
    plan = sim(flow, cluster_sizes={Shard: 2} if any(l.is_cluster for l in flow.graph.locations) else None).plan
    if mode == "exhaustive":
        st = Stats("exhaustive")
        try:
            # no probe: after it the search runs a few random executions for its estimate, and
            # one of those finding the bug would count the DFS executions run in 0.2 s instead
            # (the naive explorer's counts varied from 256 to 479 between runs that way)
            exhaustive(plan, scenario, max_executions=cap, stats=st, make=make, probe_seconds=math.inf)
        except SimulationFailure:
            return st.executions + st.pruned, True
        except Exception:
            return st.executions + st.pruned, False
        return st.executions + st.pruned, False
    counts: list[int] = []
    found_all = True
    for seed in range(seeds):
        st = Stats("fuzz")
        try:
            fuzz(plan, scenario, iterations=cap, seed=seed, shrink_failures=False, stats=st, make=make)
            found_all = False
            counts.append(cap)
        except SimulationFailure:
            counts.append(st.executions + st.pruned)
    return statistics.mean(counts), found_all


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rates-only", action="store_true", help="only the executions per second (for A/B runs)")
    ap.add_argument("--json", metavar="PATH", help="also write the rates and ratios as JSON (for python -m bench)")
    args = ap.parse_args(argv)
    metrics = {}
    budget = 0.5 if args.quick else 2.0
    cap = 2_000 if args.quick else 20_000
    seeds = 3 if args.quick else 10

    print("## Executions per second (one core)\n")
    print("| program | mode | executions/s | executions |")
    print("|---|---|---:|---:|")
    for label, case in [
        ("3 locations, 10 messages (client -> proxy -> store batch -> client)", three_locations(10)),
        ("1 location, batch of 4 unordered (Hydro's 75 case)", unordered_batch(4)),
    ]:
        for mode in ("exhaustive", "fuzz"):
            rate, runs = execs_per_second(case, mode, budget)
            print(f"| {label} | {mode} | {rate:,.0f} | {runs:,} |")
            metrics[f"{label[:11]} {mode} executions/s"] = metric(rate, "higher", "1/s")
    pflow, pscenario, psizes = paxos_election(3)
    for mode in ("exhaustive", "fuzz"):
        rate, runs = execs_per_second((pflow, pscenario), mode, budget * 2, psizes)
        print(f"| std.paxos election + 1 command, 2 proposers, 3 acceptors | {mode} | {rate:,.0f} | {runs:,} |")
        metrics[f"paxos f=1 {mode} executions/s"] = metric(rate, "higher", "1/s")
    parallel_rates(args.quick, metrics)
    if args.rates_only:
        write_metrics(args.json, "sim", metrics, {"quick": args.quick, "rates_only": True})
        return 0

    print("\n## Executions needed to find seeded bugs: this simulator vs a naive explorer\n")
    print("| seeded bug | mode | ours | naive | naive / ours |")
    print("|---|---|---:|---:|---:|")
    bugs: list[tuple[str, Callable[[], Case], str]] = [
        ("first store batch holds 2 of 6 messages (3 locations)", lambda: first_batch_pair(6), "exhaustive"),
        ("first store batch holds 2 of 6 messages (3 locations)", lambda: first_batch_pair(6), "fuzz"),
        ("shard 1's first batch holds 2 (cluster of 2, 4 msgs each)", lambda: cluster_first_batch(4), "exhaustive"),
        ("shard 1's first batch holds 2 (cluster of 2, 4 msgs each)", lambda: cluster_first_batch(4), "fuzz"),
        ("a batch sums to 123 (6 fillers)", lambda: batch_123(6), "exhaustive"),
        ("a batch sums to 123 (30 fillers)", lambda: batch_123(30), "fuzz"),
        ("stale snapshot read across 3 locations (4 writes)", lambda: stale_read(4), "exhaustive"),
        ("stale snapshot read across 3 locations (4 writes)", lambda: stale_read(4), "fuzz"),
    ]
    ratios: list[float] = []
    for label, mk, mode in bugs:
        ours, ok1 = to_find(mk(), SimInstance, mode, seeds, cap)
        naive, ok2 = to_find(mk(), NaiveInstance, mode, seeds, cap)
        ratio = naive / max(ours, 1)
        ratios.append(ratio)
        o = f"{ours:,.1f}" + ("" if ok1 else " (not found)")
        n = f"{naive:,.1f}" + ("" if ok2 else f" (not found, cap {cap:,})")
        print(f"| {label} | {mode} | {o} | {n} | {ratio:,.1f}x |")
    print(f"\ngeometric mean ratio: {statistics.geometric_mean(ratios):,.1f}x")
    metrics["seeded bugs: naive / ours, geometric mean"] = metric(statistics.geometric_mean(ratios), "higher", "x")

    print("\n## Executions to cover every behaviour of a correct program (exhaustive)\n")
    print("| program | ours | naive | naive / ours |")
    print("|---|---:|---:|---:|")
    for label, case in [
        ("3 locations, 4 messages", three_locations(4)),
        ("3 locations, 6 messages", three_locations(6)),
        ("cluster of 2 shards, 3 messages each", cluster_first_batch_ok(3)),
    ]:
        ours, _ = to_find(case, SimInstance, "exhaustive", 1, cap)
        naive, _ = to_find(case, NaiveInstance, "exhaustive", 1, cap)
        capped = " (cap reached)" if naive >= cap else ""
        print(f"| {label} | {ours:,.0f} | {naive:,.0f}{capped} | {naive / max(ours, 1):,.1f}x |")
    write_metrics(args.json, "sim", metrics, {"quick": args.quick})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


