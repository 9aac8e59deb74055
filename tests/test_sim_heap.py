"""``sim._heap``: a search runs with the objects that existed before it frozen, and gives them back."""

from __future__ import annotations

import gc

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure
from hydrologic.sim._heap import frozen_heap


class P: ...


def _program() -> tuple[hl.FlowBuilder, hl.SimInput[int], hl.SimOutput[int]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("the tick takes whatever has arrived")).count().into_stream().all_ticks().sim_output()
    return flow, inp, out


@pytest.fixture(autouse=True)
def _nothing_frozen() -> None:
    gc.unfreeze()  # whatever an earlier test in this process may have left frozen


def test_a_search_runs_with_the_earlier_heap_frozen_and_unfreezes_it_after() -> None:
    flow, inp, out = _program()
    frozen_during: list[int] = []

    def scenario() -> None:
        frozen_during.append(gc.get_freeze_count())
        inp.send_many([1, 2])
        assert sum(out.collect()) == 2

    assert gc.get_freeze_count() == 0
    flow.sim().exhaustive(scenario)
    flow.sim().fuzz(scenario, iterations=20)
    assert frozen_during and min(frozen_during) > 0  # the program, this test's objects...
    assert gc.get_freeze_count() == 0


def test_the_heap_is_given_back_when_the_search_fails() -> None:
    flow, inp, out = _program()

    def scenario() -> None:
        inp.send_many([1, 2])
        assert out.collect() != [2], "one batch took both"

    with pytest.raises(SimulationFailure):
        flow.sim().exhaustive(scenario)
    assert gc.get_freeze_count() == 0


def test_nested_searches_freeze_once_and_a_disabled_collector_is_left_alone() -> None:
    with frozen_heap():
        n = gc.get_freeze_count()
        assert n > 0
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == n  # the inner block did not unfreeze the outer one's
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        with frozen_heap():
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_a_heap_someone_else_froze_stays_frozen_after_a_search() -> None:
    gc.freeze()  # as a deployed location process does
    try:
        n = gc.get_freeze_count()
        with frozen_heap():
            pass
        assert gc.get_freeze_count() == n
    finally:
        gc.unfreeze()
