"""Two-phase commit: a coordinator and a cluster of participants that lock keys (strict 2PL).

    python examples/two_phase_commit.py            # deploy 1 coordinator + 3 participants, act as the client
    python -m hydrologic run examples/two_phase_commit.py:build --cluster Participants=3

A client sends transactions to ``transactions`` as JSON objects::

    {"name": "t1", "writes": {"x": "1", "y": "2"}, "refuse": [1]}

``writes`` are the key/value writes every participant applies if the transaction commits;
``refuse`` (optional) lists participants that will vote no — the demo's stand-in for a failed
local check (a constraint, a full disk), so you can watch an abort. The coordinator numbers
transactions in arrival order and reports each on ``outcomes`` as ``[txid, name, "commit" |
"abort"]`` once every participant has applied the decision; each participant's application of
each decision is published on ``applied`` as ``[member, txid, "commit" | "abort"]``.

The protocol (``hydrologic.std.two_phase_commit``): PREPARE is broadcast; each participant votes;
the coordinator decides COMMIT iff every vote is yes, broadcasts the decision; participants apply
it and acknowledge; the coordinator reports the outcome.

A participant here votes yes only if ``vote(member, txid, transaction)`` says so **and** it can
lock every key the transaction writes (no-wait locking: a key locked by an undecided
transaction means no). Locks are released when the decision is applied. Which PREPAREs a
participant handles before which decisions is a nondet site (its batches), so conflicting
transactions may commit one after the other or abort — and the simulator explores those
schedules to check that every participant applies exactly the coordinator's decision, and that
all participants end with the same store.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable, NamedTuple

import hydrologic as hl
from hydrologic import Cluster, ExactlyOnce, MemberId, NoOrder, Process, Stream, TotalOrder, Unbounded, nondet
from hydrologic.std.two_phase_commit import two_phase_commit


class Coordinator: ...


class Participants: ...


class Client: ...


Writes = tuple[tuple[str, str], ...]


class Txn(NamedTuple):
    name: str
    writes: Writes
    refuse: tuple[int, ...]


Vote = Callable[[MemberId[Participants], int, Txn], bool]


def vote(member: MemberId[Participants], txid: int, txn: Txn) -> bool:
    """The default local check: a participant refuses a transaction that names it in ``refuse``."""
    del txid
    return member.raw_id not in txn.refuse


class State(NamedTuple):
    """One participant's state, carried from tick to tick (never mutated in place)."""

    locks: dict[str, int]  # key -> the undecided transaction holding its lock
    prepared: dict[int, Writes]  # transactions this participant voted yes on, awaiting a decision
    store: dict[str, str]  # committed writes


INITIAL = State({}, {}, {})

Prepared = tuple[tuple[int, Txn], MemberId[Participants]]
Applied = tuple[int, bool, tuple[tuple[str, str], ...]]  # (txid, commit?, the store afterwards)


def step(
    state: State, prepares: list[Prepared], decisions: list[tuple[int, bool]], check: Vote, locking: bool = True
) -> tuple[State, list[tuple[int, bool]], list[Applied]]:
    """One tick of a participant: apply decisions (releasing locks), then vote on PREPAREs in the
    coordinator's order. Returns the new state, the votes and what was applied.

    ``locking=False`` is a deliberate bug for tests: conflicting transactions may then both
    commit, and participants may apply them in different orders."""
    locks, prepared, store = dict(state.locks), dict(state.prepared), dict(state.store)
    applied: list[Applied] = []
    for txid, commit in decisions:
        writes = prepared.pop(txid, ())
        if commit:
            store.update(writes)
        for key, _ in writes:
            if locks.get(key) == txid:
                del locks[key]
        applied.append((txid, commit, tuple(sorted(store.items()))))
    votes: list[tuple[int, bool]] = []
    for (txid, txn), me in prepares:
        keys = {key for key, _ in txn.writes}
        yes = check(me, txid, txn) and not (locking and any(key in locks for key in keys))
        if yes:
            locks.update((key, txid) for key in keys)
            prepared[txid] = txn.writes
        votes.append((txid, yes))
    return State(locks, prepared, store), votes, applied


class LockingParticipant:
    """The participant logic handed to ``std.two_phase_commit.two_phase_commit``: locks, votes, applies, acks.

    It also exposes what each member applied (``applied``), for clients and tests."""

    def __init__(self, check: Vote, locking: bool = True) -> None:
        self.check = check
        self.locking = locking
        self.applied: Stream[tuple[int, bool, Writes], Cluster[Participants], Unbounded, TotalOrder, ExactlyOnce] | None = None

    def __call__(
        self,
        participants: Cluster[Participants],
        prepares: Stream[tuple[int, Txn], Cluster[Participants], Unbounded, TotalOrder, ExactlyOnce],
        decisions: Stream[tuple[int, bool], Cluster[Participants], Unbounded, NoOrder, ExactlyOnce],
    ) -> tuple[
        Stream[tuple[int, bool], Cluster[Participants], Unbounded, NoOrder, ExactlyOnce],
        Stream[int, Cluster[Participants], Unbounded, NoOrder, ExactlyOnce],
    ]:
        check, locking = self.check, self.locking
        tick = participants.tick()
        handle, state = tick.cycle_with_initial(tick.singleton(INITIAL))
        new_prepares = (
            prepares.cross_singleton(participants.self_id())
            .batch(
                tick,
                nondet(
                    "a participant votes on whatever PREPAREs have arrived; handling one before or after "
                    "a decision releases locks changes its vote, and either vote is safe: the coordinator "
                    "commits only if every participant could lock"
                ),
            )
            .collect_list()
        )
        new_decisions = (
            decisions.batch(
                tick, nondet("a decision may be applied in any tick after it arrives; until then its locks are held")
            )
            .sort()
            .collect_list()
        )
        result = state.zip(new_prepares).zip(new_decisions).map(lambda s: step(s[0][0], s[0][1], s[1], check, locking))
        handle.complete_next_tick(result.map(lambda r: r[0]))
        votes = result.flat_map_ordered(lambda r: r[1]).all_ticks()
        applied = result.flat_map_ordered(lambda r: r[2]).all_ticks()
        self.applied = applied
        return votes.weaken_ordering(), applied.map(lambda a: a[0]).weaken_ordering()


def parse(message: dict[str, Any]) -> Txn | None:
    """A transaction from an untrusted client, or None (dropped) if it is malformed."""
    name, writes, refuse = message.get("name", ""), message.get("writes"), message.get("refuse", [])
    if not isinstance(name, str) or not isinstance(writes, dict) or not isinstance(refuse, list):
        return None
    pairs: list[tuple[str, str]] = []
    for key, value in writes.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(key, str) or not isinstance(value, str):
            return None
        pairs.append((key, value))
    members: list[int] = []
    for m in refuse:  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(m, int):
            return None
        members.append(m)
    return Txn(name, tuple(sorted(pairs)), tuple(members))


class Service(NamedTuple):
    decisions: Stream[tuple[int, bool], Process[Coordinator], Unbounded, NoOrder, ExactlyOnce]
    outcomes: Stream[tuple[int, str, bool], Process[Coordinator], Unbounded, NoOrder, ExactlyOnce]
    applied: Stream[tuple[int, int, bool, Writes], Cluster[Participants], Unbounded, TotalOrder, ExactlyOnce]
    """(member, txid, commit?, the member's store afterwards), in the order the member applied them."""


def service(
    coordinator: Process[Coordinator],
    participants: Cluster[Participants],
    transactions: Stream[Txn, Process[Coordinator], Unbounded, TotalOrder, ExactlyOnce],
    check: Vote = vote,
    locking: bool = True,
) -> Service:
    """The whole service, as a function over live collections."""
    numbered = transactions.enumerate()  # txid = arrival number: unique, as 2PC needs
    logic = LockingParticipant(check, locking)
    tpc = two_phase_commit(
        coordinator,
        participants,
        numbered,
        logic,
        nondet("the participant cluster is fixed when the deployment starts, so a broadcast reaches every member"),
    )
    names = numbered.map(lambda t: (t[0], t[1].name))
    outcomes = tpc.outcomes.join(names).map(lambda e: (e[0], e[1][1], e[1][0]))
    assert logic.applied is not None
    applied = logic.applied.cross_singleton(participants.self_id()).map(lambda a: (a[1].raw_id, a[0][0], a[0][1], a[0][2]))
    return Service(tpc.decisions, outcomes, applied)


JSON_OBJECT: type[dict[str, Any]] = dict  # a plain type at run time, so the port can check it


def build(flow: hl.FlowBuilder) -> None:
    coordinator = flow.process(Coordinator)
    participants = flow.cluster(Participants)
    client = flow.external(Client)
    requests = coordinator.source_external(client, name="transactions", of=JSON_OBJECT, codec="json")
    out = service(coordinator, participants, requests.filter_map(parse))
    out.outcomes.map(lambda o: (o[0], o[1], "commit" if o[2] else "abort")).send_external(
        client, name="outcomes", codec="json"
    )
    out.applied.send(coordinator).values().map(lambda a: (a[0], a[1], "commit" if a[2] else "abort")).send_external(
        client, name="applied", codec="json"
    )


class SimPorts(NamedTuple):
    participants: Cluster[Participants]
    transactions: hl.SimInput[Txn]
    decisions: hl.SimOutput[tuple[int, bool]]
    outcomes: hl.SimOutput[tuple[int, str, bool]]
    applied: hl.SimOutput[tuple[int, int, bool, Writes]]


def build_sim(flow: hl.FlowBuilder, check: Vote = vote, locking: bool = True) -> SimPorts:
    """The same service with simulator ports; ``check`` replaces the participants' local vote
    (``locking=False`` removes the locks: a bug the simulator finds)."""
    coordinator = flow.process(Coordinator)
    participants = flow.cluster(Participants)
    inp, transactions = coordinator.sim_input(Txn)
    out = service(coordinator, participants, transactions, check, locking)
    return SimPorts(participants, inp, out.decisions.sim_output(), out.outcomes.sim_output(), out.applied.sim_output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--participants", type=int, default=3)
    args = parser.parse_args(argv)
    n: int = args.participants
    txns: list[dict[str, Any]] = [
        {"name": "set x", "writes": {"x": "1"}},
        {"name": "vetoed by 1", "writes": {"y": "2"}, "refuse": [1]},
        {"name": "set x and y", "writes": {"x": "3", "y": "4"}},
    ]
    program = f"{os.path.abspath(__file__)}:build"
    with hl.deploy.Localhost(log=lambda _line: None).start(program, {"Participants": n}) as d:
        with d.output("outcomes") as outcomes, d.output("applied") as applied, d.input("transactions") as inp:
            time.sleep(0.1)
            for txn in txns:  # one at a time, so the demo shows no lock conflicts
                inp.send(txn)
                txid, name, outcome = outcomes.recv(timeout=30)
                print(f"txn {txid} {name!r}: {outcome}")
            by_member = applied.take(n * len(txns), timeout=30)
    agree = all(a[2] == ("abort" if a[1] == 1 else "commit") for a in by_member)
    print(f"{len(by_member)} applications by {n} participants, all agreeing with the coordinator: {agree}")
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
