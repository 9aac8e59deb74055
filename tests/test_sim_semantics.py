"""Simulator semantics: absence assertions, traces and tokens, engines, and each choice point."""

from __future__ import annotations

import itertools
import re

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, StaleTokenError, sim
from hydrologic.types.errors import UsageError


class P: ...


class Q: ...


class W: ...


def _sum_batches(flow: hl.FlowBuilder) -> tuple[hl.SimInput[int], hl.SimOutput[int]]:
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("batch whatever arrived")).fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()
    return inp, out


# ---- absence (quiescence) assertions -------------------------------------------------------------


def test_absence_check_does_not_hide_later_states() -> None:
    # `echo.assert_yields_only` claims nothing more arrives while the batch still holds 1. Running
    # that pending work to prove it would consume 1 before 2 is sent, and the later read could
    # never see 1 and 2 batched together. The simulator must still reach that state.
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    echo = s.map(lambda x: x).sim_output()
    sums = s.batch(p.tick(), nondet("batch")).fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send(1)
        echo.assert_yields_only([1])
        inp.send(2)
        seen.add(tuple(sums.collect()))

    sim(flow).exhaustive(scenario)
    assert seen == {(1, 2), (3,)}


def test_send_after_assert_yields_only() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.atomic(p.tick()).end_atomic().sim_output()

    def scenario() -> None:
        inp.send(1)
        out.assert_yields_only([1])
        inp.send(2)
        out.assert_yields_only([2])

    assert sim(flow).exhaustive(scenario) == 1


def test_assert_yields_only_catches_extra_value() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.sim_output()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.assert_yields_only([1])

    with pytest.raises(SimulationFailure, match=r"expected only \[1\], got \[1, 2\]"):
        sim(flow).exhaustive(scenario)


def test_pending_absence_check_fails_when_the_pending_work_adds_output() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("batch")).all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.assert_yields_only([1])  # 2 is still pending in the batch: a wrong claim
        inp.send(3)

    with pytest.raises(SimulationFailure) as info:
        sim(flow).exhaustive(scenario)
    msg = str(info.value)
    assert "expected only [1]" in msg and "arrived once the pending work ran" in msg
    assert "checking that nothing more arrives" in msg


def test_assert_no_more_and_next_when_quiescent() -> None:
    flow = hl.FlowBuilder()
    inp, out = _sum_batches(flow)

    def scenario() -> None:
        inp.send(5)
        assert out.next() == 5
        out.assert_no_more()
        with pytest.raises(AssertionError, match="none came"):
            out.next()

    assert sim(flow).exhaustive(scenario) == 1


# ---- traces, tokens, engines ---------------------------------------------------------------------


def test_failure_message_is_the_trace_and_replays() -> None:
    flow = hl.FlowBuilder()
    inp, out = _sum_batches(flow)

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        assert out.next() != 3, "1 and 2 were batched together"

    sm = sim(flow)
    with pytest.raises(SimulationFailure) as info:
        sm.exhaustive(scenario)
    err = info.value
    msg = str(err)
    assert re.search(r"`batch` at .*test_sim_semantics\.py:\d+, nondet \"batch whatever arrived\"", msg)
    assert "releasing items: [1, 2], holding back 1" in msg
    assert "AssertionError: 1 and 2 were batched together" in msg
    assert "then the scenario failed at" in msg and "test_sim_semantics.py" in msg
    assert err.token in msg and msg.rstrip().endswith(f"sim.replay(scenario, {err.token!r})")
    with pytest.raises(SimulationFailure) as again:
        sm.replay(scenario, err.token)
    assert again.value.token == err.token


def test_replay_of_a_passing_execution_returns_its_trace_and_stale_tokens_are_rejected() -> None:
    flow = hl.FlowBuilder()
    inp, out = _sum_batches(flow)

    def scenario() -> None:
        inp.send_many([1, 2])
        out.collect()

    sm = sim(flow)
    with pytest.raises(SimulationFailure) as info:
        sm.fuzz(lambda: (scenario(), (_ for _ in ()).throw(AssertionError("stop"))), iterations=1)
    trace = sm.replay(scenario, info.value.token)
    assert "releasing items" in trace
    other = hl.FlowBuilder()
    _sum_batches(other)
    other.process(Q)
    with pytest.raises(StaleTokenError, match="another program"):
        sim(other).replay(scenario, info.value.token)
    with pytest.raises(StaleTokenError, match="not a hydrologic replay token"):
        sm.replay(scenario, "garbage")


def test_fuzz_is_reproducible_by_seed_and_shrinks() -> None:
    flow = hl.FlowBuilder()
    inp, out = _sum_batches(flow)

    def scenario() -> None:
        inp.send_many(list(range(1, 30)))
        total = 0
        for v in out.collect():
            assert v != 3, "a batch summed to 3"
            total += v
        assert total == sum(range(1, 30))

    tokens = []
    for _ in range(2):
        with pytest.raises(SimulationFailure) as info:
            sim(flow).fuzz(scenario, iterations=5_000, seed=7)
        tokens.append(info.value.token)
        assert "shrunk from" in str(info.value)
        # the minimal bug: one batch [1, 2] first (the later decisions default to the first option)
        assert info.value.decisions <= 2
    assert tokens[0] == tokens[1]


def test_hypothesis_mode_finds_and_shrinks() -> None:
    flow = hl.FlowBuilder()
    inp, out = _sum_batches(flow)

    def scenario() -> None:
        inp.send_many([5, 1, 2, 5])
        for v in out.collect():
            assert v != 3

    with pytest.raises(SimulationFailure, match="Hypothesis") as info:
        sim(flow).hypothesis(scenario, max_examples=500, seed=1)
    assert "releasing items: [1, 2]" in str(info.value)


# ---- choice points ---------------------------------------------------------------------------------


def test_merge_ordered_explores_every_interleaving() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    a_in, a = p.sim_input(str)
    b_in, b = p.sim_input(str)
    out = a.merge_ordered(b, nondet("two clients race")).sim_output()
    seen: set[tuple[str, ...]] = set()

    def scenario() -> None:
        a_in.send_many(["a1", "a2"])
        b_in.send_many(["b1", "b2"])
        got = out.collect()
        seen.add(tuple(got))

    assert sim(flow).exhaustive(scenario) == 6
    expected = set()
    for pos in itertools.combinations(range(4), 2):
        it_a, it_b = iter(["a1", "a2"]), iter(["b1", "b2"])
        expected.add(tuple(next(it_a) if i in pos else next(it_b) for i in range(4)))
    assert seen == expected


def test_two_hooks_in_one_tick_never_run_an_empty_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    tick = p.tick()
    a_in, a = p.sim_input(int)
    b_in, b = p.sim_input(int)
    ca = a.batch(tick, nondet("a")).count()
    cb = b.batch(tick, nondet("b")).count()
    out = ca.zip(cb).into_stream().all_ticks().sim_output()
    seen: set[tuple[tuple[int, int], ...]] = set()

    def scenario() -> None:
        a_in.send(1)
        b_in.send(2)
        got = out.collect()
        assert (0, 0) not in got
        seen.add(tuple(got))

    count = sim(flow).exhaustive(scenario)
    assert seen == {((1, 1),), ((1, 0), (0, 1)), ((0, 1), (1, 0))}
    assert count == 3


def test_keyed_batch_takes_a_prefix_per_key() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(tuple)
    keyed = s.into_keyed()
    firsts = keyed.batch(p.tick(), nondet("batch")).value_counts().entries().all_ticks().sim_output()
    seen: set[frozenset[tuple[str, int]]] = set()

    def scenario() -> None:
        inp.send_many([("a", 1), ("b", 1), ("a", 2)])
        got = firsts.collect()
        seen.add(frozenset(got[: len(got)]))

    count = sim(flow).exhaustive(scenario)
    # per key: a has 2 elements (release 0..2), b has 1; the first tick releases something
    assert count > 1 and any(("a", 2) in s for s in seen) and any(("a", 1) in s for s in seen)


def test_pipeline_across_three_locations_and_a_cluster() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    q = flow.process(Q)
    w = flow.cluster(W)
    inp, s = p.sim_input(int)
    members = p.cluster_members(w)
    to_workers = s.cross_singleton(members).flat_map_ordered(lambda xm: [(m, xm[0]) for m in xm[1]]).demux(w)
    back = to_workers.map(lambda x: x * 10).send(q).values()
    out = back.sim_output()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.assert_yields_only_unordered([10, 10, 20, 20])

    assert sim(flow, cluster_sizes={W: 2}).exhaustive(scenario) == 1


def test_cluster_input_needs_a_member() -> None:
    flow = hl.FlowBuilder()
    c = flow.cluster(W)
    inp, s = c.sim_input(int)
    s.sim_output()

    def scenario() -> None:
        inp.send(1)

    with pytest.raises(SimulationFailure, match="pass member="):
        sim(flow, cluster_sizes={W: 2}).exhaustive(scenario)
    with pytest.raises(UsageError, match="no size given"):
        sim(flow)


def test_unordered_send_into_an_ordered_consumer_explores_arrival_orders() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.sim_output()
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many_unordered([1, 2, 3])
        seen.add(tuple(out.collect()))

    assert sim(flow).exhaustive(scenario) == 6
    assert seen == set(itertools.permutations([1, 2, 3]))


def test_a_false_commutativity_proof_is_caught() -> None:
    from hydrologic import proof

    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    firsts = (
        s.weaken_ordering()
        .batch(p.tick(), nondet("batch"))
        .fold(lambda: None, lambda acc, x: x if acc is None else acc, commutative=proof("keeps any element (wrong)"))
        .into_stream()
        .all_ticks()
        .sim_output()
    )
    ok = (
        s.weaken_ordering()
        .batch(p.tick(), nondet("batch"))
        .fold(lambda: 0, lambda a, x: a + x, commutative=proof("addition commutes"))
        .into_stream()
        .all_ticks()
        .sim_output()
    )
    del ok

    def scenario() -> None:
        inp.send_many_unordered([1, 2])
        firsts.collect()

    with pytest.raises(SimulationFailure, match=r"claims commutative=proof\('keeps any element \(wrong\)'\)"):
        sim(flow).exhaustive(scenario)


def test_false_idempotence_claim_is_caught() -> None:
    """A sum over an at-least-once stream is not idempotent; the simulator does not trust the proof."""
    flow = hl.FlowBuilder()
    p = flow.process(_IdemP)
    inp, s = p.sim_input(int)
    total = s.weaken_retries().fold(
        lambda: 0, lambda acc, x: acc + x, idempotent=hl.proof("wrongly claimed: adding twice is not adding once")
    )
    out = total.snapshot(p.tick(), hl.nondet("any version")).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.collect()

    with pytest.raises(Exception) as info:
        flow.sim().exhaustive(scenario)
    assert "claims idempotent=proof('wrongly claimed" in str(info.value)


def test_true_idempotence_claim_passes() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(_IdemP)
    inp, s = p.sim_input(int)
    best = s.weaken_retries().fold(lambda: 0, max, idempotent=hl.proof("max(max(a, x), x) == max(a, x)"))
    out = best.snapshot(p.tick(), hl.nondet("any version")).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.collect()

    assert flow.sim().exhaustive(scenario) >= 1


class _IdemP: ...
