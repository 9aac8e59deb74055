"""Scripted scenarios: fixed and restricted decisions, stepping sessions, state views, invariants.

Each feature has a failing program (or a failing use) and a passing twin: (a) ``sim.fix`` /
``sim.restrict`` at a named nondet site, (b) a session that steps the program and injects inputs
between steps, (c) reading any location's state at any step, (d) global invariants checked after
every step, over Multi-Paxos (holds) and over replicas without consensus (a seeded bug).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import InvariantViolation, SimulationFailure, StaleReproducerError, StaleTokenError, World
from hydrologic.types.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


class P: ...


class Q: ...


class Client1: ...


class Client2: ...


class Replicas: ...


@dataclass
class Batching:
    flow: hl.FlowBuilder
    inp: hl.SimInput[int]
    sums: hl.SimOutput[int]
    batch: Any  # the collection the nondet `batch` returned
    token: hl.NonDet
    total: Any  # a top-level fold: the state a view reads


def batching() -> Batching:
    """Sums of whatever each tick batched, and the running total at the top level."""
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    token = nondet("a tick sums whatever arrived")
    b = s.batch(p.tick(), token)
    sums = b.fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()
    total = s.fold(lambda: 0, lambda a, x: a + x)
    return Batching(flow, inp, sums, b, token, total)


def outcomes(sm: Any, prog: Batching, values: list[int]) -> tuple[int, set[tuple[int, ...]]]:
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        prog.inp.send_many(values)
        seen.add(tuple(prog.sums.collect()))

    runs = sm.exhaustive(scenario)
    return runs, seen


# ---- (a) fixing and restricting decisions -------------------------------------------------------


def test_fix_and_restrict_shrink_the_exploration() -> None:
    prog = batching()
    sm = prog.flow.sim()
    runs, seen = outcomes(sm, prog, [1, 2, 3])
    assert runs == 4 and seen == {(1, 2, 3), (1, 5), (3, 3), (6,)}
    sm.fix("a tick sums whatever arrived", lambda options: max(options, key=len))  # by reason
    assert outcomes(sm, prog, [1, 2, 3]) == (1, {(6,)})
    sm.restrict(prog.batch, lambda released: len(released) == 1)  # by collection; replaces the fix
    assert outcomes(sm, prog, [1, 2, 3]) == (1, {(1, 2, 3)})
    sm.restrict(prog.token, lambda released: len(released) <= 2)  # by token
    assert outcomes(sm, prog, [1, 2, 3]) == (3, {(1, 2, 3), (1, 5), (3, 3)})
    sm.unscript()
    assert outcomes(sm, prog, [1, 2, 3])[0] == 4


def test_a_site_named_by_file_and_line() -> None:
    prog = batching()
    sm = prog.flow.sim()
    line = prog.batch._node.site  # pyright: ignore[reportAttributeAccessIssue]
    sm.fix(f"{Path(line.file).name}:{line.line}", lambda options: options[-1])
    assert outcomes(sm, prog, [1, 2])[1] == {(3,)}


def test_a_bug_hidden_by_a_restriction_and_found_without_it() -> None:
    """Failing case and twin: a scenario that claims no tick sums more than 3 fails unrestricted
    (a tick may take 2 and 3), and passes once every tick takes one element at a time."""
    prog = batching()

    def scenario() -> None:
        prog.inp.send_many([1, 2, 3])
        assert all(x <= 3 for x in prog.sums.collect())

    sm = prog.flow.sim()
    sm.save_failures = False
    with pytest.raises(SimulationFailure) as info:
        sm.exhaustive(scenario)
    assert "a tick sums whatever arrived" in str(info.value)
    sm.restrict("a tick sums whatever arrived", lambda released: len(released) == 1)
    assert sm.exhaustive(scenario) == 1


def test_an_unknown_site_lists_the_known_ones() -> None:
    prog = batching()
    with pytest.raises(UsageError, match="HL501") as info:
        prog.flow.sim().fix("no such reason", lambda options: options[0])
    msg = str(info.value)
    assert "names no nondet site" in msg and 'nondet "a tick sums whatever arrived"' in msg
    assert "test_sim_scripted.py:" in msg  # each known site with its file:line


def test_a_rule_that_leaves_nothing_or_picks_a_non_option_is_a_usage_error() -> None:
    prog = batching()
    sm = prog.flow.sim()
    sm.restrict(prog.batch, lambda released: len(released) > 5)

    def scenario() -> None:
        prog.inp.send_many([1, 2])
        prog.sums.collect()

    with pytest.raises(UsageError, match="allows none of the options"):
        sm.exhaustive(scenario)
    sm.fix(prog.batch, lambda options: [42])
    with pytest.raises(UsageError, match="not one of the options"):
        sm.exhaustive(scenario)
    with pytest.raises(UsageError, match="needs a function"):
        sm.fix(prog.batch, [1])  # type: ignore[arg-type]


def test_tokens_made_under_rules_replay_only_under_the_same_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROLOGIC_SIM_FAILURES", str(tmp_path))
    prog = batching()
    sm = prog.flow.sim()
    sm.restrict(prog.batch, lambda released: len(released) <= 2)

    def scenario() -> None:
        prog.inp.send_many([1, 2, 3])
        assert 5 not in prog.sums.collect()

    with pytest.raises(SimulationFailure) as info:
        sm.exhaustive(scenario)
    token = info.value.token
    with pytest.raises(SimulationFailure):
        sm.replay(scenario, token)  # the same rules: the same execution fails again
    sm.unscript()
    with pytest.raises(StaleTokenError):
        sm.replay(scenario, token)
    saved = info.value.reproducer
    assert saved is not None
    with pytest.raises(StaleReproducerError, match="other scripted rules"):
        sm.replay_reproducer(scenario, saved)


def test_the_cost_estimate_reflects_a_restriction() -> None:
    prog = batching()
    sm = prog.flow.sim()

    def scenario() -> None:
        prog.inp.send_many(list(range(7)))
        prog.sums.collect()

    free = sm.estimate(scenario)
    sm.restrict(prog.batch, lambda released: len(released) <= 2)
    restricted = sm.estimate(scenario)
    assert free.exact and restricted.exact
    assert free.executions == 64  # the compositions of 7
    assert restricted.executions == 21  # its compositions into parts of 1 and 2 (a Fibonacci number)


def test_rules_apply_to_lossy_channels_observations_and_snapshots() -> None:
    # lossy channel: option True = the message arrives
    flow = hl.FlowBuilder()
    a, b = flow.process(P), flow.process(Q)
    inp, s = a.sim_input(int)
    out = s.send(b, channel=hl.Channel.lossy(nondet("acks may be lost"))).sim_output()
    got: set[tuple[int, ...]] = set()

    def send3() -> None:
        inp.send_many([1, 2, 3])
        got.add(tuple(out.collect()))

    sm = flow.sim()
    assert sm.exhaustive(send3) == 8
    sm.restrict("acks may be lost", lambda delivered: delivered)
    got.clear()
    assert sm.exhaustive(send3) == 1 and got == {(1, 2, 3)}

    # a top-level assume_ordering: the option is the element released next
    flow = hl.FlowBuilder()
    p = flow.process(P)
    i1, s1 = p.sim_input(int)
    i2, s2 = p.sim_input(int)
    merged = s1.merge_unordered(s2.weaken_ordering()).assume_ordering(nondet("first come, first served"))
    out2 = merged.sim_output()
    orders: set[tuple[int, ...]] = set()

    def race() -> None:
        i1.send(1)
        i2.send(2)
        orders.add(tuple(out2.collect()))

    sm = flow.sim()
    sm.exhaustive(race)
    assert orders == {(1, 2), (2, 1)}
    orders.clear()
    sm.fix("first come, first served", lambda options: max(options))
    sm.exhaustive(race)
    assert orders == {(2, 1)}

    # a snapshot: the options are the versions it may show (the one it showed last, then newer)
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp3, s3 = p.sim_input(int)
    reads_in, reads = p.sim_input(type(None))
    tick = p.tick()
    count = s3.count().snapshot(tick, nondet("a read sees any count so far"))
    seen_counts = reads.batch(tick, nondet("reads per tick")).cross_singleton(count).map(lambda x: x[1]).all_ticks().sim_output()
    counts: set[tuple[int, ...]] = set()

    def read() -> None:
        inp3.send_many([10, 20])
        reads_in.send(None)
        counts.add(tuple(seen_counts.collect()))

    sm = flow.sim()
    sm.exhaustive(read)
    assert (2,) in counts and len(counts) > 1, counts
    counts.clear()
    sm.fix("a read sees any count so far", lambda versions: versions[-1])
    sm.exhaustive(read)
    assert counts == {(2,)}, counts


def test_rules_apply_to_keyed_batches_and_in_tick_orderings() -> None:
    # a keyed batch: an option is the (key, value) pairs it releases, a prefix per key
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(tuple)
    tick = p.tick()
    sizes = s.into_keyed().batch(tick, nondet("per-key batches")).entries().count().into_stream().all_ticks().sim_output()
    seen: set[tuple[int, ...]] = set()

    def keyed() -> None:
        inp.send_many([("x", 1), ("y", 2), ("x", 3)])
        seen.add(tuple(sizes.collect()))

    sm = flow.sim()
    free = sm.exhaustive(keyed)
    assert seen == {(3,), (1, 2), (2, 1), (1, 1, 1)}
    sm.restrict("per-key batches", lambda released: len(released) != 2)
    seen.clear()
    restricted = sm.exhaustive(keyed)
    assert seen == {(3,), (1, 1, 1)} and restricted < free, (free, restricted)

    # an in-tick assume_ordering: an option is a permutation of the tick's batch
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp2, s2 = p.sim_input(int)
    tick = p.tick()
    batch = s2.weaken_ordering().batch(tick, nondet("all at once"))
    ordered = batch.assume_ordering(nondet("any order in a tick")).all_ticks().sim_output()
    orders: set[tuple[int, ...]] = set()

    def tick_order() -> None:
        inp2.send_many([1, 2, 3])
        orders.add(tuple(ordered.collect()))

    sm = flow.sim()
    sm.fix("all at once", lambda options: max(options, key=len))
    assert sm.exhaustive(tick_order) == 6 and len(orders) == 6  # every permutation
    sm.restrict("any order in a tick", lambda perm: perm[0] == 3)
    orders.clear()
    assert sm.exhaustive(tick_order) == 2 and orders == {(3, 1, 2), (3, 2, 1)}


# ---- (b) stepping and injecting inputs between steps -------------------------------------------


def test_a_session_steps_and_injects_inputs_between_steps() -> None:
    prog = batching()
    sm = prog.flow.sim()
    sm.fix(prog.batch, lambda options: max(options, key=len))  # a tick takes all that arrived
    with sm.session() as s:
        prog.inp.send(1)
        assert s.step()  # a tick sums [1]
        prog.inp.send_many([2, 3])
        assert s.step()  # the next tick sums [2, 3]
        assert not s.step()  # nothing left to run
        assert prog.sums.collect() == [1, 5]
        assert s.steps == 2
        assert "releasing items: [2, 3]" in s.trace()
    # the twin: both inputs before the first step give one tick
    with sm.session() as s:
        prog.inp.send(1)
        prog.inp.send_many([2, 3])
        assert s.run() == 1
        assert prog.sums.collect() == [6]


def test_a_session_steps_the_location_it_is_told_to() -> None:
    flow = hl.FlowBuilder()
    p, q = flow.process(P), flow.process(Q)
    ip, sp = p.sim_input(int)
    iq, sq = q.sim_input(int)
    outp = sp.batch(p.tick(), nondet("p batches")).all_ticks().sim_output()
    outq = sq.batch(q.tick(), nondet("q batches")).all_ticks().sim_output()
    with flow.sim().session() as s:
        ip.send(1)
        iq.send(2)
        assert s.step(Q)  # Q first, though P's tick comes first in the scheduler's order
        assert s.instance.steps_run == 1
        assert "Process[Q]" in s.trace() and "Process[P]" not in s.trace()
        assert not s.step(Q)
        assert s.step(P)
        assert outp.collect() == [1] and outq.collect() == [2]
        with pytest.raises(UsageError, match="not a process or cluster"):
            s.step("Nowhere")


def test_a_session_reports_a_broken_invariant_with_its_step() -> None:
    """Failing case: a step that breaks an invariant raises ``InvariantViolation`` naming the
    step; its twin (the same script without the second input) passes."""
    prog = batching()
    sm = prog.flow.sim()
    sm.fix(prog.batch, lambda options: max(options, key=len))

    @sm.invariant
    def ticks_sum_at_most_4(world: World) -> None:
        assert world.state(P)[prog.total] <= 4

    with pytest.raises(InvariantViolation) as info:
        with sm.session() as s:
            prog.inp.send(1)
            s.step()
            prog.inp.send(4)  # the total becomes 5 when the input arrives
    e = info.value
    assert e.invariant == "ticks_sum_at_most_4" and e.step == 1
    assert "failed after step 1 (the input [4] reached Process[P])" in str(e)
    with sm.session() as s:
        prog.inp.send(1)
        s.step()
        prog.inp.send(3)
        s.run()


# ---- (c) reading state ----------------------------------------------------------------------------


def test_state_of_any_location_at_any_step() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    total = s.fold(lambda: 0, lambda a, x: a + x)
    seen = s.unique()
    history = s.scan(lambda: (), lambda acc, x: (*acc, x), durable="history")
    tick = p.tick()
    s.batch(tick, nondet("batch")).all_ticks().sim_output()
    sm = flow.sim()
    sm.fix("batch", lambda options: options[-1])
    with sm.session() as sess:
        view = sess.state(P)
        assert view[total] == 0 or view[total] is None
        inp.send_many([3, 3, 4])
        view = sess.state(P)
        assert view[total] == 10  # by the collection
        assert view["history"] == (3, 3, 4)  # by durable name
        assert view["unique"] == {3, 4}  # by method name (one `unique` here)
        line = seen._node.site  # pyright: ignore[reportAttributeAccessIssue]
        assert view[f"{Path(line.file).name}:{line.line}"] == {3, 4}  # by file:line
        assert view[f"unique at {line}"] == {3, 4}  # as keys() lists it
        assert f"fold at {total._node.site}" in list(view)  # pyright: ignore[reportAttributeAccessIssue]
        copy = view[seen]
        copy.add(99)  # a copy: the program's state is unchanged
        assert 99 not in sess.state(P)[seen]
        del history


def test_state_lookups_that_name_nothing_are_clear_errors() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    members = flow.cluster(Replicas)
    inp, s = p.sim_input(int)
    s.fold(lambda: 0, lambda a, x: a + x)
    s.fold(lambda: 1, lambda a, x: a * x)
    s.broadcast(members, nondet("static membership")).count()
    with flow.sim(cluster_sizes={Replicas: 2}).session() as sess:
        with pytest.raises(KeyError, match="names several operators"):
            sess.state(P)["fold"]
        with pytest.raises(KeyError, match="names no operator with state.*fold at"):
            sess.state(P)["nothing"]
        with pytest.raises(UsageError, match="has 2 members: pass member=0..1"):
            sess.state(Replicas)
        assert sess.state(Replicas, member=1)["count"] == 0
        assert len(sess.world.members(Replicas)) == 2
        assert "nothing" not in sess.state(P)


# ---- (d) invariants -----------------------------------------------------------------------------


@dataclass
class ReplicaProgram:
    flow: hl.FlowBuilder
    in1: hl.SimInput[str]
    in2: hl.SimInput[str]
    log: Any  # each replica's slot -> command (a fold)
    executed: hl.SimOutput[Any]


def _record(log: dict[int, str], entry: tuple[int, str]) -> dict[int, str]:
    return {**log, entry[0]: entry[1]}


def replicas(*, seeded_bug: bool) -> ReplicaProgram:
    """Replicas that execute commands in slot order. Seeded bug: two clients broadcast to the
    replicas and each replica takes the commands in whatever order they arrive, with no
    consensus, so two replicas can execute different commands in one slot. The honest twin has
    a single client, whose FIFO channel gives every replica the same order."""
    flow = hl.FlowBuilder()
    c1, c2 = flow.process(Client1), flow.process(Client2)
    reps = flow.cluster(Replicas)
    in1, s1 = c1.sim_input(str)
    in2, s2 = c2.sim_input(str)
    r1 = s1.broadcast(reps, nondet("static membership"))
    if seeded_bug:
        r2 = s2.broadcast(reps, nondet("static membership"))
        cmds = r1.merge_unordered(r2.weaken_ordering()).assume_ordering(nondet("a replica executes commands as they arrive"))
    else:
        cmds = r1
    executed = cmds.enumerate()
    log = executed.fold(lambda: {}, _record)
    return ReplicaProgram(flow, in1, in2, log, executed.sim_output())


def one_command_per_slot(log: Any) -> Any:
    def invariant(world: World) -> None:
        chosen: dict[int, str] = {}
        for replica in world.members(Replicas):
            for slot, command in (replica[log] or {}).items():
                if chosen.setdefault(slot, command) != command:
                    raise AssertionError(f"slot {slot} holds {chosen[slot]!r} and {command!r} at {replica.name}")

    return invariant


def test_an_invariant_catches_replicas_that_disagree_on_a_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROLOGIC_SIM_FAILURES", str(tmp_path))
    prog = replicas(seeded_bug=True)
    sm = prog.flow.sim(cluster_sizes={Replicas: 2})
    sm.invariant(one_command_per_slot(prog.log), name="one command per slot")

    def scenario() -> None:
        prog.in1.send("a")
        prog.in2.send("b")
        prog.in1.send("c")
        prog.executed.collect()

    with pytest.raises(InvariantViolation) as info:
        sm.exhaustive(scenario)
    e = info.value
    msg = str(e)
    assert e.invariant == "one command per slot" and e.step >= 1
    assert f"failed after step {e.step} (observation at Cluster[Replicas]/" in msg
    assert "holds 'a' and 'b'" in msg or "holds 'b' and 'a'" in msg
    # the decisions that led there, each with its site's reason
    assert e.decision_log and all("a replica executes commands as they arrive" in d for d in e.decision_log)
    assert "What the nondet sites decided on the way there:" in msg
    # shrunk: replica 0 (independent of replica 1, so explored first) takes "b" first, then
    # replica 1's first observation takes "a": at most three real choices
    assert e.decisions <= 3 and len(e.decision_log) <= 4, e.decision_log
    assert e.decision_log[0].endswith("released next: 'b' (2 still buffered)"), e.decision_log
    # the reproducer file replays it
    assert e.reproducer is not None and e.reproducer.exists()
    data = json.loads(e.reproducer.read_text())
    assert data["decisions"] == e.values
    with pytest.raises(InvariantViolation, match="one command per slot"):
        sm.replay_reproducer(scenario, e.reproducer)
    # without the invariant the replay could not show the failure: it says so rather than pass
    bare = prog.flow.sim(cluster_sizes={Replicas: 2})
    with pytest.raises(StaleReproducerError, match="invariant 'one command per slot', which is not registered"):
        bare.replay_reproducer(scenario, e.reproducer)
    # fuzz finds and shrinks it too
    with pytest.raises(InvariantViolation) as fz:
        sm.fuzz(scenario, iterations=200, seed=3)
    assert fz.value.decisions <= 3, fz.value


def test_the_invariant_holds_for_the_honest_replicas() -> None:
    prog = replicas(seeded_bug=False)
    sm = prog.flow.sim(cluster_sizes={Replicas: 2})
    checked: list[int] = []
    check = one_command_per_slot(prog.log)

    @sm.invariant
    def agreement(world: World) -> None:
        checked.append(world.step)
        check(world)

    def scenario() -> None:
        prog.in1.send_many(["a", "b", "c"])
        prog.executed.collect()

    assert sm.exhaustive(scenario) >= 1
    assert checked  # it ran
    assert sm.fuzz(scenario, iterations=20) == 20


def test_an_invariant_that_returns_false_fails() -> None:
    prog = batching()
    sm = prog.flow.sim()
    sm.save_failures = False
    sm.invariant(lambda world: world.state(P)[prog.total] < 3, name="small total")

    def scenario() -> None:
        prog.inp.send_many([1, 2])

    with pytest.raises(InvariantViolation, match="it returned False"):
        sm.exhaustive(scenario)


# ---- Multi-Paxos -------------------------------------------------------------------------------


class Proposers: ...


class Acceptors: ...


def test_multi_paxos_replicas_never_commit_different_commands_in_one_slot() -> None:
    from hydrologic.std.paxos import paxos

    flow = hl.FlowBuilder()
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    cmd_in, commands = proposers.sim_input(str)
    clock_in, clock = proposers.sim_input(type(None))
    px = paxos(
        proposers,
        acceptors,
        commands,
        clock,
        f=1,
        nondet_leader=nondet("the test drives timeouts; any proposer may lead"),
        nondet_commit=nondet("the test accepts any slot for any command"),
    )
    committed = px.committed.unique()  # what each proposer has committed: its state is the set
    out = committed.sim_output()
    sm = flow.sim(cluster_sizes={Proposers: 2, Acceptors: 3})
    steps: list[int] = []

    @sm.invariant
    def one_command_per_slot(world: World) -> None:
        steps.append(world.step)
        chosen: dict[int, Any] = {}
        for member in world.members(Proposers):
            for slot, command in member[committed]:
                assert chosen.setdefault(slot, command) == command, (slot, chosen[slot], command)

    slots: list[int] = []

    def scenario() -> None:
        clock_in.send(None, member=0)  # proposer 0 campaigns
        cmd_in.send("a", member=0)
        clock_in.send(None, member=1)  # proposer 1 may take over
        cmd_in.send("b", member=1)
        cmd_in.send("c", member=0)
        got = out.collect()
        for _ in range(2):  # only proposer 0's clock runs: it leads and commits what it has
            clock_in.send(None, member=0)
            got += out.collect()
        slots.append(len({slot for slot, _ in got}))

    assert sm.fuzz(scenario, iterations=300, seed=0) == 300
    assert max(steps) > 10  # checked after every step of long executions
    assert max(slots) >= 2  # and the executions really commit commands


# ---- the documentation's example ---------------------------------------------------------------


def test_the_docs_scripted_example_runs(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "simulator.md").read_text()
    section = text.split("## Scripted scenarios", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert blocks, "the section has python examples"
    code = "\n".join(blocks)
    env = {**os.environ, "HYDROLOGIC_SIM_FAILURES": "off"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "InvariantViolation after step 3" in proc.stdout, proc.stdout
    assert "{0: 'a', 1: 'b'}" in proc.stdout, proc.stdout


def test_invariants_are_checked_after_crashes_and_restarts() -> None:
    """Failing case: with a fault budget, an invariant that no replica is ever down fails right
    after the crash (not only at the next step); its twin without crashes passes."""
    prog = replicas(seeded_bug=False)
    sm = prog.flow.sim(cluster_sizes={Replicas: 2})
    sm.save_failures = False

    @sm.invariant
    def every_replica_up(world: World) -> bool:
        return not any(r.crashed for r in world.members(Replicas))

    def scenario() -> None:
        prog.in1.send_many(["a", "b"])
        prog.executed.collect()

    assert sm.exhaustive(scenario) == 1
    with pytest.raises(InvariantViolation) as info:
        sm.exhaustive(scenario, crashes=1)
    assert "(the crash of Cluster[Replicas]/" in str(info.value) and "it returned False" in str(info.value)


HL_SIM_TEST = '''
import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import World


class Client1: ...
class Client2: ...
class Replicas: ...


def test_replicas_agree(hl_sim):
    flow = hl.FlowBuilder()
    c1, c2 = flow.process(Client1), flow.process(Client2)
    reps = flow.cluster(Replicas)
    in1, s1 = c1.sim_input(str)
    in2, s2 = c2.sim_input(str)
    cmds = (
        s1.broadcast(reps, nondet("static membership"))
        .merge_unordered(s2.broadcast(reps, nondet("static membership")).weaken_ordering())
        .assume_ordering(nondet("a replica executes commands as they arrive"))
    )
    executed = cmds.enumerate()
    log = executed.fold(lambda: {}, lambda acc, e: {**acc, e[0]: e[1]})
    out = executed.sim_output()
    sim = hl_sim(flow, cluster_sizes={Replicas: 2})

    @sim.invariant
    def agree(world: World) -> None:
        logs = [m[log] for m in world.members(Replicas)]
        for slot in set(logs[0]) & set(logs[1]):
            assert logs[0][slot] == logs[1][slot], (slot, logs)

    def scenario() -> None:
        in1.send("a")
        in2.send("b")
        out.collect()

    sim.exhaustive(scenario)
'''


def test_an_invariant_failure_under_hl_sim_is_saved_and_replayed_first(tmp_path: Path) -> None:
    (tmp_path / "test_agree.py").write_text(HL_SIM_TEST)

    def pytest_run() -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != "HYDROLOGIC_SIM_FAILURES"}
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agree.py"],
            cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env,
        )

    first = pytest_run()
    assert first.returncode == 1, first.stdout + first.stderr
    assert "InvariantViolation: invariant 'agree'" in first.stdout, first.stdout
    saved = list((tmp_path / "sim-failures").glob("*.json"))
    assert len(saved) == 1, saved
    second = pytest_run()
    assert second.returncode == 1
    assert "replayed from the reproducer" in second.stdout and "invariant 'agree'" in second.stdout, second.stdout


def _acceptors(durable: bool) -> tuple[Any, Any, Any]:
    """Acceptors whose state ``(promised, accepted)`` lives in a scan, volatile or durable."""

    def step(st: tuple[int, Any], msg: tuple[Any, ...]) -> tuple[int, Any]:
        promised, accepted = st
        if msg[0] == "prepare":
            return (max(promised, msg[1]), accepted)
        return (msg[1], (msg[1], msg[2])) if msg[1] >= promised else st

    flow = hl.FlowBuilder()
    acceptors = flow.cluster(Replicas)
    port, msgs = acceptors.sim_input(tuple)
    state = msgs.scan(lambda: (0, None), step, durable="acceptor" if durable else None)
    return flow, port, (state, state.sim_output())


def promises_never_decrease(state: Any) -> Any:
    def invariant(world: World) -> None:
        for acc in world.members(Replicas):
            now = (acc[state] or (0, None))[0]
            before = world.memory.get(acc.name, 0)
            assert now >= before, f"{acc.name} promised {before}, now {now}"
            world.memory[acc.name] = now

    return invariant


@pytest.mark.parametrize("durable", [False, True])
def test_an_invariant_over_time_catches_a_promise_lost_in_a_restart(durable: bool) -> None:
    """Failing case (volatile promise) and twin (durable promise): the invariant keeps each
    acceptor's last promise in ``world.memory`` and fails at the restart that forgets it."""
    flow, port, (state, out) = _acceptors(durable)
    sm = flow.sim(cluster_sizes={Replicas: 2})
    sm.save_failures = False
    sm.invariant(promises_never_decrease(state))

    def scenario() -> None:
        port.send(("prepare", 2), member=0)
        port.send(("accept", 1, "x"), member=0)
        out.collect()

    assert sm.exhaustive(scenario) == 1  # no crash: no decision at all
    if durable:
        assert sm.exhaustive(scenario, crashes=1) > 1
        return
    with pytest.raises(InvariantViolation) as info:
        sm.exhaustive(scenario, crashes=1)
    msg = str(info.value)
    assert "(the restart of Cluster[Replicas]/0)" in msg and "promised 2, now 0" in msg, msg
    assert [d.split(" ", 2)[:2] for d in info.value.decision_log] == [["crash", "Cluster[Replicas]/0"], ["restart", "Cluster[Replicas]/0"]]
