"""Operators through the in-process runtime: exact outputs, and state scoping per SPEC §7.

The rule under test throughout: an operator at the top level of a location keeps its state for
as long as the program runs and processes only what is new; the same operator inside a tick works
on that tick's bounded batch and forgets everything when the tick ends.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from runtime_support import check_idle_noop
from hydrologic import nondet


class P: ...


ND = nondet("tests: the in-process driver releases everything that arrived")


@pytest.fixture(autouse=True, params=[(True, True), (False, True), (True, False)], ids=["fused", "unfused", "generic"])
def _fusion(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every program runs three times: with element-wise chains fused into their consumer and
    without, both through the generated tick function, and fused through the generic
    operator-by-operator path (``run_node``) that the generated function must match."""
    fuse, compiled = request.param
    monkeypatch.setattr("hydrologic.runtime.tick.FUSION", fuse)
    monkeypatch.setattr("hydrologic.runtime.tick.COMPILE", compiled)
    if not compiled:  # the generic path runs idle operators: check that skipping them is right
        check_idle_noop(monkeypatch)


def add(a: int, b: int) -> int:
    return a + b


def zero() -> int:
    return 0


# ---- SPEC §7: top-level state persists, tick state resets -----------------------------------------


def test_same_operators_top_level_versus_in_a_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    b = xs.batch(tick, ND)
    top_count = xs.count()
    top_sum = xs.fold(zero, add)
    top_enum = xs.enumerate().sim_output()
    top_first = xs.first()
    tick_count = b.count().latest()
    tick_sum = b.fold(zero, add).latest()
    tick_enum = b.enumerate().all_ticks().sim_output()
    tick_first = b.first().latest()
    tick_last = b.last().latest()
    tick_list = b.collect_list().latest()
    with flow.run_in_process() as run:
        inp.send_many([5, 6, 7])
        assert (run.value(top_count), run.value(top_sum), run.value(top_first)) == (3, 18, 5)
        assert (run.value(tick_count), run.value(tick_sum), run.value(tick_first)) == (3, 18, 5)
        assert top_enum.collect() == [(0, 5), (1, 6), (2, 7)]
        assert tick_enum.collect() == [(0, 5), (1, 6), (2, 7)]
        inp.send_many([8, 9])
        assert (run.value(top_count), run.value(top_sum), run.value(top_first)) == (5, 35, 5)
        assert (run.value(tick_count), run.value(tick_sum), run.value(tick_first)) == (2, 17, 8)
        assert run.value(tick_last) == 9
        assert run.value(tick_list) == [8, 9]
        assert top_enum.collect() == [(3, 8), (4, 9)]
        assert tick_enum.collect() == [(0, 8), (1, 9)]


def test_empty_tick_resets_tick_aggregates() -> None:
    """A tick caused by another input sees an empty batch here: count 0, first/last absent."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    other_in, other = p.sim_input(int)
    tick = p.tick()
    b = xs.batch(tick, ND)
    other.batch(tick, ND).for_each(lambda _: None)
    counts = b.count().into_stream().all_ticks().sim_output()
    last = b.last().latest()
    with flow.run_in_process() as run:
        run.run_until_idle()  # the first tick runs with empty batches
        inp.send_many([1, 2])
        assert counts.collect() == [0, 2]
        assert run.value(last) == 2
        other_in.send(0)
        assert counts.collect() == [0]
        assert run.value(last) is None  # latest() of an Optional follows it to absent


def test_run_value_of_a_collection_inside_a_tick_is_refused() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, xs = p.sim_input(int)
    in_tick = xs.batch(p.tick(), ND).count()
    with flow.run_in_process() as run:
        with pytest.raises(hl.UsageError, match=r"latest\(\)"):
            run.value(in_tick)


# ---- unique -----------------------------------------------------------------------------------------


def test_unique_top_level_remembers_forever_in_a_tick_only_this_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    top = xs.unique().sim_output()
    per_tick = xs.batch(p.tick(), ND).unique().all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many([1, 2, 1, 3, 2])
        top.assert_yields_only([1, 2, 3])
        per_tick.assert_yields_only([1, 2, 3])
        inp.send_many([2, 4, 4])
        top.assert_yields_only([4])
        per_tick.assert_yields_only([2, 4])


# ---- defer_tick ---------------------------------------------------------------------------------------


def test_defer_tick_delivers_in_the_next_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    b = xs.batch(tick, ND)
    now = b.map(lambda x: ("now", x))
    later = b.defer_tick().map(lambda x: ("later", x))
    out = now.chain(later).all_ticks().sim_output()
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        # tick 0 sees the batch; defer_tick data makes tick 1 run with an empty batch.
        assert run.run_until_idle() == 2
        assert out.collect() == [("now", 1), ("now", 2), ("later", 1), ("later", 2)]
        inp.send(3)
        assert out.collect() == [("now", 3), ("later", 3)]


def test_defer_tick_meets_the_next_batch_in_the_same_tick() -> None:
    """Pair each tick's batch size with the previous tick's, via defer_tick of a singleton."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    size = xs.batch(tick, ND).count()
    prev = size.defer_tick()  # absent in the first tick
    pairs = size.zip(prev.unwrap_or_value(-1)).into_stream().all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()
        inp.send_many([1, 2, 3])
        run.run_until_idle()
        inp.send_many([4])
        assert pairs.collect() == [(0, -1), (3, 0), (1, 3)]


# ---- anti_join / filter_not_in ----------------------------------------------------------------------


def test_filter_not_in_and_anti_join_with_a_bounded_right_side_at_top_level() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    pairs_in, pairs = p.sim_input(tuple)
    banned = p.source_iter([2, 4])
    kept = xs.filter_not_in(banned).sim_output()
    kept_pairs = pairs.anti_join(p.source_iter(["spam"])).sim_output()
    with flow.run_in_process():
        inp.send_many([1, 2, 3, 4, 5])
        kept.assert_yields_only([1, 3, 5])
        inp.send_many([4, 6])  # the banned set is still there in later rounds
        kept.assert_yields_only([6])
        pairs_in.send_many([("spam", 1), ("ham", 2), ("eggs", 3), ("spam", 4)])
        kept_pairs.assert_yields_only([("ham", 2), ("eggs", 3)])


def test_filter_not_in_inside_a_tick_uses_only_this_ticks_right_side() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    ban_in, bans = p.sim_input(int)
    tick = p.tick()
    out = xs.batch(tick, ND).filter_not_in(bans.batch(tick, ND)).all_ticks().sim_output()
    with flow.run_in_process():
        ban_in.send_many([1, 2])
        inp.send_many([1, 2, 3])
        out.assert_yields_only([3])
        inp.send_many([1, 2, 3])  # last tick's bans are gone
        out.assert_yields_only([1, 2, 3])


# ---- chain, cross_singleton, sort, partition, element-wise ------------------------------------------


def test_chain_top_level_and_in_a_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    top = p.source_iter(["header"]).chain(xs).sim_output()
    tick = p.tick()
    framed = tick.source_iter(["["]).chain(xs.batch(tick, ND)).all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many(["a", "b"])
        top.assert_yields_only(["header", "a", "b"])
        framed.assert_yields_only(["[", "a", "b"])
        inp.send("c")
        top.assert_yields_only(["c"])
        framed.assert_yields_only(["[", "c"])


def test_cross_singleton_constant_and_per_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    scaled = xs.cross_singleton(p.singleton(10)).map(lambda t: t[0] * t[1]).sim_output()
    tick = p.tick()
    b = xs.batch(tick, ND)
    with_size = b.cross_singleton(b.count()).all_ticks().sim_output()
    with_max = b.cross_singleton(b.max()).all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many([1, 2, 3])
        scaled.assert_yields_only([10, 20, 30])
        with_size.assert_yields_only([(1, 3), (2, 3), (3, 3)])
        with_max.assert_yields_only([(1, 3), (2, 3), (3, 3)])
        inp.send(7)
        scaled.assert_yields_only([70])
        with_size.assert_yields_only([(7, 1)])
        with_max.assert_yields_only([(7, 7)])


def test_cross_singleton_with_an_absent_optional_emits_nothing() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    b = xs.batch(tick, ND)
    big = b.filter(lambda x: x > 100).first()
    out = b.cross_singleton(big).all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many([1, 2])
        out.assert_yields_only([])
        inp.send_many([1, 200, 300])
        out.assert_yields_only([(1, 200), (200, 200), (300, 200)])


def test_sort_in_a_tick_per_batch_with_and_without_key() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, words = p.sim_input(str)
    tick = p.tick()
    b = words.batch(tick, ND)
    plain = b.sort().all_ticks().sim_output()
    by_len = b.sort(key=len).all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many(["pear", "fig", "apple", "kiwi"])
        plain.assert_yields_only(["apple", "fig", "kiwi", "pear"])
        by_len.assert_yields_only(["fig", "pear", "kiwi", "apple"])  # stable
        inp.send_many(["b", "a"])
        plain.assert_yields_only(["a", "b"])
        by_len.assert_yields_only(["b", "a"])


def test_sort_of_a_bounded_top_level_stream() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    out = p.source_iter([3, 1, 2]).sort().sim_output()
    with flow.run_in_process():
        out.assert_yields_only([1, 2, 3])


def test_partition_splits_once_per_element() -> None:
    calls: list[int] = []

    def is_even(x: int) -> bool:
        calls.append(x)
        return x % 2 == 0

    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    evens, odds = xs.partition(is_even)
    e_out = evens.map(lambda x: x * 10).sim_output()
    o_out = odds.sim_output()
    tick = p.tick()
    te, to = xs.batch(tick, ND).partition(lambda x: x > 2)
    sizes = te.count().zip(to.count()).latest()
    with flow.run_in_process() as run:
        inp.send_many([1, 2, 3, 4, 5])
        e_out.assert_yields_only([20, 40])
        o_out.assert_yields_only([1, 3, 5])
        assert calls == [1, 2, 3, 4, 5]
        assert run.value(sizes) == (3, 2)
        inp.send_many([6])
        e_out.assert_yields_only([60])
        o_out.assert_yields_only([])
        assert run.value(sizes) == (1, 0)


def test_elementwise_operators() -> None:
    seen: list[int] = []
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    out = (
        xs.inspect(seen.append)
        .filter_map(lambda x: None if x % 3 == 0 else x)
        .flat_map_ordered(lambda x: [x] * (x % 3))
        .sim_output()
    )
    with flow.run_in_process():
        inp.send_many([1, 2, 3, 4, 5])
        out.assert_yields_only([1, 2, 2, 4, 5, 5])
        assert seen == [1, 2, 3, 4, 5]


def test_for_each_runs_side_effects_in_order_exactly_once() -> None:
    log: list[str] = []
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    xs.map(str.upper).for_each(log.append)
    tick = p.tick()
    xs.batch(tick, ND).count().into_stream().all_ticks().for_each(lambda n: log.append(f"batch of {n}"))
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert log == ["batch of 0"]
        inp.send_many(["a", "b"])
        run.run_until_idle()
        inp.send("c")
        run.run_until_idle()
        run.run_until_idle()  # idle: no more effects
    assert log == ["batch of 0", "A", "B", "batch of 2", "C", "batch of 1"]


def test_merge_unordered_of_two_inputs() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    a_in, a = p.sim_input(int)
    b_in, b = p.sim_input(int)
    total = a.merge_unordered(b).fold(zero, add, commutative=hl.proof("addition"))
    with flow.run_in_process() as run:
        a_in.send_many([1, 2])
        b_in.send_many([10])
        assert run.value(total) == 13
        b_in.send(100)
        assert run.value(total) == 113


# ---- time -----------------------------------------------------------------------------------------


def test_source_interval_fires_on_virtual_time() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    ticks = p.source_interval(1.0, nondet("timer firing relative to other input"))
    fired = ticks.sim_output()
    n = ticks.count()
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert fired.collect() == []  # no real time passes in tests
        run.advance_time(3.5)
        assert fired.collect() == [1.0, 2.0, 3.0]
        run.advance_time(0.4)
        assert fired.collect() == []
        run.advance_time(0.1)
        assert fired.collect() == [4.0]
        assert run.value(n) == 4


def test_source_interval_drives_a_periodic_tick() -> None:
    """A timer batched with input: each timer tick flushes what arrived since the last one."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    timer = p.source_interval(2.0, nondet("flush period"))
    tick = p.tick()
    now = timer.batch(tick, ND).last()
    flushed = (
        xs.batch(tick, ND).fold(lambda: (), lambda acc, x: acc + (x,)).zip(now).into_stream().all_ticks().sim_output()  # type: ignore[misc]
    )
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        run.run_until_idle()
        inp.send_many([3])
        run.advance_time(2.0)
        # The first two elements were batched in ticks without a timer firing, so they are
        # not flushed with a timestamp; only the batch released together with the timer is.
        assert flushed.collect() == [((3,), 2.0)]


# ---- errors from user functions -----------------------------------------------------------------------

HERE = Path(__file__).name


def _site_pattern(line: int) -> str:
    return re.escape(f"{HERE}:{line}")


def test_user_function_error_names_operator_and_build_site() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    line = _line() + 1
    xs.map(lambda x: 10 // x).for_each(lambda _: None)
    with flow.run_in_process() as run:
        inp.send_many([5, 0])
        with pytest.raises(hl.UserFunctionError) as info:
            run.run_until_idle()
    msg = str(info.value)
    assert re.search(r"^HL601: the function passed to `map` \(built at .*" + _site_pattern(line) + r"\) raised ZeroDivisionError", msg)
    assert msg.endswith("while running on Process[P]")
    assert info.value.op == "map"
    assert isinstance(info.value.error, ZeroDivisionError)
    assert info.value.__cause__ is info.value.error


def test_user_function_error_in_a_keyed_fold_on_a_cluster_member() -> None:
    class W: ...

    flow = hl.FlowBuilder()
    w = flow.cluster(W)
    inp, pairs = w.sim_input(tuple)
    line = _line() + 1
    pairs.into_keyed().fold(zero, lambda acc, v: acc + v)
    with flow.run_in_process(cluster_sizes={w: 2}) as run:
        inp.send(("k", "not a number"), member=1)
        with pytest.raises(hl.UserFunctionError, match=r"`fold` \(built at .*" + _site_pattern(line) + r"\) raised TypeError.*on Cluster\[W\]/1"):
            run.run_until_idle()


def test_user_function_error_in_fold_init_is_reported_too() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, xs = p.sim_input(int)
    line = _line() + 1
    xs.batch(p.tick(), ND).fold(lambda: 1 // 0, add)
    with pytest.raises(hl.UserFunctionError, match=r"`fold` \(built at .*" + _site_pattern(line) + r"\) raised ZeroDivisionError"):
        with flow.run_in_process() as run:
            run.run_until_idle()


def test_errors_that_are_not_from_user_functions_are_not_wrapped() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    xs.unique().for_each(lambda _: None)
    with flow.run_in_process() as run:
        inp.send([1])  # type: ignore[arg-type]  # an unhashable element
        with pytest.raises(TypeError, match="unhashable"):
            run.run_until_idle()


def _line() -> int:
    import sys

    return sys._getframe(1).f_lineno


def _unused(x: Any) -> None:  # pragma: no cover
    del x


def test_source_iter_uses_a_list_as_it_is_and_reads_other_iterables_once() -> None:
    """A list is not copied (a million-element copy was most of a small program's build cost),
    and the runtime never changes it, even inside a tick where it is emitted every tick; any
    other iterable (a generator, a tuple) is read into a list while building."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    data = [1, 2, 3]
    top = p.source_iter(data)
    gen = p.source_iter(x * 10 for x in range(3))
    tup = p.source_iter((7, 8))
    inp, xs = p.sim_input(int)
    tick = p.tick()
    framed = tick.source_iter(data).chain(xs.batch(tick, ND)).all_ticks().sim_output()
    outs = [s.sim_output() for s in (top, gen, tup)]
    assert top._node.params["items"] is data  # pyright: ignore[reportPrivateUsage]
    assert gen._node.params["items"] == [0, 10, 20] and tup._node.params["items"] == [7, 8]  # pyright: ignore[reportPrivateUsage]
    with flow.run_in_process():
        outs[0].assert_yields_only([1, 2, 3])
        outs[1].assert_yields_only([0, 10, 20])
        outs[2].assert_yields_only([7, 8])
        framed.assert_yields_only([1, 2, 3])
        inp.send(4)
        framed.assert_yields_only([1, 2, 3, 4])
        inp.send(5)
        framed.assert_yields_only([1, 2, 3, 5])
    assert data == [1, 2, 3]
