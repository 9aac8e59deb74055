"""The last Hydro-parity methods: exact outputs through the in-process runtime and the simulator.

``Singleton.all_ticks_atomic``, ``Singleton.resolve_future_blocking``, ``KeyedSingleton.batch_atomic``
and ``Atomic.as_regular_tick``; their build-time rules have failing programs and passing twins in
``tests/programs/``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import sim
from hydrologic.types.errors import UserFunctionError


class P: ...


ND = nondet("tests: the in-process driver releases everything that arrived")


def _proc() -> tuple[hl.FlowBuilder, hl.Process[P]]:
    flow = hl.FlowBuilder()
    return flow, flow.process(P)


async def _double(v: int) -> int:
    await asyncio.sleep(0)
    return v * 2


def test_singleton_all_ticks_atomic_feeds_each_tick_value_to_the_section_in_that_tick() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(int)
    per_tick = xs.batch(tick, ND).count()
    # the running sum of per-tick counts, read back in the same tick: each tick sees its own count
    total = per_tick.all_ticks_atomic().fold(lambda: 0, lambda a, n: a + n)
    seen = total.snapshot_atomic(ND).all_ticks().sim_output()
    released = per_tick.all_ticks_atomic().end_atomic().sim_output()
    with flow.run_in_process() as run:
        inp.send_many([1, 2])
        run.run_until_idle()
        assert seen.collect() == [2] and released.collect() == [2]
        inp.send(3)
        run.run_until_idle()
        assert seen.collect() == [3] and released.collect() == [1]


def test_resolve_future_blocking_awaits_the_value_in_its_tick() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(int)
    n = xs.batch(tick, ND).count()
    doubled = n.map(_double).resolve_future_blocking()
    both = n.zip(doubled).all_ticks().sim_output()  # the awaited value is there in the same tick
    with flow.run_in_process() as run:
        run.run_until_idle()
        assert both.collect() == [(0, 0)]  # the first tick's empty batch
        inp.send_many([5, 6, 7])
        run.run_until_idle()
        assert both.collect() == [(3, 6)]
        inp.send(1)
        run.run_until_idle()
        assert both.collect() == [(1, 2)]


def test_resolve_future_blocking_of_a_non_awaitable_is_the_users_error() -> None:
    flow, p = _proc()
    tick = p.tick()
    bad: Any = tick.singleton(3)
    bad.resolve_future_blocking().all_ticks().sim_output()
    with pytest.raises(UserFunctionError, match=r"HL601: .*`resolve_future_blocking` .*test_parity_rest.py:\d+.*3 \(int\), which is not awaitable"):
        with flow.run_in_process() as run:
            run.run_until_idle()


def test_keyed_singleton_batch_atomic_releases_the_changed_entries() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(tuple[str, int])
    totals = xs.into_keyed().fold(lambda: 0, lambda a, x: a + x).atomic()
    tick = totals.location().as_regular_tick()
    changed = totals.batch_atomic(ND)
    out = changed.entries().all_ticks().sim_output()
    # the tick as_regular_tick names is the one the section's reads run in
    keys = changed.key_count().zip(tick.singleton("t")).all_ticks().sim_output()
    # a map derived inside the section: its changes are computed there
    scaled = totals.map(lambda v: v * 10).batch_atomic(ND).entries().all_ticks().sim_output()
    with flow.run_in_process() as run:
        inp.send_many([("a", 1), ("b", 2)])
        run.run_until_idle()
        assert sorted(out.collect()) == [("a", 1), ("b", 2)] and keys.collect() == [(2, "t")]
        assert sorted(scaled.collect()) == [("a", 10), ("b", 20)]
        inp.send(("a", 5))
        run.run_until_idle()
        assert out.collect() == [("a", 6)] and keys.collect() == [(1, "t")]  # only the entry that changed
        assert scaled.collect() == [("a", 60)]


def test_keyed_singleton_batch_atomic_is_a_nondet_site_the_simulator_explores() -> None:
    flow, p = _proc()
    inp, xs = p.sim_input(tuple[str, int])
    totals = xs.into_keyed().fold(lambda: 0, lambda a, x: a + x).atomic()
    seen = totals.batch_atomic(nondet("which changes the section took in")).entries().all_ticks().sim_output()
    assert "which changes the section took in" in [s.reason for s in flow.nondet_sites()]
    runs: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        inp.send(("a", 1))
        inp.send(("a", 2))
        runs.add(tuple(seen.collect()))

    assert sim(flow).exhaustive(scenario) > 1
    # the final value is always seen; whether the intermediate one is depends on the batching
    assert runs == {(("a", 3),), (("a", 1), ("a", 3))}


def test_as_regular_tick_names_the_sections_tick_and_fixes_an_implicit_one() -> None:
    flow, p = _proc()
    tick = p.tick()
    _, xs = p.sim_input(int)
    section = xs.atomic(tick)
    assert repr(section.location().as_regular_tick()) == repr(tick)
    implicit = xs.atomic().location().as_regular_tick()
    assert repr(implicit) != repr(tick)
    # once named, a sliced region with another tick may no longer adopt it
    lone = xs.atomic()
    lone.location().as_regular_tick()
    with pytest.raises(hl.BuildError, match="HL202"):
        with hl.sliced(p) as s:
            s.atomic(lone, ND)


def test_spin_batch_gives_n_units_every_tick_and_run_until_idle_returns() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(int)
    sizes = tick.spin_batch(3).count().all_ticks().sim_output()
    with flow.run_in_process() as run:
        run.run_until_idle()  # returns: in-process the tick runs only when the location runs for another reason
        assert sizes.collect() == [3]
        run.run_until_idle()
        assert sizes.collect() == []  # nothing else to do: no tick
        inp.send(1)
        run.run_until_idle()
        assert sizes.collect() == [3]


def test_spin_batch_is_not_a_nondet_site_and_every_simulated_tick_holds_n_units() -> None:
    flow, p = _proc()
    tick = p.tick()
    inp, xs = p.sim_input(int)
    sizes = tick.spin_batch(2).count().all_ticks().sim_output()
    assert flow.nondet_sites() == []  # the batch size is fixed: nothing for the simulator to choose
    flow.require(no_nondet=True)
    seen: list[tuple[int, ...]] = []

    def scenario() -> None:
        inp.send(1)
        inp.send(2)
        seen.append(tuple(sizes.collect()))

    assert sim(flow).exhaustive(scenario) == 1
    assert seen and all(run and set(run) == {2} for run in seen)


def test_spin_batch_needs_a_positive_int() -> None:
    flow, p = _proc()
    tick = p.tick()
    with pytest.raises(hl.BuildError, match="HL501"):
        tick.spin_batch(0)
    with pytest.raises(hl.BuildError, match="HL501"):
        tick.spin_batch(True)
