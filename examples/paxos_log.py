"""A replicated command log on Multi-Paxos (hydrologic.std.paxos), run as real processes.

    python -m hydrologic run examples/paxos_log.py:build --cluster Proposers=2 --cluster Acceptors=3

Ports (JSON lines; see docs/paxos.md):

* ``commands`` (input): strings, each a distinct command (e.g. ``"client7:set x 1"``).
* ``committed`` (output): ``[slot, command]`` in slot order, once each. A command may occupy two
  slots if a leader change caught it in flight; holes filled by a new leader are not shown.
* ``applied`` (output): ``[n, command]``: the replicated state machine applies each distinct
  command once, in log order; ``n`` counts the commands applied so far.
* ``leaders`` (output): ``[proposer, ballot number]`` each time a proposer takes office.

The gateway process forwards every command to every proposer (so that a new leader still has
it), and gathers the proposers' logs, which agree slot by slot. Proposers drive their timeouts
and heartbeats with ``source_interval``; kill the leader (``LocalDeployment.kill``) and the other
proposer takes over after ``ELECTION_TIMEOUT`` silent ticks plus its stagger.

Run directly (``python examples/paxos_log.py``) it deploys on Localhost, submits a few commands,
kills the leader, submits more, and prints the log.
"""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std.paxos import Ballot, ordered_log, paxos, replicated_state_machine


class Gateway: ...


class Proposers: ...


class Acceptors: ...


class Client: ...


TICK_SECONDS = 0.05  # a proposer's clock: heartbeats and timeouts are counted in these ticks
ELECTION_TIMEOUT = 3  # silent ticks before the first proposer campaigns
STAGGER = 3  # extra silent ticks per proposer index, so that proposers do not duel
LEASE = 20  # acceptor ticks (of TICK_SECONDS) a leader's KeepAlive reserves leadership for it (build_leased)


def to_every(pair: tuple[str, tuple[hl.MemberId[Proposers], ...]]) -> list[tuple[hl.MemberId[Proposers], str]]:
    command, members = pair
    return [(m, command) for m in members]


def count_commands(applied: int, command: str) -> tuple[int, int]:
    """The state machine: a counter of applied commands (each command's position in the order)."""
    return applied + 1, applied + 1


def leader_event(e: tuple[hl.MemberId[Proposers], Ballot]) -> tuple[int, int]:
    return (e[0].raw_id, e[1].num)


def build(flow: hl.FlowBuilder) -> None:
    _build(flow, leased=False)


def build_leased(flow: hl.FlowBuilder) -> None:
    """``build`` with leader leases: acceptors count their own 50 ms clock, a leader's KeepAlive
    reserves leadership for it for ``LEASE`` of those ticks, and meanwhile they refuse every
    other proposer's Prepare. A leader that is paused (SIGSTOP) loses its lease and is replaced;
    when it resumes it learns the newer ballot and steps down instead of taking over again."""
    _build(flow, leased=True)


def _build(flow: hl.FlowBuilder, *, leased: bool) -> None:
    gateway = flow.process(Gateway)
    proposers = flow.cluster(Proposers)
    acceptors = flow.cluster(Acceptors)
    client = flow.external(Client)

    commands = gateway.source_external(client, name="commands", of=str, codec="json")
    at_proposers = commands.cross_singleton(gateway.cluster_members(proposers)).flat_map_ordered(to_every).demux(proposers)
    clock = proposers.source_interval(
        TICK_SECONDS, nondet("the clock only decides when proposers time out and send heartbeats")
    )
    px = paxos(
        proposers,
        acceptors,
        at_proposers,
        clock,
        f=1,
        nondet_leader=nondet("a client may see any proposer lead; it only needs one at a time to make progress"),
        nondet_commit=nondet("clients accept any order of concurrent commands, and a repeat across leader changes"),
        election_timeout=ELECTION_TIMEOUT,
        stagger=STAGGER,
        acceptor_clock=acceptors.source_interval(
            TICK_SECONDS, nondet("the acceptors' clock only decides when a leader's lease runs out")
        )
        if leased
        else None,
        lease=LEASE if leased else 0,
    )

    # Every proposer is a replica with the whole log; the gateway merges their (identical) logs.
    replica_log = ordered_log(px.committed, proposers.tick())
    merged = replica_log.send(gateway).values().unique()
    log = ordered_log(merged, gateway.tick())
    log.filter_map(lambda e: None if e[1] is None else (e[0], e[1])).send_external(
        client, name="committed", codec="json", ordered=True, delivery="exactly_once"
    )
    applied = replicated_state_machine(log, lambda: 0, count_commands)
    applied.map(lambda a: (a[2], a[1])).send_external(
        client, name="applied", codec="json", ordered=True, delivery="exactly_once"
    )
    px.elected.send(gateway).entries().map(leader_event).send_external(client, name="leaders", codec="json")


def main() -> None:
    import time

    with hl.deploy.Localhost().start(f"{__file__}:build", {"Proposers": 2, "Acceptors": 3}) as d:
        with d.output("leaders") as leaders, d.output("committed") as committed, d.input("commands") as inp:
            leader = leaders.take(1, timeout=20)[0]
            print(f"proposer {leader[0]} leads (ballot {leader[1]})")
            inp.send_many([f"cmd-{i}" for i in range(5)])
            seen: set[str] = set()
            for slot, command in committed.take(5):
                seen.add(command)
                print(f"slot {slot:3}  {command}")
            print(f"killing proposer {leader[0]}")
            d.kill("Proposers", leader[0])
            inp.send_many([f"cmd-{i}" for i in range(5, 10)])
            new = leaders.take(1, timeout=20)[0]
            print(f"proposer {new[0]} leads (ballot {new[1]})")
            deadline = time.monotonic() + 20
            while len(seen) < 10 and time.monotonic() < deadline:
                for slot, command in committed.take(1, timeout=max(0.1, deadline - time.monotonic())):
                    seen.add(command)
                    print(f"slot {slot:3}  {command}")


if __name__ == "__main__":
    main()
