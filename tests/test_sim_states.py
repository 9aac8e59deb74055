"""State caching (``exhaustive(states=True)``): fewer executions, the same behaviours.

The reduction must not lose anything: on scenarios small enough to enumerate both ways, the set of
distinct outcomes the scenario observes is the same with and without the cache, while the cached
search runs fewer executions; every seeded bug is still found; and states that differ in anything
the future can depend on (operator state, aliasing, where the scenario is) never share a key.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, Stats, sim
from hydrologic.sim._choices import PrefixChooser
from hydrologic.sim._engines import exhaustive, run_once
from hydrologic.sim._states import StateTable, fingerprint

from seeded_bugs_support import BUGS, two_phase_commit_counter
from test_paxos_sim import Acceptors, assert_agreement, program
from hydrologic.sim._errors import RedundantExecution
from hydrologic.sim._instance import SimInstance
from hydrologic.sim._scheduler import Scheduler, Unit
from test_sim_reference import compositions, ordered_set_partitions, _blocks


class P: ...


class W: ...


Outcomes = set[Any]


class _InterleaveAll(Scheduler):
    """Hydro's scheduling (any runnable tick next, no persistent or sleep sets), with the cache's
    look-up before each pick as the simulator's own scheduler does it."""

    def pick(self, cands: list[Unit]) -> Unit:
        if self.visited is not None and self.visited(self.sleep):
            raise RedundantExecution()
        return cands[self.decider.choose(len(cands))]


class HydroLikeInstance(SimInstance):
    def _new_scheduler(self) -> Scheduler:
        return _InterleaveAll(self.plan, self.locs, self.decider)


def both_ways(
    build: Callable[[], tuple[Any, Callable[[Outcomes], Callable[[], None]]]], *, make: Any = None
) -> tuple[Stats, Outcomes, Stats, Outcomes]:
    """Enumerate the scenario without and with the cache; the outcome sets each observed."""
    results: list[tuple[Stats, Outcomes]] = []
    for states in (False, True):
        sm, scenario_for = build()
        seen: Outcomes = set()
        st = Stats("exhaustive")
        kw: dict[str, Any] = {} if make is None else {"make": make}
        exhaustive(sm.plan, scenario_for(seen), stats=st, states=states, max_seconds=300, **kw)
        assert st.complete
        results.append((st, seen))
    (plain, a), (cached, b) = results
    return plain, a, cached, b


def unordered_batch() -> tuple[Any, Callable[[Outcomes], Callable[[], None]]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    batch = s.weaken_ordering().batch(p.tick(), nondet("test"))
    out = batch.all_ticks().sim_output()
    sizes = batch.count().into_stream().all_ticks().sim_output()

    def scenario_for(seen: Outcomes) -> Callable[[], None]:
        def scenario() -> None:
            inp.send_many_unordered([1, 2, 3, 4])
            seen.add(_blocks(out.collect(), sizes.collect()))

        return scenario

    return sim(flow), scenario_for


def test_every_ordered_set_partition_is_still_seen() -> None:
    plain, a, cached, b = both_ways(unordered_batch)
    assert a == b == ordered_set_partitions([1, 2, 3, 4])
    # every leaf is a different outcome, so nothing can be merged: the same 75 executions
    assert plain.executions == cached.executions == 75


def two_members() -> tuple[Any, Callable[[Outcomes], Callable[[], None]]]:
    flow = hl.FlowBuilder()
    c = flow.cluster(W)
    inp, s = c.sim_input(int)
    batch = s.batch(c.tick(), nondet("which arrived"))
    sizes = batch.count().into_stream().all_ticks().cross_singleton(c.self_id()).sim_output()

    def scenario_for(seen: Outcomes) -> Callable[[], None]:
        def scenario() -> None:
            inp.send_many([1, 2, 3], member=0)
            inp.send_many([1, 2, 3], member=1)
            per: dict[int, list[int]] = {0: [], 1: []}
            for n, m in sizes.collect():
                per[m.raw_id].append(n)
            seen.add((tuple(per[0]), tuple(per[1])))

        return scenario

    return sim(flow, cluster_sizes={W: 2}), scenario_for


def test_interleavings_that_meet_in_one_state_are_run_once() -> None:
    # Hydro's scheduling (every interleaving of the two members' ticks: 106 executions) reaches
    # each pair of batchings through many orders; the cache runs each state's future once.
    plain, a, cached, b = both_ways(two_members, make=HydroLikeInstance)
    assert a == b == {(x, y) for x in compositions(3) for y in compositions(3)}
    assert plain.executions + plain.pruned == 106
    assert cached.executions < plain.executions, (cached, plain)
    assert cached.states is not None and cached.states.hits == cached.pruned > 0


def paxos_race() -> tuple[Any, Callable[[Outcomes], Callable[[], None]]]:
    p = program(2, 1, 0)

    def scenario_for(seen: Outcomes) -> Callable[[], None]:
        def scenario() -> None:
            p.clock.send(None, member=0)
            p.commands.send("a", member=0)
            p.clock.send(None, member=1)
            got = p.committed.collect()
            chosen = assert_agreement(got)
            leaders = frozenset(m.raw_id for _, m in p.elected.collect())
            seen.add((frozenset((e, m.raw_id) for e, m in got), tuple(sorted(chosen.items())), leaders))

        return scenario

    return p.sim(), scenario_for


def test_a_paxos_leader_change_keeps_every_outcome() -> None:
    plain, a, cached, b = both_ways(paxos_race)
    assert a == b
    # committed or not yet, under one leader or two: not a single outcome
    assert len(a) >= 4 and {o[2] for o in a} >= {frozenset({0}), frozenset({0, 1})}, a
    assert cached.executions * 4 < plain.executions, (cached.executions, plain.executions)


@pytest.mark.parametrize("bug", BUGS, ids=[b.name for b in BUGS])
def test_every_seeded_bug_is_found_with_the_cache(bug: Any) -> None:
    case = bug.build(True)
    with pytest.raises(SimulationFailure) as info:
        case.sim().exhaustive(case.scenario, states=True, max_seconds=120)
    assert type(info.value.original) is AssertionError, info.value
    assert "seeded_bugs_support.py" in str(info.value)


# ---- the key ------------------------------------------------------------------------------------


def _instance_after(scenario: Callable[[], None], sm: Any, decisions: list[int]) -> Any:
    res = run_once(sm.plan, scenario, PrefixChooser(decisions))
    assert res.status == "ok", res.error
    inst = res.instance
    inst.log = []
    return inst


def test_states_that_differ_in_operator_state_get_different_keys() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    total = s.batch(p.tick(), nondet("which arrived")).fold(lambda: [], lambda acc, x: [*acc, x])
    out = total.into_stream().all_ticks().sim_output()
    sm = sim(flow)

    def scenario() -> None:
        inp.send_many([1, 2])
        out.next()  # after the first tick

    one_tick = _instance_after(scenario, sm, [1])  # both in the first batch: [1, 2]
    two_ticks = _instance_after(scenario, sm, [0])  # 1 first: [1], and 2 still waits
    again = _instance_after(scenario, sm, [1])
    assert fingerprint(one_tick) == fingerprint(again) is not None
    assert fingerprint(one_tick) != fingerprint(two_ticks)


class Box:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def test_aliasing_and_where_the_scenario_is_are_part_of_the_key() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.sim_output()
    sm = sim(flow)

    def scenario() -> None:
        inp.send(1)

    inst = _instance_after(scenario, sm, [])
    base = fingerprint(inst)
    shared = [1]
    inst.memory["a"], inst.memory["b"] = Box(shared), Box(shared)
    aliased = fingerprint(inst)
    inst.memory["b"] = Box([1])  # equal contents, but no longer the same list
    assert aliased != fingerprint(inst) != base
    inst.memory.clear()
    inst.log.append(1)  # one more driver call: the scenario is elsewhere
    assert fingerprint(inst) != base


def test_a_value_it_cannot_encode_is_never_merged() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.sim_output()
    sm = sim(flow)

    def scenario() -> None:
        inp.send(1)

    inst = _instance_after(scenario, sm, [])
    inst.memory["gen"] = (x for x in range(3))
    assert fingerprint(inst) is None
    table = StateTable()
    chooser = PrefixChooser([])
    assert not table.visit(inst, chooser, set()) and not table.visit(inst, chooser, set())
    assert table.unknown == 2 and table.hits == 0


def test_a_state_is_pruned_only_if_its_first_visit_slept_on_less() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.sim_output()
    sm = sim(flow)

    def scenario() -> None:
        inp.send(1)

    inst = _instance_after(scenario, sm, [])
    table = StateTable()
    ch = PrefixChooser([])
    a, b = (0, 0, 0), (1, 0, 0)
    assert not table.visit(inst, ch, {a})  # first visit, with a asleep
    assert not table.visit(inst, ch, set())  # a now awake: explored again (a was not)
    assert table.visit(inst, ch, {b})  # the table keeps {a} & {} = {}: covered
    assert table.hits == 1


def test_the_paxos_leader_that_skips_recovery_is_found_with_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/paxos.md's exhaustive seeded bug: a new leader that recovers nothing re-proposes
    # over a chosen value; the cached search must still reach the execution that shows it.
    import importlib

    from test_paxos_sim import race_scenario

    monkeypatch.setattr(importlib.import_module("hydrologic.std.paxos.proposer"), "_recover", lambda promises: {})
    p = program(2, 1, 0)
    sm = p.sim()
    with pytest.raises(SimulationFailure, match="two values committed for slot"):
        sm.exhaustive(race_scenario(p), states=True, max_seconds=120)


class _Colliding:
    """Hashes to one bucket, so a set's iteration order follows its insertion history."""

    __slots__ = ("v",)

    def __init__(self, v: int) -> None:
        self.v = v

    def __hash__(self) -> int:
        return 7

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Colliding) and other.v == self.v


class _Fresh:
    """``__sim_state__`` returns a new list every time: a temporary of the encoding."""

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __sim_state__(self) -> list[int]:
        return list(self.items)


def test_equal_states_get_equal_keys_whatever_their_history() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.sim_output()
    sm = sim(flow)

    def scenario() -> None:
        inp.send(1)

    inst = _instance_after(scenario, sm, [])
    a, b = _Colliding(1), _Colliding(2)
    forward, backward = {a, b}, {b, a}
    assert list(forward) != list(backward)  # same contents, different iteration order
    for wrap in (set, frozenset, lambda m: frozenset({("t1", frozenset(m)), ("t2", frozenset())})):
        keys = []
        for members in (forward, backward):
            inst.memory.clear()
            inst.memory["x"] = wrap(members)
            keys.append(fingerprint(inst))
        assert keys[0] == keys[1] is not None
    # equal strings that are distinct objects, or the same object: the key is about values only
    inst.memory.clear()
    inst.memory["x"] = ["ab", "ab"]
    shared = fingerprint(inst)
    inst.memory["x"] = ["ab", "".join(["a", "b"])]
    assert fingerprint(inst) == shared
    # temporaries made while encoding (freed at once) are not mistaken for one another: two
    # objects whose states differ never encode as one being a reference to the other
    inst.memory.clear()
    inst.memory["x"] = [_Fresh([1]), _Fresh([2])]
    differ = fingerprint(inst)
    inst.memory["x"] = [_Fresh([1]), _Fresh([1])]
    assert fingerprint(inst) != differ


_COUNT_STATES = """
import sys
sys.path.insert(0, {tests!r})
from seeded_bugs_support import two_phase_commit_counter
case = two_phase_commit_counter(None, 2)
sm = case.sim()
runs = sm.exhaustive(case.scenario, states=True)
print(runs, sm.last.pruned, len(sm.last.states.seen))
"""


def test_the_search_is_the_same_under_any_hash_seed() -> None:
    # The states a search visits, and so its counts, do not depend on the process's hash seed
    # (set iteration order) nor on where objects happen to be allocated.
    import os
    import subprocess
    import sys

    tests = os.path.dirname(os.path.abspath(__file__))
    code = _COUNT_STATES.format(tests=tests)
    outs = set()
    for seed in ("0", "1"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        outs.add(done.stdout.strip())
    assert len(outs) == 1, outs


# ---- what the last tick left behind -----------------------------------------------------------


def _leftover_program() -> tuple[Any, Any, Any, Any]:
    """A tick whose count is mapped twice: once for an output (a reader in the same tick), once
    into ``defer_tick`` (a reader in the next tick)."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    t = p.tick()
    n = s.batch(t, nondet("which arrived")).count()
    shown = n.map(lambda k: k * 10)
    carried = n.map(lambda k: k + 1)
    out = shown.into_stream().all_ticks().sim_output()
    before = carried.defer_tick().into_stream().all_ticks().sim_output()
    return sim(flow), inp, (shown, carried), (out, before)


def test_a_ticks_scalar_read_only_in_that_tick_is_left_out_of_the_key() -> None:
    sm, _, (shown, carried), _ = _leftover_program()
    lp = next(iter(sm.plan.locs.values()))
    assert shown._node.id in lp.transient  # recomputed before its reader in every tick
    assert carried._node.id not in lp.transient  # defer_tick reads it in the next tick


def test_states_that_differ_only_in_the_last_ticks_leftovers_share_a_key() -> None:
    sm, inp, (shown, carried), (out, before) = _leftover_program()

    def scenario() -> None:
        inp.send_many([1, 2])
        out.collect()
        before.collect()

    inst = _instance_after(scenario, sm, [1])
    ops = inst.locs[0].rt.ops
    key = fingerprint(inst)
    assert ops[shown._node.id].value == 20  # what the last tick computed, never read again
    ops[shown._node.id].value = 99
    assert fingerprint(inst) == key
    ops[carried._node.id].value = 99  # the next tick's defer_tick reads this one
    assert fingerprint(inst) != key


def test_the_paxos_proposers_last_inbox_no_longer_splits_states() -> None:
    # one campaign, then a second proposer times out with a command: 2,106 states when the
    # proposers' zipped inboxes of their last tick were part of the key, 101 now
    from test_paxos_sim import Acceptors

    p = program(2, 3, 1)
    s = p.sim()

    def scenario() -> None:
        p.clock.send(None, member=0)
        p.committed.collect()
        p.clock.send(None, member=1)
        p.commands.send("b", member=1)
        assert_agreement(p.committed.collect())

    s.exhaustive(scenario, symmetric=[Acceptors], max_seconds=120)
    assert s.last is not None and s.last.complete and s.last.states is not None
    assert len(s.last.states.seen) < 300, len(s.last.states.seen)


def _wiring(v: Any) -> bool:
    import functools
    import types

    return isinstance(v, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial))


@pytest.mark.parametrize("seed", range(3))
def test_operators_the_key_leaves_out_hold_nothing_between_runs(seed: int) -> None:
    # ``stateless``/``fusable`` operators are left out of the state key: after every execution
    # of a Paxos leader change and of the seeded-bug programs, each holds only its wiring, an
    # ABSENT value and its first-run flag, which it never reads.
    import random

    from hydrologic.runtime.ops.base import ABSENT
    from hydrologic.sim._choices import RandomChooser
    from test_paxos_sim import race_scenario

    p = program(2, 3, 1)
    cases: list[tuple[Any, Callable[[], None]]] = [(p.sim().plan, race_scenario(p))]
    for bug in BUGS[:4]:
        case = bug.build(False)  # the clean twin
        cases.append((case.sim().plan, case.scenario))
    seen = 0
    for plan, scenario in cases:
        res = run_once(plan, scenario, RandomChooser(random.Random(seed)))
        assert res.instance is not None
        for st in res.instance.locs:
            for op in st.rt.ops.values():
                if not (op.stateless or op.fusable):
                    continue
                seen += 1
                extra = {k: v for k, v in vars(op).items() if k not in ("node", "ctx", "in_tick", "first", "value") and not _wiring(v)}
                assert not extra, f"{type(op).__name__} holds {extra}"
                assert op.value is ABSENT, f"{type(op).__name__}.value = {op.value!r}"
    assert seen > 50


def test_the_key_bytes_merge_exactly_the_states_their_repr_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    # The key is serialized with marshal (version 2) because repr was a sixth of a protocol
    # search's time. Over every state two searches key (Paxos with three acceptors, symmetric, and
    # the 2PC seeded-bug program), two states get equal marshal bytes exactly when they get equal
    # repr text, so the change merges the same states and separates the same ones.
    import hydrologic.sim._states as states_mod

    seen: dict[bytes, str] = {}
    by_repr: dict[str, bytes] = {}
    serialize = states_mod._serialize  # pyright: ignore[reportPrivateUsage]

    def both(encoded: tuple[Any, ...]) -> bytes:
        raw = serialize(encoded)
        assert raw.startswith(b"m"), "every state of these programs marshals"
        text = repr(encoded)
        assert seen.setdefault(raw, text) == text
        assert by_repr.setdefault(text, raw) == raw
        return raw

    monkeypatch.setattr(states_mod, "_serialize", both)
    p = program(2, 3, 1)
    sm = p.sim()

    def election() -> None:
        p.clock.send(None, member=0)
        p.commands.send("a", member=0)
        assert_agreement(p.committed.collect())

    sm.exhaustive(election, symmetric=[Acceptors], max_seconds=120)
    case = two_phase_commit_counter(None, 2)
    case.sim().exhaustive(case.scenario, states=True, max_seconds=120)
    assert len(seen) == len(by_repr) > 50
    assert "('ABSENT',)" in "".join(seen.values())  # operators' "no value yet" met and written apart
