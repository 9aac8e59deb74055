"""Operator fusion: element-wise chains run inside their consumer without changing results.

The other runtime test files already run every program both fused and unfused; these tests pin
down what is fused, that lazy inputs behave at the edges (empty batches), and that an error is
still blamed on the operator whose function raised, even when it ran inside another one.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic import nondet


class P: ...


class Q: ...


ND = nondet("tests: the in-process driver releases everything that arrived")
HERE = re.escape(Path(__file__).name)


def _line() -> int:
    return sys._getframe(1).f_lineno  # pyright: ignore[reportPrivateUsage]


def test_map_filter_fold_is_fused_into_the_fold() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    total = xs.map(lambda x: x * 3).filter(lambda y: y % 2 == 0).fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process() as run:
        rt = run.runtimes[0]
        ops = {rt.ops[i].node.op for i in rt.fused}
        assert ops == {"map", "filter"}
        inp.send_many(range(10))
        assert run.value(total) == sum(x * 3 for x in range(10) if x * 3 % 2 == 0)
        inp.send_many([])
        inp.send_many([2])
        assert run.value(total) == 60 + 6


def test_what_is_not_fused() -> None:
    """Fan-out, network egress, nondet sites and same-tick cycles keep operators separate."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    q = flow.process(Q)
    inp, xs = p.sim_input(int)
    shared = xs.map(lambda x: x + 1)  # two consumers
    shared.for_each(lambda _: None)
    shared.sim_output()
    xs.map(lambda x: x * 2).send(q).sim_output()  # the map's output leaves the location
    xs.weaken_ordering().assume_ordering(nondet("a nondet site the simulator acts on")).sim_output()
    with flow.run_in_process() as run:
        rt = run.by_loc[0][0]
        fused = sorted(rt.ops[i].node.op for i in rt.fused)
        assert fused == ["cast"]  # only weaken_ordering, folded into assume_ordering's input


def test_reduce_over_a_fused_chain_that_filters_everything() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    big = xs.filter(lambda x: x > 100).reduce(max)
    tick = p.tick()
    big_per_tick = xs.batch(tick, ND).filter(lambda x: x > 100).reduce(max).latest()
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        assert run.value(big) is None
        assert run.value(big_per_tick) is None
        inp.send_many([300, 5, 200])
        assert run.value(big) == 300
        assert run.value(big_per_tick) == 300
        inp.send_many([7])
        assert run.value(big) == 300
        assert run.value(big_per_tick) is None


def test_error_in_a_builtin_inside_a_fused_chain_is_blamed_on_its_operator() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    line = _line() + 1
    parsed = xs.map(int)
    parsed.filter(lambda n: n > 0).fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process() as run:
        inp.send_many(["1", "x2"])
        with pytest.raises(hl.UserFunctionError, match=rf"`map` \(built at .*{HERE}:{line}\) raised ValueError") as info:
            run.run_until_idle()
        assert isinstance(info.value.error, ValueError)


def test_error_in_the_consumer_of_a_fused_chain_is_blamed_on_the_consumer() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    line = _line() + 1
    xs.map(lambda x: x - 1).fold(lambda: 1.0, lambda acc, x: acc / x)
    with flow.run_in_process() as run:
        inp.send_many([3, 1])
        with pytest.raises(hl.UserFunctionError, match=rf"`fold` \(built at .*{HERE}:{line}\) raised ZeroDivisionError"):
            run.run_until_idle()


def test_error_in_a_fused_user_function_is_blamed_via_the_traceback() -> None:
    def check(x: int) -> bool:
        if x == 13:
            raise RuntimeError("unlucky")
        return True

    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    stage = xs.map(lambda x: x + 1)
    line = _line() + 1
    kept = stage.filter(check)
    kept.for_each(lambda _: None)
    with flow.run_in_process() as run:
        inp.send_many([1, 12, 3])
        with pytest.raises(hl.UserFunctionError, match=rf"`filter` \(built at .*{HERE}:{line}\) raised RuntimeError: unlucky"):
            run.run_until_idle()


def test_fusion_can_be_switched_off_per_runtime() -> None:
    from hydrologic.runtime.tick import LocationRuntime

    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, xs = p.sim_input(int)
    xs.map(lambda x: x).for_each(lambda _: None)
    graph = flow.build()
    on = LocationRuntime(graph, graph.locations[0], None, {}, lambda *a: None)
    off = LocationRuntime(graph, graph.locations[0], None, {}, lambda *a: None, fuse=False)
    assert len(on.fused) == 1 and not off.fused


def test_error_while_materialising_a_fused_chain_for_a_list_consumer() -> None:
    """sim_output takes a list, so the chain is run to a list before the consumer: same blame."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    line = _line() + 1
    out = xs.map(lambda x: 10 // x).filter(lambda y: y > 0).sim_output()
    with flow.run_in_process():
        inp.send_many([5, 0])
        with pytest.raises(hl.UserFunctionError, match=rf"^HL601: the function passed to `map` \(built at .*{HERE}:{line}\) raised ZeroDivisionError"):
            out.collect()
