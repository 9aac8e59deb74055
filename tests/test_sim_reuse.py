"""Searches reuse one instance's objects instead of building an instance per execution
(``hydrologic.sim._reuse``): every execution must be exactly what it is on a fresh instance.

Each program below runs the same random executions twice, once on fresh instances and once
through a ``Recycler``, and every execution must agree on its outcome, its decisions, its trace
and the canonical key of its final state (``_states.fingerprint``, which covers every operator's
state, the network, the stores and the fault state). The programs cover what an instance holds:
clusters, std protocols (Paxos, two-phase commit), durable state and crashes, membership changes,
timers, snapshots, async functions, and the seeded bugs (failing executions included).
"""

from __future__ import annotations

import asyncio
import copy
import random
import re
from typing import Any, AsyncIterator, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import Sim
from hydrologic.sim._choices import RandomChooser
from hydrologic.sim import _reuse
from hydrologic.sim import SimulationFailure
from hydrologic.sim._engines import fuzz, hypothesis_search, run_once
from hydrologic.sim._instance import SimInstance
from hydrologic.sim._reuse import MAX_ESCAPES, Recycler
from hydrologic.sim._states import fingerprint
from seeded_bugs_support import BUGS
from test_async_functions import _sim_program  # pyright: ignore[reportPrivateUsage]
from test_membership import _broadcaster  # pyright: ignore[reportPrivateUsage]
from test_sampling_timers import _timeout_program  # pyright: ignore[reportPrivateUsage]
from test_sim_crashes import _sim as crash_sim  # pyright: ignore[reportPrivateUsage]

ADDRESS = re.compile(r" at 0x[0-9a-f]+")


def _outcomes(sim: Sim, scenario: Callable[[], None], make: Callable[..., SimInstance], n: int, seed: int) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for i in range(n):
        ch = RandomChooser(random.Random(seed * 1000 + i))
        res = run_once(sim.plan, scenario, ch, make)
        inst = res.instance
        assert inst is not None
        out.append((
            res.status,
            list(ch.values),
            ADDRESS.sub("", repr(res.error)),
            ADDRESS.sub("", inst.trace.render()),
            fingerprint(inst),
            inst.steps_run,
        ))
    return out


def _same_with_reuse(sim: Sim, scenario: Callable[[], None], n: int = 60, seed: int = 1) -> Recycler:
    fresh = _outcomes(sim, scenario, SimInstance, n, seed)
    rec = Recycler()
    reused = _outcomes(sim, scenario, rec, n, seed)
    for i, (a, b) in enumerate(zip(fresh, reused)):
        assert a == b, f"execution {i} differs when its instance is reused"
    return rec


def _reused(rec: Recycler) -> None:
    """The test is not vacuous: the instance was reused, not refused or dropped."""
    assert rec.image is None or rec.image.refusal is None
    assert rec.reused > 0 and not rec.off and rec.escapes == 0


@pytest.mark.parametrize("bug", BUGS, ids=lambda b: b.name)
@pytest.mark.parametrize("mutated", [True, False], ids=["mutated", "clean"])
def test_every_seeded_bug_program_runs_alike_on_a_reused_instance(bug: Any, mutated: bool) -> None:
    case = bug.build(mutated)
    rec = _same_with_reuse(case.sim(), case.scenario, n=40)
    assert rec.reused > 0


@pytest.mark.parametrize("durable", [False, True])
def test_crashes_and_restarts_run_alike_on_a_reused_instance(durable: bool) -> None:
    sim, scenario = crash_sim(durable)
    sim.faults(crashes=2)
    _reused(_same_with_reuse(sim, scenario, n=80))


def test_membership_changes_run_alike_on_a_reused_instance() -> None:
    flow = hl.FlowBuilder()
    _, inp, members, got = _broadcaster(flow, "broadcast")

    def scenario() -> None:
        inp.send(7)
        got.collect()
        members.collect()

    sim = flow.sim({_workers(flow): 2}).faults(leaves=1, joins=1)
    _reused(_same_with_reuse(sim, scenario, n=80))


def _workers(flow: hl.FlowBuilder) -> Any:
    return next(l.tag for l in flow.build().locations if l.is_cluster)


def test_timers_and_snapshots_run_alike_on_a_reused_instance() -> None:
    flow, inp, out = _timeout_program()

    def scenario() -> None:
        inp.send("beat")
        out.collect()
        hl.advance_time(0.9)
        out.collect()
        hl.advance_time(0.6)
        out.collect()

    _reused(_same_with_reuse(flow.sim(), scenario, n=80))


class P: ...


class Q: ...


def test_async_functions_run_alike_on_a_reused_instance() -> None:
    flow, inp, out = _sim_program("unordered", 2)

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        assert sorted(out.collect()) == [10, 20, 30]

    _reused(_same_with_reuse(flow.sim(), scenario, n=60))


def test_an_async_source_runs_alike_whether_or_not_its_instance_can_be_reused() -> None:
    async def letters() -> AsyncIterator[str]:
        for x in "abc":
            await asyncio.sleep(0)
            yield x

    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(str)
    out = p.source_stream(letters).merge_unordered(xs).sim_output()

    def scenario() -> None:
        inp.send("z")
        assert sorted(out.collect()) == ["a", "b", "c", "z"]

    _same_with_reuse(flow.sim(), scenario, n=30)


def test_a_search_is_the_same_search_with_reuse(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole searches count the same executions, pruned executions and decisions either way."""
    bug = next(b for b in BUGS if "paxos" in b.protocol)
    case = bug.build(False)

    def searches() -> tuple[Any, ...]:
        s = case.sim()
        f = fuzz(s.plan, case.scenario, iterations=150, seed=4)
        g = fuzz(s.plan, case.scenario, iterations=150, seed=4, guided=True)
        return (f.executions, f.decisions, g.executions, g.decisions)

    def exhaustive_with_states() -> tuple[int, int, int]:
        sim, scenario = crash_sim(True)
        sim.exhaustive(scenario, crashes=1, states=True)
        assert sim.last is not None
        return sim.last.executions, sim.last.pruned, sim.last.decisions

    def shrunk_and_hypothesis() -> tuple[Any, ...]:
        bug = next(b for b in BUGS if b.name == "dedupe-per-tick")
        found = bug.build(True)
        with pytest.raises(SimulationFailure) as info:
            fuzz(found.sim().plan, found.scenario, iterations=500, seed=2)  # shrunk (the default)
        h = hypothesis_search(case.sim().plan, case.scenario, max_examples=40, seed=3)
        return ADDRESS.sub("", str(info.value)), info.value.values, h.executions, h.decisions

    reused = searches(), exhaustive_with_states(), shrunk_and_hypothesis()
    monkeypatch.setattr(_reuse, "REUSE", False)
    assert (searches(), exhaustive_with_states(), shrunk_and_hypothesis()) == reused


def _accumulating(flow: hl.FlowBuilder) -> tuple[Any, Any]:
    """A fold in a tick appends to the list its ``init`` made, and outputs that very list. The
    first tick's list was made when the program started (an aggregation starts empty, and is
    emptied again after each tick): the scenario is handed an object of the start state."""
    p = flow.process(Q)
    inp, xs = p.sim_input(int)

    def add(acc: list[int], x: int) -> list[int]:
        acc.append(x)
        return acc

    out = xs.batch(p.tick(), nondet("any split")).fold(lambda: [], add).into_stream().all_ticks().sim_output()
    return inp, out


def test_values_handed_to_the_scenario_are_never_changed_by_a_later_execution() -> None:
    flow = hl.FlowBuilder()
    inp, out = _accumulating(flow)
    kept: list[tuple[Any, Any]] = []

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        got = out.collect()
        kept.append((got, copy.deepcopy(got)))

    sim = flow.sim()
    rec = Recycler()
    for i in range(MAX_ESCAPES + 4):
        run_once(sim.plan, scenario, RandomChooser(random.Random(i)), rec)
    # what the first executions were handed was not cleared or refilled by the ones after
    assert all(got == snapshot for got, snapshot in kept)
    assert all(sorted(x for batch in got for x in batch) == [1, 2, 3] for got, _ in kept)
    assert rec.escapes >= MAX_ESCAPES and rec.off and rec.reused == 0


def test_a_start_state_that_cannot_be_put_back_is_refused_and_the_search_builds_fresh() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, xs = p.sim_input(int)
    # a fold whose accumulator is a random.Random: its state is not in its attributes
    out = (
        xs.batch(p.tick(), nondet("any split"))
        .fold(lambda: random.Random(7), lambda r, x: (r.random(), r)[1])
        .map(lambda r: round(r.random(), 6))
        .into_stream()
        .all_ticks()
        .sim_output()
    )

    def scenario() -> None:
        inp.send_many([1, 2])
        out.collect()

    sim = flow.sim()
    rec = _same_with_reuse(sim, scenario, n=20)
    assert rec.off and rec.reused == 0 and rec.image is None
    assert rec.refusal is not None and "random.Random" in rec.refusal
