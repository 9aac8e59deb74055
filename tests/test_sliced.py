"""Sliced regions (``with hl.sliced(loc) as s``), stateful ticks and the argument-free atomic API.

Behaviour is checked three ways: running in process (exact outputs), in the simulator (every
schedule of the nondet sites a region declares, and none that it does not), and at build time
(the errors a misused region raises).
"""

from __future__ import annotations

from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.ir.node import AtomicInfo
from hydrologic.lang._access import node_of
from hydrologic.sim import SimulationFailure, sim


class Server: ...


class Other: ...


# ---- a region with state carried between slices -------------------------------------------------


def _counter(flow: hl.FlowBuilder) -> tuple[hl.SimInput[str], hl.SimOutput[int]]:
    p = flow.process(Server)
    inp, events = p.sim_input(str)
    with hl.sliced(p) as s:
        batch = s.batch(events, nondet("count whatever arrived by this slice"))
        total = s.state(lambda tick: tick.singleton(0))
        new_total = total.value.zip(batch.count()).map(lambda pair: pair[0] + pair[1])
        total.set(new_total)
        out = s.unslice(new_total.into_stream()).sim_output()
    return inp, out


def test_state_is_carried_from_slice_to_slice() -> None:
    flow = hl.FlowBuilder()
    inp, out = _counter(flow)
    with flow.run_in_process() as run:
        seen: list[list[int]] = []
        for batch in (["a"], ["b", "c"], ["d"]):
            inp.send_many(batch)
            run.run_until_idle()
            seen.append(out.collect())
    assert seen == [[1], [3], [4]]


def test_the_simulator_explores_the_region_batch_and_the_state_stays_consistent() -> None:
    flow = hl.FlowBuilder()
    inp, out = _counter(flow)
    assert [site.op for site in flow.nondet_sites()] == ["batch"]
    histories: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many(["a", "b", "c"])
        got = out.collect()
        histories.add(tuple(got))
        assert got == sorted(got) and got[-1] == 3  # running totals: every element counted once

    sim(flow).exhaustive(scenario)
    assert {(3,), (1, 2, 3), (1, 3), (2, 3)} <= histories


def test_all_reads_of_a_region_share_one_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, reqs = p.sim_input(str)
    _, incs = p.sim_input(int)
    counter = incs.count()
    with hl.sliced(p) as s:
        r = s.batch(reqs, nondet("requests"))
        c = s.snapshot(counter, nondet("any recent count"))
        paired = r.cross_singleton(c)
        s.unslice(paired).sim_output()
    assert node_of(r).scope is node_of(c).scope is node_of(paired).scope is s.tick._info  # pyright: ignore[reportPrivateUsage]


# ---- atomic sections read in a region: read-after-write ----------------------------------------


def _keyed_counter(flow: hl.FlowBuilder, atomic: bool) -> tuple[hl.SimInput[str], hl.SimInput[str], hl.SimOutput[str], hl.SimOutput[tuple[str, int]]]:
    """Hydro's keyed counter: increments are acknowledged, gets answered from the counts."""
    server = flow.process(Server)
    inc_in, increments = server.sim_input(str)
    get_in, gets = server.sim_input(str)
    requests = gets.map(lambda k: (k, None)).into_keyed()
    if atomic:
        section = increments.atomic()  # a section with a tick of its own, adopted by the region
        counts = section.map(lambda k: (k, 1)).into_keyed().value_counts()
        acks = section.end_atomic().sim_output()
        with hl.sliced(server) as s:
            batch = s.batch(requests, nondet("answer whichever gets arrived"))
            snap = s.atomic(counts, nondet("a get reflects every acknowledged increment"))
            answers = s.unslice(snap.join_keyed_stream(batch).entries().map(lambda e: (e[0], e[1][1])))
    else:
        counts_top = increments.map(lambda k: (k, 1)).into_keyed().value_counts()
        acks = increments.sim_output()
        with hl.sliced(server) as s:
            batch = s.batch(requests, nondet("answer whichever gets arrived"))
            snap = s.snapshot(counts_top, nondet("a get may see an older count"))
            answers = s.unslice(snap.join_keyed_stream(batch).entries().map(lambda e: (e[0], e[1][1])))
    return inc_in, get_in, acks, answers.sim_output()


def _read_after_write(inc_in: hl.SimInput[str], get_in: hl.SimInput[str], acks: hl.SimOutput[str], values: hl.SimOutput[tuple[str, int]]) -> None:
    inc_in.send_many(["a", "a"])
    acks.assert_yields(["a", "a"])
    get_in.send("a")
    values.assert_yields([("a", 2)])


def test_an_atomic_read_in_a_region_sees_every_acknowledged_write() -> None:
    flow = hl.FlowBuilder()
    ports = _keyed_counter(flow, atomic=True)
    assert sorted(site.op for site in flow.nondet_sites()) == ["batch", "snapshot_atomic"]
    assert sim(flow).exhaustive(lambda: _read_after_write(*ports)) >= 1


def test_a_plain_snapshot_in_a_region_can_read_stale() -> None:
    flow = hl.FlowBuilder()
    ports = _keyed_counter(flow, atomic=False)
    with pytest.raises(SimulationFailure) as info:
        sim(flow).exhaustive(lambda: _read_after_write(*ports))
    assert "a get may see an older count" in str(info.value)


def test_keyed_counter_in_process() -> None:
    flow = hl.FlowBuilder()
    inc_in, get_in, acks, values = _keyed_counter(flow, atomic=True)
    with flow.run_in_process() as run:
        inc_in.send_many(["a", "a", "b"])
        run.run_until_idle()
        assert acks.collect() == ["a", "a", "b"]
        get_in.send_many(["a", "c"])
        run.run_until_idle()
        assert values.collect() == [("a", 2)]


def test_unslice_atomic_output_leaves_with_end_atomic() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, xs = p.sim_input(int)
    with hl.sliced(p) as s:
        b = s.batch(xs, nondet("any batch"))
        doubled = s.unslice_atomic(b.map(lambda x: 2 * x))
    out = doubled.end_atomic().sim_output()
    section = node_of(doubled).scope
    assert isinstance(section, AtomicInfo) and section.tick is node_of(b).scope
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        run.run_until_idle()
        assert out.collect() == [2, 4]


# ---- stateful ticks ------------------------------------------------------------------------------


def test_across_ticks_keeps_a_fold_across_batches() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    batch = xs.batch(tick, nondet("whatever arrived"))
    running = batch.across_ticks(lambda all_so_far: all_so_far.count())
    per_tick = batch.count()
    out = running.zip(per_tick).into_stream().all_ticks().sim_output()
    assert [site.op for site in flow.nondet_sites()] == ["batch"]  # across_ticks adds none
    with flow.run_in_process() as run:
        inp.send_many([1, 2, 3, 4])
        run.run_until_idle()
        inp.send_many([5, 6, 7])
        run.run_until_idle()
        assert out.collect() == [(4, 4), (7, 3)]


def test_across_ticks_in_the_simulator_always_counts_everything_so_far() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    batch = xs.batch(tick, nondet("whatever arrived"))
    pairs = batch.across_ticks(lambda s: s.count()).zip(batch.count().defer_tick().unwrap_or_value(0))
    out = pairs.map(lambda p: p[0]).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        got = out.collect()
        assert got == sorted(got) and got[-1] == 3 and len(set(got)) == len(got)

    assert sim(flow).exhaustive(scenario) >= 3


def test_clone_into_tick_is_not_a_nondet_site() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, xs = p.sim_input(int)
    tick = p.tick()
    limit = p.source_iter([3, 5]).fold(lambda: 0, max).clone_into_tick(tick)
    big = xs.batch(tick, nondet("any batch")).cross_singleton(limit).filter(lambda e: e[0] > e[1])
    out = big.map(lambda e: e[0]).all_ticks().sim_output()
    assert [site.op for site in flow.nondet_sites()] == ["batch"]
    with flow.run_in_process() as run:
        inp.send_many([4, 6, 2, 9])
        run.run_until_idle()
        assert out.collect() == [6, 9]


def test_singleton_atomic_and_latest_atomic() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    inp, xs = p.sim_input(int)
    total = xs.fold(lambda: 0, lambda a, x: a + x).atomic()  # a singleton entering a section
    with hl.sliced(p) as s:
        seen = s.atomic(total, nondet("the total as of this slice"))
        tenfold = s.unslice_atomic(seen.map(lambda v: v * 10))  # latest_atomic
    top = tenfold.end_atomic()
    with hl.sliced(p) as later:
        out = later.unslice(later.snapshot(top, nondet("any recent value")).into_stream()).sim_output()
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        run.run_until_idle()
        inp.send(4)
        run.run_until_idle()
        assert out.collect()[-1] == 70


# ---- misuse ------------------------------------------------------------------------------------


def test_state_never_set_is_hl401() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, xs = p.sim_input(int)
    with pytest.raises(hl.CycleError) as info:
        with hl.sliced(p) as s:
            s.batch(xs, nondet("any"))
            s.state(lambda tick: tick.singleton(0))
    assert info.value.code == "HL401" and "never set" in str(info.value) and "test_sliced.py" in str(info.value)


def test_a_region_that_reads_nothing_is_hl501() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    with pytest.raises(hl.UsageError) as info:
        with hl.sliced(p) as s:
            s.tick.singleton(1)
    assert info.value.code == "HL501" and "reads no collection" in str(info.value)


def test_unslice_of_a_collection_outside_the_region_is_hl202() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, xs = p.sim_input(int)
    other = xs.batch(p.tick(), nondet("another tick"))
    with pytest.raises(hl.LocationError) as info:
        with hl.sliced(p) as s:
            s.batch(xs, nondet("any"))
            s.unslice(other)  # pyright: ignore[reportUnknownMemberType]
    assert info.value.code == "HL202"


def test_an_atomic_section_is_read_by_one_tick_only() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, xs = p.sim_input(int)
    total = xs.atomic().count()
    with hl.sliced(p) as first:
        first.atomic(total, nondet("first reader"))
    with pytest.raises(hl.LocationError) as info:
        with hl.sliced(p) as second:
            second.atomic(total, nondet("second reader"))
    assert info.value.code == "HL202" and "belongs to" in str(info.value)


def test_atomic_read_of_a_collection_outside_a_section_is_hl109() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Server)
    _, xs = p.sim_input(int)
    with pytest.raises(hl.LocationError) as info:
        with hl.sliced(p) as s:
            s.atomic(xs.count(), nondet("not atomic"))  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue,reportArgumentType]
    assert info.value.code == "HL109"


# ---- docs/sliced.md: the worked example runs as shown ---------------------------------------------


def _doc_blocks() -> list[str]:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "sliced.md").read_text()
    return [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]


def test_docs_sliced_worked_example_holds_in_every_schedule_and_in_process() -> None:
    (block,) = [b for b in _doc_blocks() if b.startswith("def keyed_counter")]
    ns: dict[str, object] = {"hl": hl, "nondet": nondet, "Server": Server}
    exec(compile(block, "docs/sliced.md", "exec"), ns)
    keyed_counter, read_after_write = ns["keyed_counter"], ns["read_after_write"]
    flow = hl.FlowBuilder()
    inc_in, get_in, acks, values, total_served = keyed_counter(flow)  # type: ignore[operator]
    assert sim(flow).exhaustive(lambda: read_after_write(inc_in, get_in, acks, values)) >= 1  # type: ignore[operator]
    flow = hl.FlowBuilder()
    inc_in, get_in, acks, values, total_served = keyed_counter(flow)  # type: ignore[operator]
    with flow.run_in_process() as run:
        inc_in.send_many(["apples", "apples", "pears"])
        run.run_until_idle()
        get_in.send_many(["apples", "plums"])
        run.run_until_idle()
        get_in.send("pears")
        run.run_until_idle()
        assert values.collect() == [("apples", 2), ("pears", 1)]
        assert run.value(total_served) == 2  # the last slice started from 2 (and set 3 for the next one)


def test_docs_sliced_across_ticks_snippet() -> None:
    (block,) = [b for b in _doc_blocks() if "across_ticks" in b]
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    inp, events = server.sim_input(int)
    ns: dict[str, object] = {"hl": hl, "nondet": nondet, "server": server, "events": events}
    exec(compile(block, "docs/sliced.md", "exec"), ns)
    so_far, this_batch = ns["so_far"], ns["this_batch"]
    out = so_far.zip(this_batch).into_stream().all_ticks().sim_output()  # type: ignore[attr-defined]
    with flow.run_in_process() as run:
        inp.send_many([1, 2, 3, 4])
        run.run_until_idle()
        inp.send_many([5, 6, 7])
        run.run_until_idle()
        assert out.collect() == [(4, 4), (7, 3)]


# ---- Singleton/KeyedSingleton.atomic: several readers see one version ------------------------------


def _two_readers(flow: hl.FlowBuilder, atomic: bool, keyed: bool) -> tuple[hl.SimInput[str], hl.SimInput[str], hl.SimOutput[bool]]:
    """Two reads of one live value in each slice (the slices run when requests arrive)."""
    p = flow.process(Server)
    inp, xs = p.sim_input(str)
    req_in, pokes = p.sim_input(str)
    live: Any = xs.map(lambda x: (x, 1)).into_keyed().value_counts() if keyed else xs.count()
    first: Any
    second: Any
    same: Any
    with hl.sliced(p) as s:
        s.batch(pokes, nondet("requests are served in any batches"))
        if atomic:
            section = live.atomic()
            first = s.atomic(section, nondet("the first reader's version"))
            second = s.atomic(section, nondet("the second reader's version"))
        else:
            first = s.snapshot(live, nondet("the first reader's version"))
            second = s.snapshot(live, nondet("the second reader's version"))
        same = first.zip(second).map(lambda pair: pair[0] == pair[1]) if not keyed else first.entries().count().zip(second.entries().count()).map(lambda pair: pair[0] == pair[1])
        out: hl.SimOutput[bool] = s.unslice(same.into_stream()).sim_output()
    return inp, req_in, out


@pytest.mark.parametrize("keyed", [False, True], ids=["singleton", "keyed_singleton"])
def test_atomic_readers_of_one_section_agree_and_plain_snapshots_may_not(keyed: bool) -> None:
    for atomic in (True, False):
        flow = hl.FlowBuilder()
        inp, req_in, out = _two_readers(flow, atomic, keyed)
        verdicts: set[bool] = set()

        def scenario() -> None:
            inp.send("a")
            req_in.send("r1")
            inp.send("b")
            verdicts.update(out.collect())

        sim(flow).exhaustive(scenario)
        assert verdicts == ({True} if atomic else {True, False}), (atomic, verdicts)
