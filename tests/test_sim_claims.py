"""``commutative=``/``idempotent=`` claims are tested with Hypothesis after the first execution of a search:
a false claim is HL610 with the smallest counterexample; a true one passes."""

from __future__ import annotations

from typing import Callable

import pytest

import hydrologic as hl
from hydrologic import nondet, proof
from hydrologic.sim import FalseClaimError, sim


class P: ...


def _reduce(f: Callable[[int, int], int], claim: str, values: list[int]) -> tuple[hl.FlowBuilder, Callable[[], None]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    total = s.weaken_ordering().reduce(f, commutative=proof(claim))
    out = total.snapshot(p.tick(), nondet("a read sees some version")).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many(values)
        out.collect()

    return flow, scenario


def test_a_false_commutative_claim_is_caught_with_a_minimal_input_at_once() -> None:
    flow, scenario = _reduce(lambda a, b: a - b, "subtraction commutes (it does not)", [9, 4, 7, 1, 12, 3])
    sm = sim(flow)
    with pytest.raises(FalseClaimError) as info:
        sm.exhaustive(scenario)
    err = info.value
    msg = str(err)
    assert err.code == "HL610" and msg.startswith("HL610 at ")
    assert "test_sim_claims.py" in msg.splitlines()[0]
    assert "`reduce` claims commutative=proof('subtraction commutes (it does not)')" in msg
    assert "depends on the order of its input" in msg and "hydrologic explain HL610" in msg
    xs, ys = err.inputs
    assert len(xs) == 2 and sorted(xs) == sorted(ys) and xs != ys  # the smallest: two elements swapped
    assert set(xs) <= {9, 4, 7, 1, 12, 3}
    assert err.results == (xs[0] - xs[1], ys[0] - ys[1])
    assert f"{xs!r} gives {err.results[0]!r}" in msg
    assert sm.last is not None and sm.last.executions <= 1  # found after the search's first execution


def test_a_true_commutative_claim_passes_and_the_search_runs() -> None:
    flow, scenario = _reduce(lambda a, b: a + b, "addition commutes", [9, 4, 7])
    sm = sim(flow)
    assert sm.check_claims(scenario) == 1  # tested, found true
    assert sm.exhaustive(scenario) >= 1
    assert sm.last is not None and sm.last.complete


def _idempotent(f: Callable[[int, int], int], claim: str) -> tuple[hl.FlowBuilder, Callable[[], None]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    total = s.weaken_retries().fold(lambda: 0, f, idempotent=proof(claim))
    out = total.snapshot(p.tick(), nondet("any version")).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([3, 5, 2])
        out.collect()

    return flow, scenario


def test_a_false_idempotent_claim_is_caught_with_one_repeated_element() -> None:
    flow, scenario = _idempotent(lambda a, x: a + x, "adding twice is adding once (it is not)")
    with pytest.raises(FalseClaimError) as info:
        sim(flow).fuzz(scenario, iterations=10)
    xs, ys = info.value.inputs
    assert len(xs) == 1 and ys == xs * 2  # the smallest: one element, applied twice
    assert info.value.prop == "idempotent" and "applying an element twice changes its result" in str(info.value)


def test_a_true_idempotent_claim_passes() -> None:
    flow, scenario = _idempotent(lambda a, x: max(a, x), "max ignores repeats")
    sm = sim(flow)
    assert sm.check_claims(scenario) == 1
    assert sm.exhaustive(scenario) >= 1


def test_a_keyed_fold_that_keeps_the_last_value_is_not_commutative() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(tuple[str, int])
    last = s.weaken_ordering().into_keyed().fold(lambda: 0, lambda acc, v: v, commutative=proof("last write wins (wrong)"))
    out = last.snapshot(p.tick(), nondet("any version")).entries().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([("a", 1), ("a", 2), ("b", 3)])
        out.collect()

    with pytest.raises(FalseClaimError) as info:
        sim(flow).exhaustive(scenario)
    xs, ys = info.value.inputs
    assert len(xs) == 2 and xs[0][0] == xs[1][0] == "a" and xs[0][1] != xs[1][1]
    assert "`fold` claims commutative=proof('last write wins (wrong)')" in str(info.value)
