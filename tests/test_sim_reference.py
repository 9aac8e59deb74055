"""The reference counts of SPEC §8, with the set of distinct outcomes each search observed.

Hydro's own tests pin these counts; we must match or beat them *without losing a behaviour*, so
every test asserts the exact outcome set (computed independently here) as well as the count.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import Sim, Stats, sim
from hydrologic.sim._engines import exhaustive
from hydrologic.sim._instance import SimInstance
from hydrologic.sim._scheduler import Scheduler, Unit


class P: ...


class W: ...


class _InterleaveAll(Scheduler):
    """Hydro's scheduling: any runnable tick may run next (no persistent or sleep sets)."""

    def pick(self, cands: list[Unit]) -> Unit:
        return cands[self.decider.choose(len(cands))]


class HydroLikeInstance(SimInstance):
    def _new_scheduler(self) -> Scheduler:
        return _InterleaveAll(self.plan, self.locs, self.decider)


def _exhaustive(sm: Sim, scenario: Callable[[], None]) -> int:
    """Run the search; its cost estimate must be the exact count (the tree is small enough to be
    enumerated within the probe)."""
    count = sm.exhaustive(scenario)
    assert sm.last is not None and sm.last.estimate is not None
    assert sm.last.estimate.exact and sm.last.estimate.executions == count
    return count


def ordered_set_partitions(xs: list[int]) -> set[tuple[tuple[int, ...], ...]]:
    """Every sequence of non-empty disjoint blocks covering ``xs`` (blocks keep xs's order)."""
    out: set[tuple[tuple[int, ...], ...]] = set()
    n = len(xs)

    def rec(rest: tuple[int, ...], acc: tuple[tuple[int, ...], ...]) -> None:
        if not rest:
            out.add(acc)
            return
        for k in range(1, len(rest) + 1):
            for block in itertools.combinations(rest, k):
                rec(tuple(x for x in rest if x not in block), acc + (block,))

    rec(tuple(xs), ())
    assert n == 0 or out
    return out


def compositions(n: int) -> set[tuple[int, ...]]:
    return {c for k in range(1, n + 1) for c in _comp(n, k)}


def _comp(n: int, k: int) -> set[tuple[int, ...]]:
    if k == 1:
        return {(n,)}
    return {(i,) + rest for i in range(1, n) for rest in _comp(n - i, k - 1)}


def _blocks(flat: list[Any], sizes: list[int]) -> tuple[tuple[Any, ...], ...]:
    out: list[tuple[Any, ...]] = []
    i = 0
    for s in sizes:
        out.append(tuple(flat[i : i + s]))
        i += s
    return tuple(out)


def test_unordered_batch_explores_ordered_set_partitions_75() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    batch = s.weaken_ordering().batch(p.tick(), nondet("test"))
    out = batch.all_ticks().sim_output()
    sizes = batch.count().into_stream().all_ticks().sim_output()  # makes batch boundaries observable
    seen: set[tuple[tuple[int, ...], ...]] = set()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3, 4])
        # an unordered batch is a subset released in arrival order (never permuted), so the
        # flat output cut at the batch sizes is exactly the ordered set partition
        seen.add(_blocks(out.collect(), sizes.collect()))

    count = _exhaustive(sim(flow), scenario)
    assert count == 75  # sum over k of S(4,k)*k!; Hydro: 75
    assert seen == ordered_set_partitions([1, 2, 3, 4])


def test_unordered_batch_with_absence_assertion_is_still_75() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.weaken_ordering().batch(p.tick(), nondet("test")).all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3, 4])
        out.assert_yields_only_unordered([1, 2, 3, 4])

    assert _exhaustive(sim(flow), scenario) == 75


def test_assume_ordering_on_batched_unordered_192() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    batch = s.weaken_ordering().batch(p.tick(), nondet("which arrived"))
    out = batch.assume_ordering(nondet("any order")).all_ticks().sim_output()
    sizes = batch.count().into_stream().all_ticks().sim_output()
    seen: set[tuple[tuple[int, ...], ...]] = set()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3, 4])
        seen.add(_blocks(out.collect(), sizes.collect()))

    count = _exhaustive(sim(flow), scenario)
    assert count == 192  # 4! * 2^3, Hydro: 192
    # every ordered set partition, with every order inside every block
    expected: set[tuple[tuple[int, ...], ...]] = set()
    for part in ordered_set_partitions([1, 2, 3, 4]):
        for orders in itertools.product(*(itertools.permutations(b) for b in part)):
            expected.add(tuple(orders))
    assert seen == expected
    assert len(seen) == 192


def test_snapshot_of_count_over_unordered_inputs_16() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.weaken_ordering().count().snapshot(p.tick(), nondet("stale reads")).into_stream().all_ticks().sim_output()
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3, 4])
        got = out.collect()
        assert got[-1] == 4
        seen.add(tuple(got))

    count = _exhaustive(sim(flow), scenario)
    assert count == 16  # 2^4: any subset of {0,1,2,3} is seen, 4 always; Hydro: 16
    expected = {tuple(sub) + (4,) for k in range(5) for sub in itertools.combinations([0, 1, 2, 3], k)}
    assert seen == expected


def test_top_level_assume_ordering_6() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.weaken_ordering().assume_ordering(nondet("arrival order")).sim_output()
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3])
        got = out.collect()
        assert sorted(got) == [1, 2, 3]
        seen.add(tuple(got))

    assert _exhaustive(sim(flow), scenario) == 6  # Hydro: 6
    assert seen == set(itertools.permutations([1, 2, 3]))


def test_program_without_nondet_runs_exactly_once() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    q = flow.process(W)
    inp, s = p.sim_input(int)
    out = s.map(lambda x: x * 2).send(q).map(lambda x: x + 0).sim_output()
    flow.require(no_nondet=True)

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        out.assert_yields([2, 4])
        inp.send(4)
        out.assert_yields_only([6, 8])
        out.assert_no_more()

    assert _exhaustive(sim(flow), scenario) == 1


def test_two_independent_cluster_members_beat_hydros_106() -> None:
    flow = hl.FlowBuilder()
    c = flow.cluster(W)
    inp, s = c.sim_input(int)
    batch = s.batch(c.tick(), nondet("which arrived"))
    sizes = batch.count().into_stream().all_ticks().cross_singleton(c.self_id()).sim_output()
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()

    def scenario() -> None:
        inp.send_many([1, 2, 3], member=0)
        inp.send_many([1, 2, 3], member=1)
        per: dict[int, list[int]] = {0: [], 1: []}
        for n, m in sizes.collect():
            per[m.raw_id].append(n)
        seen.add((tuple(per[0]), tuple(per[1])))

    count = _exhaustive(sim(flow, cluster_sizes={W: 2}), scenario)
    assert count == 16 < 106  # 4 batchings per member, squared; Hydro interleaves ticks: 106
    assert seen == {(a, b) for a in compositions(3) for b in compositions(3)}
    # the naive explorer (every interleaving of the members' ticks, as Hydro) runs 106, and the
    # estimate counts them exactly too
    naive = Stats("exhaustive")
    exhaustive(sim(flow, cluster_sizes={W: 2}).plan, scenario, stats=naive, make=HydroLikeInstance)
    assert naive.executions + naive.pruned == 106
    assert naive.estimate is not None and naive.estimate.exact and naive.estimate.executions == 106


def test_independent_members_that_report_to_a_process_are_not_interleaved() -> None:
    # Both members send back to a client process. Data from member 0 never reaches member 1's
    # inputs (it ends at the client's output), so they stay independent: still 4 x 4.
    class Client: ...

    flow = hl.FlowBuilder()
    client = flow.process(Client)
    c = flow.cluster(W)
    inp, s = client.sim_input(tuple)
    sizes = (
        s.map(lambda mx: (hl.MemberId(mx[0]), mx[1]))
        .demux(c)
        .batch(c.tick(), nondet("which arrived"))
        .count()
        .into_stream()
        .all_ticks()
        .cross_singleton(c.self_id())
        .send(client)
        .values()
        .sim_output()
    )
    seen: set[tuple[tuple[int, ...], tuple[int, ...]]] = set()

    def scenario() -> None:
        inp.send_many([(m, i) for i in range(3) for m in (0, 1)])
        per: dict[int, list[int]] = {0: [], 1: []}
        for n, m in sizes.collect():
            per[m.raw_id].append(n)
        seen.add((tuple(per[0]), tuple(per[1])))

    assert _exhaustive(sim(flow, cluster_sizes={W: 2}), scenario) == 16
    assert seen == {(a, b) for a in compositions(3) for b in compositions(3)}
