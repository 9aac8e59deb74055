"""The generated tick function (``hydrologic.runtime.compiled``) behaves like ``run_node``.

The other runtime test files run every program through the generated function and through the
generic path. These tests pin down what only the generated function does: it exists from the
first tick on, it skips operators whose inputs are all empty only when running them on
nothing does nothing, and an error raised inside it is blamed on the same operator. Each test
first runs an idle tick, so that what it checks happens in a later tick too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic import NoOrder, nondet, proof
from hydrologic.lang._access import node_of
from hydrologic.runtime.tick import LocationRuntime
from runtime_support import check_idle_noop


class P: ...


class C: ...


ND = nondet("tests: the in-process driver releases everything that arrived")
HERE = re.escape(Path(__file__).name)


def _line() -> int:
    return sys._getframe(1).f_lineno  # pyright: ignore[reportPrivateUsage]


def _no_egress(*_: Any) -> None:
    return None


def _started(run: Any) -> LocationRuntime:
    """Run the first (idle) tick, which builds the location's generated function."""
    run.run_until_idle()
    rt: LocationRuntime = run.runtimes[0]
    assert rt._tick_ops is not None  # pyright: ignore[reportPrivateUsage]
    return rt


def test_the_generated_function_is_built_when_the_first_tick_starts() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    total = xs.map(lambda x: x + 1).fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process() as run:
        rt = run.runtimes[0]
        assert rt._tick_ops is None  # pyright: ignore[reportPrivateUsage]
        _started(run)
        inp.send_many([1, 2])
        inp.send(3)
        assert run.value(total) == 2 + 3 + 4


def test_the_generic_path_can_be_chosen_per_runtime() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, xs = p.sim_input(int)
    xs.for_each(lambda _: None)
    graph = flow.build()
    on = LocationRuntime(graph, graph.locations[0], None, {}, _no_egress)
    off = LocationRuntime(graph, graph.locations[0], None, {}, _no_egress, compiled=False)
    on.tick()
    off.tick()
    assert on._tick_ops is not None and off._tick_ops is None  # pyright: ignore[reportPrivateUsage]


def test_an_idle_operator_is_not_called() -> None:
    """A map with nothing to map is skipped: its ``run`` is never called on an empty batch."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    a, b = p.sim_input(int)
    doubled = xs.map(lambda x: x * 2)
    doubled.for_each(lambda _: None)  # two consumers: the map runs on its own, not fused
    out = doubled.sim_output()
    b.for_each(lambda _: None)
    with flow.run_in_process() as run:
        rt = _started(run)
        maps = [op for op in rt.ops.values() if op.node.op == "map"]
        assert len(maps) == 1
        calls: list[Any] = []
        real = maps[0].run

        def counting(ins: list[Any]) -> Any:
            calls.append(ins)
            return real(ins)

        maps[0].run = counting  # type: ignore[method-assign]
        rt._tick_ops = None  # pyright: ignore[reportPrivateUsage]
        rt.ticks_run = 0  # the next tick builds the function again, with the counting ``run``
        a.send(1)  # a tick in which the map's input is empty
        run.run_until_idle()
        a.send(2)
        run.run_until_idle()
        assert calls == []
        inp.send_many([5, 6])
        assert out.collect() == [10, 12]
        assert calls == [[[5, 6]]]


def test_an_operator_that_acts_on_empty_input_still_runs() -> None:
    """The twin of the test above: a count inside a tick emits 0 on ticks where nothing arrived,
    so it is not skipped (its ``reset`` makes it do something every tick)."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    other, ys = p.sim_input(int)
    t = p.tick()
    counts = xs.batch(t, ND).count().into_stream().all_ticks().sim_output()
    ys.for_each(lambda _: None)
    with flow.run_in_process() as run:
        _started(run)
        assert counts.collect() == [0]
        other.send(1)  # a tick where `xs` is empty: the count still emits 0
        assert counts.collect() == [0]
        inp.send_many([1, 2, 3])
        assert counts.collect() == [3]


def test_a_fan_out_branch_runs_when_only_it_has_input() -> None:
    """Skipping is per operator: with two inputs merged, the merge runs if either has data."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    i1, xs = p.sim_input(int)
    i2, ys = p.sim_input(int)
    out = xs.merge_ordered(ys, ND).map(lambda x: -x).sim_output()
    with flow.run_in_process() as run:
        _started(run)
        i2.send_many([1, 2])
        assert out.collect() == [-1, -2]
        i1.send(3)
        assert out.collect() == [-3]


def test_error_in_a_fused_function_after_the_first_tick_is_blamed_on_its_operator() -> None:
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
    kept.fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many([1, 12, 3])
        with pytest.raises(hl.UserFunctionError, match=rf"`filter` \(built at .*{HERE}:{line}\) raised RuntimeError: unlucky"):
            run.run_until_idle()


def test_error_in_a_builtin_after_the_first_tick_is_blamed_by_replay() -> None:
    """``int`` has no Python frame: the blame comes from replaying the chain on its saved input."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    line = _line() + 1
    parsed = xs.map(int)
    out = parsed.filter(lambda n: n > 0).sim_output()
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many(["1", "x2"])
        with pytest.raises(hl.UserFunctionError, match=rf"`map` \(built at .*{HERE}:{line}\) raised ValueError"):
            out.collect()


def test_error_in_an_unfused_operator_after_the_first_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    line = _line() + 1
    xs.fold(lambda: 1.0, lambda acc, x: acc / x)
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many([2, 0])
        with pytest.raises(hl.UserFunctionError, match=rf"`fold` \(built at .*{HERE}:{line}\) raised ZeroDivisionError"):
            run.run_until_idle()


def test_an_internal_error_is_not_blamed_on_a_user_function() -> None:
    """An exception from an operator without a user function propagates as is, not as the
    user's error (here a sink made to fail, inside the generated function)."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    out = xs.map(lambda x: x).sim_output()
    with flow.run_in_process() as run:
        rt = _started(run)
        sink = next(op for op in rt.ops.values() if op.node.op == "sim_output")

        def broken(ins: list[Any]) -> Any:
            if ins[0]:
                raise KeyError("engine bug")
            return []

        sink.run = broken  # type: ignore[method-assign]
        rt.ticks_run = 0
        rt._tick_ops = None  # pyright: ignore[reportPrivateUsage]
        run.run_until_idle()  # an idle tick rebuilds the function with the broken sink
        inp.send(1)
        with pytest.raises(KeyError, match="engine bug"):
            out.collect()


def test_sending_to_a_cluster_input_still_checks_the_member_after_process_sends() -> None:
    """The in-process driver caches where a process's input goes; cluster inputs still need
    ``member=``."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    c = flow.cluster(C)
    pin, xs = p.sim_input(int)
    cin, ys = c.sim_input(int)
    pout = xs.sim_output()
    cout = ys.sim_output()
    with flow.run_in_process(cluster_sizes={C: 2}):
        pin.send(1)
        pin.send(2)
        assert pout.collect() == [1, 2]
        with pytest.raises(hl.UsageError, match="HL501"):
            cin.send(5)
        cin.send(5, member=1)
        assert cout.collect() == [5]


def test_same_tick_cycles_reach_their_fixpoint_in_the_generated_function() -> None:
    """A same-tick cycle runs through the generic fixpoint loop from inside the generated tick."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    t = p.tick()
    batch = xs.batch(t, ND)
    fwd, back = t.forward_ref(int, NoOrder)
    grown = batch.weaken_ordering().chain(back).filter(lambda x: x < 5).map(lambda x: x + 1)
    reached = grown.unique()
    fwd.complete(reached)
    out = reached.all_ticks().sim_output()
    with flow.run_in_process() as run:
        rt = _started(run)
        inp.send(1)
        assert sorted(out.collect()) == [2, 3, 4, 5]
        assert rt.ticks_run == 2


def test_a_fold_over_a_fused_chain_runs_as_one_loop_with_each_stage() -> None:
    """map, filter_map, flat_map and filter inlined into the fold's loop: same value as Python."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    chain = (
        xs.map(lambda x: x * 3)
        .filter_map(lambda y: None if y % 4 == 0 else y)
        .flat_map_ordered(lambda y: range(y % 3 + 1))
        .filter(lambda z: z != 1)
    )
    total = chain.fold(lambda: [], lambda acc, z: acc + [z])
    with flow.run_in_process() as run:
        rt = _started(run)
        assert "for x in" in (rt._tick_ops.__doc__ or "")  # pyright: ignore[reportPrivateUsage]
        expected: list[int] = []
        for batch in ([1, 2, 3, 4], [], [5, 8, 7]):
            inp.send_many(batch)
            run.run_until_idle()
            for x in batch:
                y = x * 3
                if y % 4 != 0:
                    expected.extend(z for z in range(y % 3 + 1) if z != 1)
        assert run.value(total) == expected


def test_a_fold_over_a_keyed_chain_runs_as_one_loop() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(tuple)
    keyed = xs.into_keyed().map(lambda v: v * 10).filter(lambda v: v > 10).map_with_key(lambda kv: f"{kv[0]}={kv[1]}")
    joined = keyed.values().fold(lambda: frozenset(), lambda acc, s: acc | {s}, commutative=proof("set union"))
    with flow.run_in_process() as run:
        rt = _started(run)
        assert "for x in" in (rt._tick_ops.__doc__ or "")  # pyright: ignore[reportPrivateUsage]
        inp.send_many([("a", 1), ("b", 2), ("c", 3)])
        assert run.value(joined) == {"b=20", "c=30"}


def test_a_for_each_over_a_fused_chain_runs_as_one_loop() -> None:
    seen: list[Any] = []
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    xs.map(lambda x: x + 1).filter(lambda y: y % 2 == 0).for_each(seen.append)
    with flow.run_in_process() as run:
        rt = _started(run)
        assert "for x in" in (rt._tick_ops.__doc__ or "")  # pyright: ignore[reportPrivateUsage]
        inp.send_many([1, 2, 3])
        run.run_until_idle()
        inp.send_many([5])
        run.run_until_idle()
        assert seen == [2, 4, 6]


def test_a_malformed_element_in_a_keyed_loop_is_blamed_on_the_keyed_map() -> None:
    """A 3-tuple cannot be split into key and value: the error raised inside the generated loop
    (no user frame) is blamed by replaying the chain, on the operator that unpacks it."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(tuple)
    line = _line() + 1
    keyed = xs.into_keyed().map(lambda v: v)
    keyed.values().fold(lambda: 0, lambda a, b: a + b, commutative=proof("addition"))
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many([("a", 1), ("b", 2, 3)])
        with pytest.raises(hl.UserFunctionError, match=rf"`map` \(built at .*{HERE}:{line}\) raised ValueError"):
            run.run_until_idle()


def test_a_builtin_failing_inside_a_fold_loop_is_blamed_on_its_operator() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    line = _line() + 1
    parsed = xs.map(int)
    total = parsed.fold(lambda: 0, lambda a, b: a + b)
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many(["1", "2"])
        assert run.value(total) == 3
        inp.send_many(["4", "x"])
        with pytest.raises(hl.UserFunctionError, match=rf"`map` \(built at .*{HERE}:{line}\) raised ValueError"):
            run.run_until_idle()
        assert run.runtimes[0].ops[node_of(total).id].value == 3  # a failed batch leaves the fold as it was


def test_a_failing_fold_function_in_the_loop_is_blamed_on_the_fold() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    line = _line() + 1
    xs.map(lambda x: x - 1).fold(lambda: 1.0, lambda acc, x: acc / x)
    with flow.run_in_process() as run:
        _started(run)
        inp.send_many([3, 1])
        with pytest.raises(hl.UserFunctionError, match=rf"`fold` \(built at .*{HERE}:{line}\) raised ZeroDivisionError"):
            run.run_until_idle()


def test_owned_deliveries_keep_their_order_and_are_not_shared() -> None:
    """``deliver_owned`` takes a handed-over list into an empty inbox; later deliveries before the
    tick are appended after it, and the list a tick consumed is not reused for the next one."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, xs = p.sim_input(int)
    out = xs.sim_output()
    with flow.run_in_process() as run:
        rt = _started(run)
        nid = node_of(out).inputs[0].id
        first = [1, 2]
        rt.deliver_owned(nid, first)
        rt.deliver_owned(nid, [3])
        rt.deliver(nid, [4])
        assert out.collect() == [1, 2, 3, 4]
        rt.deliver_owned(nid, [5])
        assert out.collect() == [5]
        assert first == [1, 2, 3, 4]  # taken as the inbox's list: extended, as documented


def _unique_program() -> tuple[hl.FlowBuilder, Any, Any, Any]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    other, ys = p.sim_input(int)
    out = xs.unique().sim_output()
    ys.for_each(lambda _: None)
    return flow, inp, other, out


def test_the_idle_noop_check_passes_for_the_declared_operators(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check the runtime test files run on the generic path sees `unique` run on nothing."""
    monkeypatch.setattr("hydrologic.runtime.tick.COMPILE", False)
    checked = check_idle_noop(monkeypatch)
    flow, inp, other, out = _unique_program()
    with flow.run_in_process() as run:
        inp.send_many([1, 1, 2])
        assert out.collect() == [1, 2]
        other.send(5)  # a tick where unique's input is empty
        run.run_until_idle()
    assert "unique" in checked


def test_the_idle_noop_check_catches_an_operator_that_acts_on_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twin: a `unique` that records something even on an empty batch breaks the claim."""
    from hydrologic.runtime.ops.stateful import Unique

    real = Unique.run

    def eager(self: Unique, ins: list[Any]) -> list[Any]:
        self.seen.add(("ran", len(self.seen)))
        return real(self, ins)

    monkeypatch.setattr(Unique, "run", eager)
    monkeypatch.setattr("hydrologic.runtime.tick.COMPILE", False)
    check_idle_noop(monkeypatch)
    flow, inp, other, _ = _unique_program()
    with flow.run_in_process() as run:
        inp.send(1)
        run.run_until_idle()
        other.send(5)
        with pytest.raises(AssertionError, match="`unique` declares idle_noop but changed its state"):
            run.run_until_idle()


# --- streamed egress: a large output leaves while it is made (deployed locations only)


class Q: ...


class _Wire:
    """Stands in for a deployed location's two ways out: ``stream`` takes the first
    ``take`` elements of a streamed output as sent (recording which network nodes they were
    for) and hands back the rest, as ``LocationNode`` hands back the last chunk; ``egress``
    records what the end of the tick sends."""

    def __init__(self, take: int = 4) -> None:
        self.take = take
        self.streamed: list[tuple[tuple[int, ...], list[Any]]] = []
        self.sent: list[tuple[int, list[Any]]] = []

    def stream(self, nets: tuple[Any, ...], sender: int | None, it: Any) -> list[Any]:
        first = [x for _, x in zip(range(self.take), it)]
        self.streamed.append((tuple(n.id for n in nets), first))
        return list(it)

    def egress(self, net: Any, sender: int | None, items: list[Any]) -> None:
        self.sent.append((net.id, list(items)))


def _runtime_at_p(flow: hl.FlowBuilder, wire: _Wire, stream: bool = True) -> LocationRuntime:
    graph = flow.build()
    loc = next(loc for loc in graph.locations if loc.name == "P")
    return LocationRuntime(graph, loc, None, {}, wire.egress, egress_stream=wire.stream if stream else None)


def test_an_output_read_only_by_the_network_is_streamed_and_the_rest_sent_at_the_end() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([10]).flat_map_ordered(lambda k: range(k)).send(q)
    wire = _Wire()
    rt = _runtime_at_p(flow, wire)
    rt.tick()
    assert len(wire.streamed) == 1 and wire.streamed[0][1] == [0, 1, 2, 3]
    net = wire.streamed[0][0]
    assert wire.sent == [(net[0], [4, 5, 6, 7, 8, 9])]


def test_without_a_stream_the_whole_output_goes_out_at_the_end() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([10]).flat_map_ordered(lambda k: range(k)).send(q)
    wire = _Wire()
    rt = _runtime_at_p(flow, wire, stream=False)
    rt.tick()
    assert wire.streamed == [] and [items for _, items in wire.sent] == [list(range(10))]


def test_a_fused_chain_into_the_network_is_streamed_through_every_stage() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    xs = p.source_iter([10]).flat_map_ordered(lambda k: range(k))
    xs.map(lambda x: x * 10).filter(lambda x: x != 30).map(lambda x: x + 1).send(q)
    wire = _Wire()
    rt = _runtime_at_p(flow, wire)
    rt.tick()
    assert [x for _, xs_ in wire.streamed for x in xs_] + [x for _, xs_ in wire.sent for x in xs_] == [
        x * 10 + 1 for x in range(10) if x != 3
    ]
    assert wire.streamed, "the map at the end of the chain streamed"


def test_an_output_also_read_here_is_not_streamed() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    xs = p.source_iter([10]).flat_map_ordered(lambda k: range(k))
    xs.send(q)
    xs.fold(lambda: 0, lambda a, b: a + b)
    wire = _Wire()
    rt = _runtime_at_p(flow, wire)
    rt.tick()
    assert wire.streamed == [] and [items for _, items in wire.sent] == [list(range(10))]


def test_a_location_with_durable_state_does_not_stream() -> None:
    """Its messages may have to wait for a durable write of the same tick, so none leaves early."""
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([10]).flat_map_ordered(lambda k: range(k)).send(q)
    p.source_iter([1]).scan(lambda: 0, lambda a, x: a + x, durable="total").sim_output()
    wire = _Wire()
    rt = _runtime_at_p(flow, wire)
    rt.tick()
    assert wire.streamed == [] and [items for _, items in wire.sent] == [list(range(10))]


def test_a_failure_while_streaming_is_blamed_on_the_operator_after_the_prefix_left() -> None:
    """The elements before the failing one may already be on the wire (as in Hydro, where a
    send is made as its element flows); the error names the operator whose function raised."""

    def expand(k: int) -> list[int]:
        if k == 13:
            raise RuntimeError("unlucky")
        return [k] * 3

    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    line = _line() + 1
    p.source_iter([1, 2, 13, 4]).flat_map_ordered(expand).send(q)
    wire = _Wire()
    rt = _runtime_at_p(flow, wire)
    with pytest.raises(hl.UserFunctionError, match=rf"`flat_map_ordered` \(built at .*{HERE}:{line}\) raised RuntimeError: unlucky"):
        rt.tick()
    assert wire.streamed[0][1] == [1, 1, 1, 2] and wire.sent == []
