"""Monotonic values and threshold reads: "has it reached t?" without a nondet.

A count over a growing stream only grows, so the answer to "has it reached t?" flips from false to
true once and never back: when the location looks cannot change what it sees. These tests check
that behaviour (one emission, at the right moment, whatever the schedule), that the program has no
nondet site to explore, and that a false ``monotone=`` claim is caught while running. The typing
rule itself (only Monotonic or Bounded singletons offer the read) is checked in mypy, pyright and
at build time by ``tests/programs/{fail,pass}_*threshold*.py`` (tests/test_guarantee_rules.py).
"""

from __future__ import annotations

import pytest

import hydrologic as hl
from hydrologic import nondet, proof
from hydrologic.lang._access import node_of
from hydrologic.sim import SimulationFailure, sim


class Server: ...


class Client: ...


def test_count_threshold_fires_once_when_the_count_reaches_it() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, votes = p.sim_input(str)
    quorum = votes.count().threshold_greater_or_equal(p.singleton(3)).sim_output()
    with flow.run_in_process() as run:
        seen: list[list[int]] = []
        for v in ["a", "b", "c", "d", "e"]:
            inp.send(v)
            run.run_until_idle()
            seen.append(quorum.collect())
    assert seen == [[], [], [3], [], []]


def test_bounded_singleton_threshold_is_a_plain_comparison() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    hit = p.singleton(5).threshold_greater_or_equal(p.singleton(4)).sim_output()
    miss = p.singleton(5).threshold_greater_or_equal(p.singleton(6)).sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert hit.collect() == [4]
        assert miss.collect() == []


def test_monotone_fold_keeps_and_plain_map_drops_monotonic() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, xs = p.sim_input(int)
    best = xs.fold(lambda: 0, max, monotone=proof("max never decreases"))
    kept = best.map(lambda b: b * 10, order_preserving=proof("scaling by 10 keeps the order"))
    dropped = best.map(lambda b: -b)
    in_tick = xs.batch(p.tick(), nondet("per-tick count")).count()
    bounds = [node_of(c).bound for c in (best, kept, dropped, in_tick, xs.count())]
    assert bounds == [hl.Monotonic, hl.Monotonic, hl.Unbounded, hl.Bounded, hl.Monotonic]


def _votes_program(flow: hl.FlowBuilder, *, threshold: bool) -> tuple[hl.SimInput[str], hl.SimInput[str], hl.SimOutput[int]]:
    """Two clients vote to a server over the network; the server answers once 3 votes are in
    (with a threshold read), or reports its count at each tick (with a snapshot: a nondet site)."""
    server = flow.process(Server)
    client = flow.process(Client)
    a, from_a = client.sim_input(str)
    b, from_b = client.sim_input(str)
    votes = from_a.send(server).merge_unordered(from_b.send(server))
    count = votes.count()
    if threshold:
        out = count.threshold_greater_or_equal(server.singleton(3)).sim_output()
    else:
        tick = server.tick()
        seen = count.snapshot(tick, nondet("how many votes this tick has seen"))
        out = seen.filter(lambda n: n >= 3).into_stream().all_ticks().sim_output()
    return a, b, out


def test_threshold_read_has_no_nondet_site_and_one_answer_in_every_schedule() -> None:
    flow = hl.FlowBuilder()
    a, b, out = _votes_program(flow, threshold=True)
    assert flow.nondet_sites() == []
    flow.require(no_nondet=True)
    answers: set[tuple[int, ...]] = set()

    def scenario() -> None:
        a.send_many(["x", "y"])
        b.send_many(["z", "w"])
        answers.add(tuple(out.collect()))

    runs = sim(flow).exhaustive(scenario)
    assert runs == 1  # no nondet site: exactly one execution
    assert answers == {(3,)}


def test_the_snapshot_twin_is_a_nondet_site_and_diverges() -> None:
    # The same question asked of a snapshot: which count each tick sees is a nondet site, and the
    # answer (how often "3 or more" is reported) depends on the schedule.
    flow = hl.FlowBuilder()
    a, b, out = _votes_program(flow, threshold=False)
    assert [s.op for s in flow.nondet_sites()] == ["snapshot"]
    answers: set[tuple[int, ...]] = set()

    def scenario() -> None:
        a.send_many(["x", "y"])
        b.send_many(["z", "w"])
        answers.add(tuple(out.collect()))

    sim(flow).exhaustive(scenario)
    assert len(answers) > 1


def test_keyed_thresholds_fire_once_per_key() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, orders = p.sim_input(tuple[str, int])
    counts = orders.into_keyed().value_counts()
    limits = p.source_iter([("apple", 2), ("pear", 3)]).into_keyed().first()
    per_key = counts.threshold_greater_or_equal(limits).entries().sim_output()
    uniform = counts.threshold_greater_or_equal_uniform(p.singleton(2)).entries().sim_output()
    with flow.run_in_process() as run:
        got: list[tuple[list[tuple[str, int]], list[tuple[str, int]]]] = []
        for o in [("apple", 1), ("pear", 1), ("plum", 1), ("apple", 2), ("plum", 2), ("pear", 2), ("pear", 3), ("apple", 3)]:
            inp.send(o)
            run.run_until_idle()
            got.append((per_key.collect(), sorted(uniform.collect())))
    assert got == [
        ([], []),
        ([], []),
        ([], []),
        ([("apple", 2)], [("apple", 2)]),
        ([], [("plum", 2)]),  # plum has no per-key threshold: it never fires there
        ([], [("pear", 2)]),
        ([("pear", 3)], []),
        ([], []),  # apple already fired
    ]


def _false_claim(flow: hl.FlowBuilder) -> tuple[hl.SimInput[int], hl.SimOutput[int]]:
    p = flow.process(Server)
    inp, amounts = p.sim_input(int)
    total = amounts.fold(lambda: 0, lambda a, x: a + x, monotone=proof("amounts are positive (they are not)"))
    return inp, total.threshold_greater_or_equal(p.singleton(100)).sim_output()


def test_a_false_monotone_claim_is_caught_while_running() -> None:
    flow = hl.FlowBuilder()
    inp, _ = _false_claim(flow)
    with flow.run_in_process() as run:
        inp.send(5)
        run.run_until_idle()
        inp.send(-3)
        with pytest.raises(hl.MonotoneClaimError) as info:
            run.run_until_idle()
    msg = str(info.value)
    assert msg.startswith("HL611") and "from 5 to 2" in msg and "test_monotonic.py" in msg


def test_a_false_monotone_claim_is_caught_by_the_simulator() -> None:
    flow = hl.FlowBuilder()
    inp, _ = _false_claim(flow)

    def scenario() -> None:
        inp.send(5)
        inp.send(-3)

    with pytest.raises((hl.MonotoneClaimError, SimulationFailure)) as info:
        sim(flow).exhaustive(scenario)
    assert "HL611" in str(info.value)


def test_a_keyed_fold_declared_monotone_offers_per_key_thresholds() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, bids = p.sim_input(tuple[str, int])
    best = bids.into_keyed().fold(lambda: 0, max, monotone=proof("the best bid never goes down"))
    assert node_of(best).bound is hl.Monotonic
    sold = best.threshold_greater_or_equal_uniform(p.singleton(100)).entries().sim_output()
    with flow.run_in_process() as run:
        for bid in [("vase", 40), ("lamp", 120), ("vase", 90), ("vase", 100), ("vase", 150)]:
            inp.send(bid)
            run.run_until_idle()
        assert sorted(sold.collect()) == [("lamp", 100), ("vase", 100)]
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, bids = p.sim_input(tuple[str, int])
    with pytest.raises(hl.GuaranteeError) as info:
        bids.into_keyed().fold(lambda: 0, max).threshold_greater_or_equal_uniform(p.singleton(1))  # type: ignore[misc]  # pyright: ignore
    assert info.value.code == "HL111"
