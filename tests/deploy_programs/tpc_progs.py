"""Durable two-phase commit over real processes (tests/test_two_phase_commit_durable_deploy.py).

A coordinator numbers transactions with a durable counter (ids stay unique across its restarts),
two stateless participants vote yes (member m takes ``SLOW_VOTE`` seconds on a transaction named
``slow<m>``, which leaves a window between PREPARE and decision), and an Observer process publishes
what each participant logged: its votes and the decisions it learned, on ``events``."""

from __future__ import annotations

import time
from typing import Any

import hydrologic as hl
from hydrologic import MemberId, nondet
from hydrologic.std import stateless_votes
from hydrologic.std.two_phase_commit import DurableLogs, logged_two_phase_commit

SLOW_VOTE = 3.0  # the window the tests act in: generous, for a loaded machine
RETRY_EVERY = 0.3
ABORT_AFTER = 30  # asks (about 9 s with one participant in doubt): longer than any slow vote here


class Coordinator: ...


class Participants: ...


class Observer: ...


class Client: ...


def vote(member: MemberId[Participants], txid: int, name: str) -> bool:
    del txid
    if name == f"slow{member.raw_id}":
        time.sleep(SLOW_VOTE)
    return not name.startswith("refuse")


def _number(acc: tuple[int, str], name: str) -> tuple[int, str]:
    return (acc[0] + 1, name)


def durable_2pc(flow: hl.FlowBuilder) -> None:
    _build(flow, DurableLogs.named("tpc"))


def volatile_votes_2pc(flow: hl.FlowBuilder) -> None:
    """The seeded bug: participants keep their votes in memory only, so a restarted participant
    forgets it is prepared and never asks about the transaction it voted yes on."""
    _build(flow, DurableLogs("tpc.decisions", None, "tpc.decided"))


def _build(flow: hl.FlowBuilder, logs: DurableLogs) -> None:
    coord = flow.process(Coordinator)
    parts = flow.cluster(Participants)
    observer = flow.process(Observer)
    client = flow.external(Client)
    names = coord.source_external(client, name="transactions", of=str, codec="json")
    txns = names.scan(lambda: (-1, ""), _number, durable="txids")
    votes_seen: list[Any] = []
    inner = stateless_votes(vote)

    def logic(ps: Any, prepares: Any, decisions: Any) -> Any:
        votes, acks = inner(ps, prepares, decisions)
        votes_seen.append(votes)
        return votes, acks

    tpc = logged_two_phase_commit(
        coord,
        parts,
        txns,
        logic,
        nondet("the participants are fixed at start"),
        logs,
        retry_every=RETRY_EVERY,
        abort_after=ABORT_AFTER,
    )
    me = parts.self_id()
    voted = votes_seen[0].cross_singleton(me).map(lambda v: ("vote", v[1].raw_id, v[0][0], v[0][1]))
    decided = tpc.delivered.cross_singleton(me).map(lambda d: ("decided", d[1].raw_id, d[0][0], d[0][1]))
    events = voted.merge_unordered(decided).send(observer).values()
    events.send_external(client, name="events", codec="json", delivery="at_least_once")
    tpc.decisions.send_external(client, name="decisions", codec="json", delivery="at_least_once")
