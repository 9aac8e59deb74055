"""The seeded-bug suite: small protocol programs, each with realistic mutations and a clean twin.

Every ``SeededBug`` builds a program and its scenario either clean (``mutated=False``) or with one
mutation (``mutated=True``): a quorum one short, an acknowledgement sent before the write is
applied, a merge that keeps the wrong version, a dedupe that only looks inside one batch, an
off-by-one in a log's gap check... The simulator must find every mutation and pass every clean
twin. ``tests/test_sim_seeded_bugs.py`` runs them; ``bench/bench_seeded_bugs.py`` measures how
many executions each search needs to find each bug.

The protocols are written here, not imported from ``hydrologic.std`` internals, so that the suite
does not depend on private names: they use the public language API and the public ``std``
building blocks (``reached_quorum``, ``two_phase_commit``, ``paxos``), and a mutation is a
changed parameter, a changed step function, or a changed wiring of the same pieces. Six
protocols: a quorum register, a key-value server, a log replica, two-phase commit, a gossiped
counter and a Multi-Paxos client; 14 mutations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import hydrologic as hl
from hydrologic import MemberId, nondet
from hydrologic.sim import Sim
from hydrologic.std import reached_quorum

Scenario = Callable[[], None]


@dataclass(frozen=True)
class Case:
    """One built program and the scenario that exercises it."""

    flow: hl.FlowBuilder
    sizes: dict[Any, int]
    scenario: Scenario

    def sim(self) -> Sim:
        s = self.flow.sim(cluster_sizes=self.sizes or None)
        s.save_failures = False  # the suite's failures are expected: no reproducer files
        s.show_progress = False
        return s


Budget = int | str
"""How a search runs: ``"exhaustive"`` (every execution), or that many fuzz executions."""


@dataclass(frozen=True)
class SeededBug:
    """A mutation of one protocol, and how the suite searches for it and checks its clean twin.

    ``find`` is the search that must find the mutation within 60 s (``"exhaustive"``, or a fuzz
    budget where depth-first search reaches the bug only after thousands of executions). ``twin`` names the clean
    program (mutations of one protocol share it), checked with ``twin_ci`` in CI and ``twin_full``
    when ``HL_FULL=1`` (exhaustive wherever it finishes in minutes; a fuzz budget where even that
    is too large to enumerate).
    """

    name: str
    protocol: str
    what: str
    build: Callable[[bool], Case]
    twin: str
    find: Budget = "exhaustive"
    twin_ci: Budget = "exhaustive"
    twin_full: Budget = "exhaustive"


# ---- 1. a quorum-replicated register (std.reached_quorum) -----------------------------------------


class Client: ...


class Replicas: ...


Version = tuple[int, str]  # (version, value); the register keeps the highest version


def _replica_step(
    st_msgs: tuple[tuple[Version, list[Version]], list[int]],
) -> tuple[Version, list[int], list[tuple[int, Version]]]:
    """One replica tick: apply the writes it took (keep the highest version), answer the reads it
    took with the state *after* those writes, acknowledge each applied write."""
    (state, writes), reads = st_msgs
    for w in writes:
        state = max(state, w)
    return state, [w[0] for w in writes], [(rid, state) for rid in reads]


ReadAcc = tuple[dict[int, list[Version]], list[tuple[int, Version]]]  # answers per read id, this step's result


def _read_step(mutation: str, quorum: int) -> Callable[[ReadAcc, tuple[MemberId[Replicas], tuple[int, Version]]], ReadAcc]:
    def step(acc: ReadAcc, answer: tuple[MemberId[Replicas], tuple[int, Version]]) -> ReadAcc:
        seen, _ = acc
        _member, (rid, version) = answer
        got = seen.setdefault(rid, [])
        got.append(version)
        if len(got) != quorum:
            return seen, []
        pick = min(got) if mutation == "read-merge-lowest" else max(got)
        return seen, [(rid, pick)]

    return step


def quorum_register(mutation: str | None, *, retry: bool = False, replicas: int = 3) -> Case:
    """A client writes a versioned value to ``replicas`` (3) replicas and waits for a write quorum of
    acknowledgements (``std.reached_quorum``), then reads from a read quorum and keeps the answer
    with the highest version. Replicas take writes and reads from separate queues (a read may
    overtake a write that arrived first), so only quorum intersection makes the read see the write.
    """
    n = replicas
    majority = n // 2 + 1
    write_q = n // 2 if mutation == "write-quorum-too-small" else majority
    read_q = 1 if mutation == "read-quorum-too-small" else majority
    flow = hl.FlowBuilder()
    client = flow.process(Client)
    replicas = flow.cluster(Replicas)
    w_in, writes = client.sim_input(tuple)
    r_in, reads = client.sim_input(int)
    members = nondet("the test's cluster membership is static")
    w_at = writes.broadcast(replicas, members)
    r_at = reads.broadcast(replicas, members)
    tick = replicas.tick()
    state_handle, state = tick.cycle_with_initial(tick.singleton((0, "")))
    w_batch = w_at.batch(tick, nondet("a replica applies whichever writes have arrived"))
    r_batch = r_at.batch(tick, nondet("a replica answers whichever reads have arrived, before or after writes"))
    step = state.zip(w_batch.collect_list()).zip(r_batch.collect_list()).map(_replica_step)
    state_handle.complete_next_tick(step.map(lambda s: s[0]))
    if mutation == "ack-before-apply":
        acks = w_at.map(lambda w: w[0])  # acknowledged on arrival, applied in some later tick
    else:
        acks = step.flat_map_ordered(lambda s: s[1]).all_ticks()
    by_version = acks.send(client).entries().map(lambda e: (e[1], e[0]))
    if mutation != "duplicate-acks-counted":
        by_version = by_version.unique()  # a retried write is acknowledged again: count members once
    write_done = reached_quorum(by_version.into_keyed(), write_q).sim_output()
    answers = step.flat_map_ordered(lambda s: s[2]).all_ticks().send(client).entries()
    results = (
        answers.assume_ordering(nondet("the client keeps the first answers to arrive"))
        .scan(lambda: ({}, []), _read_step(mutation or "", read_q))
        .flat_map_ordered(lambda acc: acc[1])
        .sim_output()
    )

    def scenario() -> None:
        w_in.send((1, "a"))
        if retry:
            w_in.send((1, "a"))  # the client's retry of the same write (its timer fired)
        assert write_done.next() == 1
        r_in.send(7)
        rid, (version, value) = results.next()
        assert rid == 7
        assert (version, value) == (1, "a"), f"read after an acknowledged write returned {(version, value)!r}"

    return Case(flow, {Replicas: n}, scenario)


def _register(mutation: str) -> Callable[[bool], Case]:
    def build(mutated: bool) -> Case:
        # the clean twin of the missing dedupe retries too: the retry is the scenario, not the bug
        return quorum_register(mutation if mutated else None, retry=mutation == "duplicate-acks-counted")

    return build


BUGS: list[SeededBug] = [
    SeededBug("write-quorum-too-small", "quorum register", "write quorum of n // 2 (1 of 3) instead of a majority", _register("write-quorum-too-small"), "quorum register"),
    SeededBug("read-quorum-too-small", "quorum register", "read quorum of 1 instead of a majority", _register("read-quorum-too-small"), "quorum register"),
    SeededBug("ack-before-apply", "quorum register", "a replica acknowledges a write when it arrives, before its tick applies it", _register("ack-before-apply"), "quorum register"),
    SeededBug("duplicate-acks-counted", "quorum register", "a retried write's acknowledgements are counted twice (no dedupe by replica)", _register("duplicate-acks-counted"), "quorum register, the write retried", find=5_000, twin_ci=2_000, twin_full=30_000),
    SeededBug("read-merge-lowest", "quorum register", "the read keeps the lowest version of its quorum instead of the highest", _register("read-merge-lowest"), "quorum register"),
]


# ---- 2. a key-value server with exactly-once increments ----------------------------------------


class Server: ...


Request = tuple[int, int, tuple[Any, ...]]  # (client, sequence number, command)
KvState = dict[str, int]


def _kv_step(mutation: str) -> Callable[[tuple[KvState, list[Request]]], tuple[KvState, list[tuple[int, int, Any]]]]:
    def step(sr: tuple[KvState, list[Request]]) -> tuple[KvState, list[tuple[int, int, Any]]]:
        state, reqs = sr
        start = dict(state)
        state = dict(state)
        replies: list[tuple[int, int, Any]] = []
        for cid, seq, cmd in reqs:
            if cmd[0] == "incr":
                state[cmd[1]] = state.get(cmd[1], 0) + 1
                replies.append((cid, seq, state[cmd[1]]))
            else:  # ("get", key)
                seen = start if mutation == "read-from-tick-start" else state
                replies.append((cid, seq, seen.get(cmd[1], 0)))
        return state, replies

    return step


def kv_server(mutation: str | None) -> Case:
    """A server applies clients' requests in ticks (state in a tick cycle); a client may retry a
    request (same client and sequence number), which must be applied once. Clean: duplicates are
    dropped across the whole run (a top-level ``unique``) and a read sees every earlier request of
    the same tick."""
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    req_in, reqs = server.sim_input(tuple)
    tick = server.tick()
    if mutation != "dedupe-per-tick":
        reqs = reqs.unique()  # remembers every request id it has seen
    batch = reqs.batch(tick, nondet("a tick takes whichever requests have arrived"))
    if mutation == "dedupe-per-tick":
        batch = batch.unique()  # forgets at the end of the tick: a retry in a later tick slips through
    state_handle, state = tick.cycle_with_initial(tick.singleton(_kv_start()))
    step = state.zip(batch.collect_list()).map(_kv_step(mutation or ""))
    state_handle.complete_next_tick(step.map(lambda s: s[0]))
    replies = step.flat_map_ordered(lambda s: s[1]).all_ticks().sim_output()

    def scenario() -> None:
        req_in.send((1, 1, ("incr", "x")))
        req_in.send((1, 1, ("incr", "x")))  # the client retries: it saw no reply yet
        req_in.send((1, 2, ("get", "x")))  # pipelined behind the increment
        got = replies.collect()
        reads = [v for c, s, v in got if s == 2]
        incrs = sorted({v for c, s, v in got if s == 1})
        assert incrs == [1], f"a retried increment was applied twice: replies {got}"
        assert reads == [1], f"a read pipelined after an increment returned {reads}"

    return Case(flow, {}, scenario)


def _kv_start() -> KvState:
    return {}


def _kv(mutation: str) -> Callable[[bool], Case]:
    return lambda mutated: kv_server(mutation if mutated else None)


# ---- 3. a replica applying a log that arrives out of order -----------------------------------------


class Replica: ...


LogState = tuple[int, dict[int, str], list[str]]  # next slot, buffered entries, this tick's output


def _apply_in_order(mutation: str) -> Callable[[tuple[LogState, list[tuple[int, str]]]], LogState]:
    def step(se: tuple[LogState, list[tuple[int, str]]]) -> LogState:
        (nxt, buf, _), entries = se
        buf = dict(buf)
        for slot, cmd in entries:
            if slot >= nxt or mutation == "log-reapplies-retransmission":
                buf[slot] = cmd  # (mutated: an entry already applied is buffered, and applied, again)
        out: list[str] = []
        if mutation == "log-applies-past-gap":
            # bound by the highest slot received, not the contiguous prefix: a gap becomes a hole
            while buf and nxt <= max(buf):
                if nxt in buf:
                    out.append(buf.pop(nxt))
                nxt += 1
        elif mutation == "log-drops-buffered-tail":
            # applies only the entries of this tick that extend the log, never the buffered ones
            for slot, cmd in sorted(entries):
                if slot == nxt:
                    out.append(cmd)
                    nxt += 1
            buf = {s: c for s, c in buf.items() if s >= nxt and (s, c) not in entries}
        elif mutation == "log-reapplies-retransmission":
            for slot in sorted(s for s in buf if s < nxt):
                out.append(buf.pop(slot))
            while nxt in buf:
                out.append(buf.pop(nxt))
                nxt += 1
        else:
            while nxt in buf:
                out.append(buf.pop(nxt))
                nxt += 1
        return nxt, buf, out

    return step


def log_replica(mutation: str | None, *, retransmit: bool = False) -> Case:
    """Log entries (slot, command) reach a replica in any order and any grouping (a ``NoOrder``
    batch per tick); it must apply exactly the commands of slots 0, 1, 2, ... in slot order,
    buffering entries that arrive early."""
    flow = hl.FlowBuilder()
    rep = flow.process(Replica)
    log_in, entries = rep.sim_input(tuple)
    tick = rep.tick()
    batch = entries.weaken_ordering().batch(tick, nondet("a tick takes whichever log entries have arrived"))
    handle, state = tick.cycle_with_initial(tick.singleton(_log_start()))
    step = state.zip(batch.sort().collect_list()).map(_apply_in_order(mutation or ""))
    handle.complete_next_tick(step)
    applied = step.flat_map_ordered(lambda s: s[2]).all_ticks().sim_output()
    log = ["a", "b", "c", "d"]

    def scenario() -> None:
        log_in.send_many_unordered(list(enumerate(log)))
        if retransmit:  # the leader resends entry 1, whose acknowledgement it has not seen yet
            log_in.send((1, "b"))
        got = applied.collect()
        assert got == log, f"the replica applied {got}, the log is {log}"

    return Case(flow, {}, scenario)


def _log_start() -> LogState:
    return (0, {}, [])


def _log(mutation: str) -> Callable[[bool], Case]:
    retransmit = mutation == "log-reapplies-retransmission"
    return lambda mutated: log_replica(mutation if mutated else None, retransmit=retransmit)


BUGS += [
    SeededBug("dedupe-per-tick", "kv server", "a retried request is deduplicated only within one tick", _kv("dedupe-per-tick"), "kv server"),
    SeededBug("read-from-tick-start", "kv server", "a read is answered from the state at the start of its tick, missing earlier writes of the same tick", _kv("read-from-tick-start"), "kv server"),
    SeededBug("log-applies-past-gap", "log replica", "off by one: applies up to the highest slot received, so a gap becomes a skipped entry", _log("log-applies-past-gap"), "log replica"),
    SeededBug("log-reapplies-retransmission", "log replica", "missing dedupe: a retransmitted entry below the applied index is applied again", _log("log-reapplies-retransmission"), "log replica, an entry retransmitted"),
    SeededBug("log-drops-buffered-tail", "log replica", "applies the entries that extend the log but never drains the ones buffered earlier", _log("log-drops-buffered-tail"), "log replica"),
]


# ---- 4. two-phase commit with a locking participant (std.two_phase_commit) ---------------------------


class Coordinator: ...


class Participants: ...


# a participant's state: committed values, the lock holder of each key, staged writes by txid
PState = tuple[dict[str, int], dict[str, str], dict[str, tuple[str, int]]]
PStep = tuple[PState, list[tuple[str, bool]], list[str], list[tuple[str, int]]]  # state, votes, acks, reads


def _participant_step(mutation: str) -> Callable[[tuple[tuple[tuple[PState, list[tuple[str, str]]], list[tuple[str, bool]]], list[str]]], PStep]:
    def step(x: tuple[tuple[tuple[PState, list[tuple[str, str]]], list[tuple[str, bool]]], list[str]]) -> PStep:
        ((st, prepares), decisions), reads = x
        store, locks, staged = dict(st[0]), dict(st[1]), dict(st[2])
        acks: list[str] = []
        for txid, commit in sorted(decisions):
            key, value = staged.pop(txid, ("", 0))
            if commit and key:
                store[key] = value
            if locks.get(key) == txid:
                del locks[key]
            acks.append(txid)
        votes: list[tuple[str, bool]] = []
        for txid, key in prepares:  # each transaction increments ``key``
            if key in locks:
                votes.append((txid, False))
                continue
            staged[txid] = (key, store.get(key, 0) + 1)
            if mutation != "lock-released-at-vote":
                locks[key] = txid  # held until the decision arrives (two-phase locking)
            votes.append((txid, True))
        answers = [(k, store.get(k, 0)) for k in reads]
        return (store, locks, staged), votes, acks, answers

    return step


def two_phase_commit_counter(mutation: str | None, participants: int = 2) -> Case:
    """Transactions increment a key at every participant through ``std.two_phase_commit``; a
    participant stages ``value + 1`` and votes yes only if no other transaction holds the key's
    lock. The client is told a transaction's outcome and may then read any participant."""
    from hydrologic.std.two_phase_commit import two_phase_commit

    flow = hl.FlowBuilder()
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    tx_in, txns = coord.sim_input(tuple)
    read_in, reads = parts.sim_input(str)
    answers_ref: list[Any] = []  # the participant's read answers, built inside the callback

    def participant(members: Any, prepares: Any, decisions: Any) -> Any:
        tick = members.tick()
        handle, state = tick.cycle_with_initial(tick.singleton(_p_start()))
        p = prepares.batch(tick, nondet("a participant votes on whichever PREPAREs have arrived"))
        d = decisions.batch(tick, nondet("a participant applies whichever decisions have arrived"))
        r = reads.batch(tick, nondet("a participant answers whichever reads have arrived"))
        step = state.zip(p.collect_list()).zip(d.sort().collect_list()).zip(r.collect_list()).map(_participant_step(mutation or ""))
        handle.complete_next_tick(step.map(lambda s: s[0]))
        answers_ref.append(step.flat_map_ordered(lambda s: s[3]).all_ticks())
        votes = step.flat_map_ordered(lambda s: s[1]).all_ticks().weaken_ordering()
        acks = step.flat_map_ordered(lambda s: s[2]).all_ticks().weaken_ordering()
        return votes, acks

    tpc = two_phase_commit(coord, parts, txns, participant, nondet("the test's membership is static"))
    told = tpc.decisions if mutation == "reply-before-commit" else tpc.outcomes
    outcomes = told.sim_output()
    answers = answers_ref[0].sim_output()
    n = participants
    concurrent = mutation not in ("reply-before-commit", "reply-after-acks")

    def scenario() -> None:
        if concurrent:  # two concurrent increments of one key: the committed ones must serialize
            tx_in.send_many([("t1", "x"), ("t2", "x")])
            done = outcomes.collect()
            committed = sum(1 for _, ok in done if ok)
            for m in range(n):
                read_in.send("x", member=m)
            got = answers.collect()
            assert all(v == committed for _, v in got), f"{committed} increment(s) committed but participants read {got}"
        else:  # read your committed write: once told "committed", every participant has applied it
            tx_in.send(("t1", "x"))
            txid, ok = outcomes.next()
            assert (txid, ok) == ("t1", True)
            read_in.send("x", member=0)
            key, value = answers.next()
            assert value == 1, f"the client was told t1 committed, then read {key}={value}"

    return Case(flow, {Participants: n}, scenario)


def _p_start() -> PState:
    return ({}, {}, {})


def _tpc(mutation: str) -> Callable[[bool], Case]:
    def build(mutated: bool) -> Case:
        if mutation == "reply-before-commit" and not mutated:
            return two_phase_commit_counter("reply-after-acks")  # the same scenario, told after the acks
        return two_phase_commit_counter(mutation if mutated else None)

    return build


BUGS += [
    SeededBug("lock-released-at-vote", "2PC (std.two_phase_commit)", "a participant votes yes without holding the key's lock until the decision: a lost update", _tpc("lock-released-at-vote"), "2PC, two concurrent increments", twin_ci=800),
    SeededBug("reply-before-commit", "2PC (std.two_phase_commit)", "the client is told the outcome when the coordinator decides, before participants apply it", _tpc("reply-before-commit"), "2PC, read after the outcome"),
]


# ---- 5. a gossiped grow-only counter (a CRDT) -----------------------------------------------------


class Counters: ...


Vec = tuple[tuple[int, int], ...]  # (member, count) per member, sorted: a grow-only counter's state


def _merge(mutation: str, mine: dict[int, int], theirs: Vec) -> None:
    for member, count in theirs:
        if mutation == "merge-takes-incoming":
            mine[member] = count  # last writer wins: a stale view overwrites newer counts
        else:
            mine[member] = max(mine.get(member, 0), count)


def _counter_step(mutation: str) -> Callable[[Any], tuple[Vec, list[Vec], list[int]]]:
    def step(x: Any) -> tuple[Vec, list[Vec], list[int]]:
        (((vec, incs), gossip), me) = x
        mine = dict(vec)
        for g in gossip:
            _merge(mutation, mine, g)
        if incs:
            mine[me.raw_id] = mine.get(me.raw_id, 0) + len(incs)
        new = tuple(sorted(mine.items()))
        changed = new != vec
        # gossip after local increments only (merging what the peer sent needs no reply)
        return new, [new] if incs else [], [sum(mine.values())] if changed else []

    return step


def gossip_counter(mutation: str | None) -> Case:
    """Two replicas of a grow-only counter: each counts its own increments in its entry of a
    vector, sends the vector to the other after a tick that counted some, and merges what it receives. The
    merge must be the pointwise maximum (commutative, idempotent, monotone); each replica's
    reported total must never decrease and must end at the number of increments."""
    flow = hl.FlowBuilder()
    reps = flow.cluster(Counters)
    inc_in, incs = reps.sim_input(type(None))
    gossip_ref, gossip = reps.forward_ref(tuple, hl.NoOrder)
    tick = reps.tick()
    handle, state = tick.cycle_with_initial(tick.singleton(_vec0()))
    i = incs.batch(tick, nondet("a replica counts whichever increments have arrived"))
    g = gossip.batch(tick, nondet("a replica merges whichever gossip has arrived"))
    step = state.zip(i.collect_list()).zip(g.sort().collect_list()).zip(tick.self_id()).map(_counter_step(mutation or ""))
    handle.complete_next_tick(step.map(lambda s: s[0]))
    sent = step.flat_map_ordered(lambda s: s[1]).all_ticks()
    peer = sent.cross_singleton(reps.self_id()).map(lambda vm: (MemberId[Counters](1 - vm[1].raw_id), vm[0]))
    gossip_ref.complete(peer.demux(reps).values())
    totals = step.flat_map_ordered(lambda s: s[2]).all_ticks().cross_singleton(reps.self_id()).sim_output()

    def scenario() -> None:
        inc_in.send(None, member=0)
        inc_in.send(None, member=1)
        inc_in.send(None, member=0)
        per: dict[int, list[int]] = {0: [], 1: []}
        for total, member in totals.collect():
            per[member.raw_id].append(total)
        for m, seen in per.items():
            assert seen == sorted(seen), f"replica {m}'s total went down: {seen}"
            assert seen and seen[-1] == 3, f"replica {m} ended at {seen[-1:]} after 3 increments (totals {seen})"

    return Case(flow, {Counters: 2}, scenario)


def _vec0() -> Vec:
    return ()


BUGS += [
    SeededBug(
        "merge-takes-incoming", "gossiped counter (CRDT)", "a wrong merge: the incoming vector overwrites newer local counts instead of the pointwise max",
        lambda mutated: gossip_counter("merge-takes-incoming" if mutated else None), "gossiped counter",
    ),
]


# ---- 6. Multi-Paxos (std.paxos): a command sent to one proposer only ------------------------------


class Proposers: ...


class Acceptors: ...


def paxos_client(mutation: str | None) -> Case:
    """``std.paxos`` with 2 proposers and 3 acceptors (f = 1). Its contract: send each command to
    every proposer, so that a new leader still has it. The mutation is a client that sends a
    command to the proposer it believes leads, only: when another proposer takes over before the
    command is chosen, nobody proposes it again and it is never committed."""
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
        election_timeout=1,
        stagger=0,
    )
    committed = px.committed.cross_singleton(proposers.self_id()).sim_output()
    to = [0] if mutation else [0, 1]

    def scenario() -> None:
        clock_in.send(None, member=0)
        got = committed.collect()  # proposer 0 has taken office
        for m in to:
            cmd_in.send("a", member=m)
        clock_in.send(None, member=1)  # proposer 1 times out and may take over
        got += committed.collect()
        for _ in range(3):  # stabilise: only proposer 1's clock runs, so it leads
            clock_in.send(None, member=1)
            got += committed.collect()
        for m in (0, 1):
            values = {v for (_, v), member in got if member.raw_id == m}
            assert "a" in values, f"proposer {m} never committed the command 'a' (committed {sorted(values, key=repr)})"

    return Case(flow, {Proposers: 2, Acceptors: 3}, scenario)


BUGS += [
    SeededBug(
        "command-to-one-proposer", "Multi-Paxos (std.paxos)", "a client sends a command to the proposer it believes leads, not to every proposer: lost on a leader change",
        lambda mutated: paxos_client("one proposer" if mutated else None), "Multi-Paxos, commands to every proposer",
        twin_ci=300, twin_full=3_000,
    ),
]
