"""The simulator runs each step list through a generated function, and shares each location's layout.

A simulated location runs its top level and each tick as separate passes (``SimLocation``), and
the simulator makes a fresh runtime per location per execution. Two things keep that cheap:

* each pass is a function generated once per program (``runtime.compiled.compile_steps``) and
  bound to every instance, instead of ``run_node`` per operator;
* what a runtime derives from the graph alone (``runtime.tick._Layout``) is computed once per
  location and shared.

Neither may change what the simulator explores: these tests run the same searches with the
generated functions and with the generic path (``runtime.tick.COMPILE = False``) and require the
same executions, in the same order, with the same outcomes.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import NoOrder, nondet
from hydrologic.runtime import tick as tick_module
from hydrologic.runtime.tick import LocationRuntime
from hydrologic.sim import SimulationFailure, sim
from hydrologic.sim._engines import exhaustive as engine_exhaustive
from hydrologic.sim._instance import SimInstance
from hydrologic.sim._naive import NaiveInstance
from hydrologic.std.paxos import paxos
from hydrologic.types.errors import UserFunctionError


class Client: ...


class Proxy: ...


class Store: ...


class Proposers: ...


class Acceptors: ...


ND = nondet("tests: the store sums whatever has arrived")


def _no_egress(*_: Any) -> None:
    return None


def pipeline(seen: list[Any]) -> tuple[hl.FlowBuilder, Callable[[], None]]:
    """client -> proxy (map) -> store (batch, fold per tick) -> client, over 3 locations."""
    flow = hl.FlowBuilder()
    client, proxy, store = flow.process(Client), flow.process(Proxy), flow.process(Store)
    inp, s = client.sim_input(int)
    sums = (
        s.send(proxy)
        .map(lambda x: x * 10)
        .send(store)
        .batch(store.tick(), ND)
        .fold(lambda: 0, lambda a, x: a + x)
        .into_stream()
        .all_ticks()
        .send(client)
        .sim_output()
    )

    def scenario() -> None:
        inp.send_many([1, 2, 3, 4])
        got = sums.collect()
        assert sum(got) == 100
        seen.append(tuple(got))

    return flow, scenario


def cyclic(seen: list[Any]) -> tuple[hl.FlowBuilder, Callable[[], None]]:
    """A same-tick cycle inside a batched tick: the generated function calls the fixpoint loop."""
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    inp, xs = p.sim_input(int)
    t = p.tick()
    fwd, back = t.forward_ref(int, NoOrder)
    grown = xs.batch(t, ND).weaken_ordering().chain(back).filter(lambda x: x < 6).map(lambda x: x + 1)
    reached = grown.unique()
    fwd.complete(reached)
    out = reached.all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 3, 5])
        got = out.collect()
        seen.append(tuple(sorted(got)))

    return flow, scenario


def paxos_election(seen: list[Any]) -> tuple[hl.FlowBuilder, Callable[[], None], dict[Any, int]]:
    """std.paxos, 2 proposers and 3 acceptors: an election, then one command."""
    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    px = paxos(
        proposers, acceptors, commands, clock, f=1,
        nondet_leader=nondet("tests: any proposer may lead"),
        nondet_commit=nondet("tests: any slot for any command"),
        election_timeout=1,
    )
    committed = px.committed.cross_singleton(proposers.self_id()).sim_output()

    def scenario() -> None:
        clock_in.send(None, member=0)
        committed.collect()
        cmd_in.send("a", member=0)
        got = committed.collect()
        seen.append(tuple(sorted((e, m.raw_id) for e, m in got)))

    return flow, scenario, {Proposers: 2, Acceptors: 3}


def _search(make: Callable[[list[Any]], Any], compiled: bool, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> tuple[list[Any], int, int]:
    monkeypatch.setattr(tick_module, "COMPILE", compiled)
    seen: list[Any] = []
    case = make(seen)
    flow, scenario = case[0], case[1]
    sm = flow.sim(cluster_sizes=case[2]) if len(case) > 2 else sim(flow)
    # no random walks for the estimate: their number depends on speed, and they call the scenario
    stats = engine_exhaustive(sm.plan, scenario, probe_seconds=1e9, **kw)
    assert stats.complete
    return seen, stats.executions, stats.decisions


@pytest.mark.parametrize("make", [pipeline, cyclic, paxos_election], ids=["pipeline", "cycle", "paxos"])
def test_generated_steps_explore_exactly_what_the_generic_path_explores(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    generic = _search(make, False, monkeypatch)
    generated = _search(make, True, monkeypatch)
    assert generic[1] > 3  # a search with real branching, not one execution
    assert generated == generic  # the same outcomes, execution by execution, and the same decisions


def test_generated_steps_prune_the_same_states(monkeypatch: pytest.MonkeyPatch) -> None:
    # State caching fingerprints the inboxes between steps: an edge that the generated function
    # passes through a local variable must leave the inbox as run_node leaves it (empty).
    generic = _search(paxos_election, False, monkeypatch, states=True)
    generated = _search(paxos_election, True, monkeypatch, states=True)
    assert generated == generic


def test_a_step_list_is_generated_once_per_program_and_bound_to_every_instance() -> None:
    seen: list[Any] = []
    flow, scenario, sizes = paxos_election(seen)
    sm = flow.sim(cluster_sizes=sizes)
    runs = sm.exhaustive(scenario)
    assert runs > 100
    used = [per for lp in sm.plan.locs.values() for per in lp.templates.values()]
    assert used, "no step list ran through a generated function"
    for per in used:
        # one class tuple (the simulator's operators), one template, made by the first execution
        assert len(per) == 1
        (template,) = per.values()
        assert template is not None


def test_the_naive_explorer_gets_its_own_template_for_its_own_operators() -> None:
    # The naive explorer swaps the simulator's in-tick permutations for pass-throughs after the
    # instance's first pass: its functions must be bound to its own operators, not the first ones.
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    inp, s = p.sim_input(int)
    # a top-level ordering (its step list is bound by the instance's first pass) and an in-tick one
    arrived = s.weaken_ordering().assume_ordering(nondet("tests: arrival order")).sim_output()
    batch = s.weaken_ordering().batch(p.tick(), nondet("tests: which arrived"))
    out = batch.assume_ordering(nondet("tests: any order")).all_ticks().sim_output()
    seen: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3])
        seen.append((tuple(arrived.collect()), tuple(out.collect())))

    sm = sim(flow)
    ours = engine_exhaustive(sm.plan, scenario, make=SimInstance, probe_seconds=1e9)
    ours_seen = set(seen)
    seen.clear()
    naive = engine_exhaustive(sm.plan, scenario, make=NaiveInstance, probe_seconds=1e9)
    assert ours.complete and naive.complete
    orders = set(itertools.permutations([1, 2, 3]))
    assert {a for a, _ in ours_seen} == {a for a, _ in seen} == orders
    assert {b for _, b in ours_seen} == {b for _, b in seen} == orders
    (store,) = sm.plan.locs.values()
    # both step lists (the top level and the tick) have one function per explorer
    assert sorted(len(per) for per in store.templates.values()) == [2, 2]


def test_a_user_function_error_in_a_generated_step_is_blamed_on_its_operator() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    inp, xs = p.sim_input(int)
    line = 0

    def boom(x: int) -> int:
        if x == 3:
            raise ValueError("three")
        return x

    line = boom.__code__.co_firstlineno
    out = xs.batch(p.tick(), ND).map(boom).all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        out.collect()

    with pytest.raises(SimulationFailure) as info:
        sim(flow).exhaustive(scenario)
    cause = info.value.__cause__ if info.value.__cause__ is not None else info.value
    text = str(info.value) + str(cause)
    assert "map" in text and "three" in text
    assert re.search(rf"{re.escape(Path(__file__).name)}:\d+", text)
    assert line > 0


def test_runtimes_of_one_location_share_the_layout_but_not_the_state() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Store)
    _, xs = p.sim_input(int)
    xs.map(lambda x: x + 1).filter(lambda x: x > 0).for_each(lambda x: None)
    graph = sim(flow).plan.graph
    loc = next(l for l in graph.locations if l.tag is Store)
    a = LocationRuntime(graph, loc, None, {}, _no_egress, fuse=False)
    b = LocationRuntime(graph, loc, None, {}, _no_egress, fuse=False)
    assert a.consumers is b.consumers and a.plan is b.plan  # derived once
    assert a.inbox is not b.inbox and a.inbox == b.inbox  # each its own edges
    assert set(a.ops) == set(b.ops) and all(a.ops[i] is not b.ops[i] for i in a.ops)
    for nid, plan in a.plans.items():  # each plan reads its own runtime's operators
        for (how, what), (_, other) in zip(plan, b.plans[nid]):
            if how == 1:
                assert what is a.ops[nid_of(a, what)] and other is b.ops[nid_of(a, what)]
    fused = LocationRuntime(graph, loc, None, {}, _no_egress, fuse=True)
    assert fused.fused and not a.fused  # fused and unfused layouts are kept apart


def nid_of(rt: LocationRuntime, op: Any) -> int:
    return next(i for i, o in rt.ops.items() if o is op)


def test_a_grown_graph_gets_a_new_layout() -> None:
    from hydrologic.runtime.tick import _LAYOUTS  # pyright: ignore[reportPrivateUsage]

    seen: list[Any] = []
    flow, _ = pipeline(seen)
    graph = sim(flow).plan.graph
    loc = next(l for l in graph.locations if l.tag is Store)
    LocationRuntime(graph, loc, None, {}, _no_egress, fuse=False)
    first = _LAYOUTS[graph][(loc.id, False)]
    graph.nodes.append(graph.nodes[-1])  # stands for a node added after the first runtime
    try:
        LocationRuntime(graph, loc, None, {}, _no_egress, fuse=False)
        assert _LAYOUTS[graph][(loc.id, False)] is not first
    finally:
        graph.nodes.pop()


def test_user_function_error_is_a_user_function_error_under_the_generic_path_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same program, both paths: the blamed operator and message are the same.
    texts: list[str] = []
    for compiled in (False, True):
        monkeypatch.setattr(tick_module, "COMPILE", compiled)
        flow = hl.FlowBuilder()
        p = flow.process(Store)
        inp, xs = p.sim_input(int)
        out = xs.batch(p.tick(), ND).map(lambda x: 1 // (x - 2)).all_ticks().sim_output()

        def scenario() -> None:
            inp.send_many([1, 2])
            out.collect()

        with pytest.raises(SimulationFailure) as info:
            sim(flow).exhaustive(scenario)
        err = info.value
        while err.__cause__ is not None and not isinstance(err, UserFunctionError):
            err = err.__cause__  # type: ignore[assignment]
        texts.append(str(err).split("replay")[0])
    assert texts[0] == texts[1]
