"""Sleep sets with one-step dependence: units that cannot affect each other *in one step* commute.

Two workers that both answer a hub, and hear from it only through the hub's own tick, are
dependent over time (one's reply changes what the hub later tells the other) but never within
one step: running worker 0's tick then worker 1's leaves the same state as the other order. The
sleep sets may therefore skip the second order, while the persistent sets, which reason about
everything a component may ever do, still treat the two as one component.

What must hold: the search sees exactly the outcomes of a search with no reduction at all
(Hydro's scheduling: any runnable tick next), and needs fewer executions than with the old,
transitive dependence relation.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import hydrologic as hl
from hydrologic import nondet, proof
from hydrologic.sim import Stats, sim
from hydrologic.sim._engines import exhaustive
from hydrologic.sim._plan import Plan

from test_sim_states import HydroLikeInstance


class Hub: ...


class Workers: ...


Outcomes = set[Any]


def hub_and_workers() -> tuple[Any, Callable[[Outcomes], Callable[[], None]]]:
    """The hub sends every input to both workers; each worker counts what its tick took and
    replies; the hub sums the replies its tick took and tells both workers the sum."""
    flow = hl.FlowBuilder()
    hub = flow.process(Hub)
    workers = flow.cluster(Workers)
    inp, jobs = hub.sim_input(int)
    took = (
        jobs.broadcast(workers, nondet("the workers never change"))
        .batch(workers.tick(), nondet("a worker takes whatever jobs have arrived"))
        .count()
        .into_stream()
        .filter(lambda n: n > 0)
        .all_ticks()
    )
    replies = took.send(hub).values()
    sums = (
        replies.batch(hub.tick(), nondet("the hub sums whatever replies have arrived"))
        .fold(lambda: 0, lambda a, n: a + n, commutative=proof("addition"))
        .into_stream()
        .filter(lambda n: n > 0)
        .all_ticks()
    )
    news = sums.broadcast(workers, nondet("the workers never change")).cross_singleton(workers.self_id()).send(hub).values().sim_output()
    hub_sums = sums.sim_output()

    def scenario_for(seen: Outcomes) -> Callable[[], None]:
        def scenario() -> None:
            inp.send_many([1, 2])
            got_sums = tuple(hub_sums.collect())
            assert sum(got_sums) == 4  # each job counted once per worker
            per: dict[int, list[int]] = {0: [], 1: []}
            for n, m in news.collect():
                per[m.raw_id].append(n)
            seen.add((got_sums, tuple(per[0]), tuple(per[1])))

        return scenario

    return sim(flow, cluster_sizes={Workers: 2}), scenario_for


def run(plan: Plan, scenario_for: Callable[[Outcomes], Callable[[], None]], make: Any = None) -> tuple[Stats, Outcomes]:
    seen: Outcomes = set()
    st = Stats("exhaustive")
    kw: dict[str, Any] = {} if make is None else {"make": make}
    exhaustive(plan, scenario_for(seen), stats=st, max_seconds=300, **kw)
    assert st.complete
    return st, seen


def test_workers_that_only_answer_the_hub_are_independent_within_a_step() -> None:
    sm, _ = hub_and_workers()
    plan = sm.plan
    hub_i = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Hub")][0]
    w0, w1 = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Workers")]
    assert w1 in plan.reach[w0] and w0 in plan.reach[w1]  # over time, through the hub's tick
    assert not plan.dependent(w0, w1)  # but not within one step
    assert plan.dependent(w0, hub_i) and plan.dependent(hub_i, w1)  # each talks to the hub
    assert plan.component[w0] == plan.component[w1] == plan.component[hub_i]


def test_the_one_step_relation_keeps_every_outcome_and_runs_fewer_executions() -> None:
    sm, scenario_for = hub_and_workers()
    ours, seen = run(sm.plan, scenario_for)
    _, everything = run(hub_and_workers()[0].plan, scenario_for, make=HydroLikeInstance)
    assert seen == everything
    assert len(everything) > 4  # the batchings and the sums' timing really vary
    # the transitive relation (and no unit kept asleep after a unit that sent it nothing)
    n = len(sm.plan.instances)
    old_plan = dataclasses.replace(sm.plan, reach_now=sm.plan.reach, deep_now=[frozenset(range(n))] * n)
    old, seen_old = run(old_plan, scenario_for)
    assert seen_old == everything
    assert ours.executions < old.executions, (ours.executions, old.executions)


def quiet_workers() -> tuple[Any, Callable[[], None], list[int]]:
    """Two workers count their jobs; they would tell the hub only of a count over 10, which never
    comes, so after one worker's tick the other's may be the only unit left (and asleep)."""
    flow = hl.FlowBuilder()
    hub = flow.process(Hub)
    workers = flow.cluster(Workers)
    inp, jobs = hub.sim_input(int)
    counts = jobs.broadcast(workers, nondet("the workers never change")).batch(
        workers.tick(), nondet("a worker takes whatever jobs have arrived")
    ).count().into_stream().all_ticks()
    loud = counts.filter(lambda n: n > 10).send(hub).values()
    hub_seen = loud.batch(hub.tick(), nondet("the hub takes whatever arrived")).count().into_stream().all_ticks().sim_output()
    out = counts.cross_singleton(workers.self_id()).sim_output()
    finished: list[int] = []

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        got = out.collect()
        assert sum(n for n, _ in got) == 6
        assert hub_seen.collect() == []
        finished.append(1)

    return sim(flow, cluster_sizes={Workers: 2}), scenario, finished


def test_fuzz_executions_are_never_cut_short_by_a_sleep_set() -> None:
    # A sleep set may stop a depth-first execution whose remaining orders a sibling covered; a
    # random execution has no such sibling, so every one of them must run the whole scenario.
    sm, scenario, finished = quiet_workers()
    runs = sm.fuzz(scenario, iterations=300, seed=7)
    assert runs == len(finished) == 300
    # the depth-first search does stop such executions early, and still covers every batching
    finished.clear()
    total = sm.exhaustive(scenario)
    assert sm.last.pruned > 0 and len(finished) == total


def test_a_unit_that_was_sent_nothing_stays_asleep_and_every_outcome_is_kept() -> None:
    # Two-phase commit with two participants: a participant's tick that sent nothing to the
    # coordinator (or the other way round) lets the sibling that ran first stay asleep, since
    # what it sends only waits in the receiver's batch. The outcomes must be exactly those of an
    # explorer with no reduction at all (any runnable tick next, nothing asleep).
    from seeded_bugs_support import gossip_counter, two_phase_commit_counter

    for make_case, fewer in ((lambda: two_phase_commit_counter(None, 2), True), (lambda: gossip_counter(None), False)):
        outcomes: dict[str, set[Any]] = {}
        counts: dict[str, int] = {}
        for name, make in (("ours", None), ("static", "static"), ("none", HydroLikeInstance)):
            case = make_case()
            plan = case.sim().plan
            if make == "static":  # the one-step relation alone: nothing kept asleep after a dependent unit
                n = len(plan.instances)
                plan = dataclasses.replace(plan, deep_now=[frozenset(range(n))] * n)
            seen = outcomes[name] = set()
            st = Stats("exhaustive")
            kw: dict[str, Any] = {} if make in (None, "static") else {"make": make}
            exhaustive(plan, _recording(case.scenario, plan, seen), stats=st, max_seconds=300, **kw)
            assert st.complete
            counts[name] = st.executions
        assert outcomes["ours"] == outcomes["static"] == outcomes["none"], counts
        if fewer:  # 412 against 14,736
            assert counts["ours"] * 10 < counts["static"], counts


def _recording(scenario: Callable[[], None], plan: Plan, seen: set[Any]) -> Callable[[], None]:
    """The scenario, adding what every output gave it (each drained batch as a multiset)."""
    from hydrologic.sim._instance import SimInstance

    def run() -> None:
        got: list[Any] = []
        drain, pop = SimInstance._drain, SimInstance._pop

        def drained(self: SimInstance, node: Any) -> list[Any]:
            out = drain(self, node)
            got.append((node.id, tuple(sorted(map(repr, out)))))
            return out

        def popped(self: SimInstance, node: Any) -> Any:
            x = pop(self, node)
            got.append((node.id, repr(x)))
            return x

        SimInstance._drain, SimInstance._pop = drained, popped  # type: ignore[method-assign]
        try:
            scenario()
        finally:
            SimInstance._drain, SimInstance._pop = drain, pop  # type: ignore[method-assign]
        seen.add(tuple(got))

    return run


def hub_with_a_tally(self_fed: bool = False) -> tuple[Any, Callable[[Outcomes], Callable[[], None]]]:
    """The hub hands jobs to two workers from its tick; their sums come back into a tally the
    hub keeps at the top level (a keyed commutative fold, like a Paxos learner's) and shows as an
    output, and its tick reads the tally through a ``snapshot``. Only the workers change the
    tally, so a worker's reply never has to be delivered before a hub tick that sent it nothing.

    ``self_fed``: the hub's own tick also adds to the tally, so a hub tick does change it and
    the workers' replies no longer commute with it."""
    flow = hl.FlowBuilder()
    hub = flow.process(Hub)
    workers = flow.cluster(Workers)
    inp, jobs = hub.sim_input(int)
    htick = hub.tick()
    taken = jobs.batch(htick, nondet("the hub takes whatever jobs have arrived"))
    replies = (
        taken.all_ticks()
        .broadcast(workers, nondet("the workers never change"))
        .batch(workers.tick(), nondet("a worker takes whatever jobs have arrived"))
        .fold(lambda: 0, lambda a, n: a + n, commutative=proof("addition"))
        .into_stream()
        .filter(lambda n: n > 0)
        .all_ticks()
        .send(hub)
        .values()
    )
    if self_fed:
        replies = replies.merge_unordered(taken.all_ticks().map(lambda n: n * 100))
    tally = replies.map(lambda n: (n % 2, n)).into_keyed().fold(lambda: 0, lambda a, n: a + n, commutative=proof("addition"))
    entries = tally.entries().sim_output()
    seen = tally.snapshot(htick, nondet("the hub's tick sees the tally as it was at some point"))
    total = seen.values().fold(lambda: 0, lambda a, n: a + n, commutative=proof("addition"))
    pairs = taken.cross_singleton(total).all_ticks().sim_output()

    def scenario_for(seen_outcomes: Outcomes) -> Callable[[], None]:
        def scenario() -> None:
            inp.send_many([1, 2])
            got = [tuple(sorted(entries.collect()))]
            inp.send(4)
            got.append(tuple(sorted(pairs.collect())))
            got.append(tuple(sorted(entries.collect())))
            seen_outcomes.add(tuple(got))

        return scenario

    return sim(flow, cluster_sizes={Workers: 2}), scenario_for


def test_a_reply_that_only_reaches_a_tally_its_receiver_never_changes_stays_asleep() -> None:
    # The workers' replies change the hub beyond its hooks (the tally and its output), but no
    # unit of the hub ever changes the tally: a worker's tick kept asleep after a hub tick that
    # sent it nothing loses no outcome (the same set as with no reduction at all).
    sm, scenario_for = hub_with_a_tally()
    plan = sm.plan
    hub_i = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Hub")][0]
    workers = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Workers")]
    assert all(hub_i in plan.reach_now[w] and hub_i not in plan.deep_now[w] for w in workers)
    ours, seen = run(plan, scenario_for)
    n = len(plan.instances)
    static, seen_static = run(dataclasses.replace(plan, deep_now=[frozenset(range(n))] * n), scenario_for)
    _, everything = run(hub_with_a_tally()[0].plan, scenario_for, make=HydroLikeInstance)
    assert seen == seen_static == everything
    assert len(everything) > 4  # when the hub's tick sees the tally really varies
    assert ours.pruned > 0 and ours.executions * 2 < static.executions, (ours.executions, static.executions)  # 2,358 and 6,096


def test_a_tally_that_its_receivers_own_tick_also_feeds_is_deep() -> None:
    sm, _ = hub_with_a_tally(self_fed=True)
    plan = sm.plan
    hub_i = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Hub")][0]
    workers = plan.by_loc[next(l.id for l in plan.graph.locations if l.name == "Workers")]
    assert all(hub_i in plan.deep_now[w] for w in workers)


def test_a_paxos_learners_tally_is_changed_only_by_the_acceptors() -> None:
    # The learner counts the acceptors' votes at the top level of each proposer; the proposers'
    # own ticks never add to it, so an acceptor's tick reaches a proposer only "shallowly".
    from test_paxos_sim import program

    plan = program(2, 3, 1).sim().plan
    for i in plan.instances:
        assert plan.deep_now[i.index] == {i.index}, (i.name, plan.deep_now[i.index])
