"""The Multi-Paxos acceptor as a pure state machine.

Each acceptor tick's batch of Prepare/Accept messages is one step (``acceptor_step``) of a scan
that handles them in a canonical serial order (ballot order, ``request_order``), keeping the
promised ballot and the accepted log (``AcceptorState``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Hashable, TypeVar

from ...lang.location import MemberId
from .messages import ZERO, Accepted, Ballot, Nack, Prepare, Promise, Reply, ToAcceptor

T = TypeVar("T", bound=Hashable)


@dataclass(eq=False)
class AcceptorState(Generic[T]):
    """One acceptor's promised ballot and accepted log, owned (and updated in place) by its scan."""

    promised: Ballot = ZERO
    log: dict[int, tuple[Ballot, T | None]] = field(default_factory=lambda: {})

    @staticmethod
    def start() -> tuple[AcceptorState[T], list[Reply[T]]]:
        return AcceptorState(), []

    def __repr__(self) -> str:
        return f"Acceptor(promised={self.promised!r}, log={len(self.log)} slot(s))"


def acceptor_step(
    acc: tuple[AcceptorState[T], list[Reply[T]]], requests: list[tuple[MemberId[Any], ToAcceptor[T]]]
) -> tuple[AcceptorState[T], list[Reply[T]]]:
    """Handle a tick's requests one by one in ballot order (a valid serial order of arrival)."""
    st = acc[0]
    out: list[Reply[T]] = []
    for sender, msg in requests:
        if isinstance(msg, Prepare):
            if msg.ballot >= st.promised:
                st.promised = msg.ballot
                log = tuple(sorted((slot, b, v) for slot, (b, v) in st.log.items() if slot >= msg.from_slot))
                out.append((sender, Promise(msg.ballot, log)))
            else:
                out.append((sender, Nack(st.promised)))
        elif msg.ballot >= st.promised:
            # Accepting also promises: this acceptor will never answer a lower Prepare again, so
            # every Promise reports only entries with lower ballots than the one it promises.
            if msg.ballot != st.promised:
                st.promised = msg.ballot
            ballot = st.promised  # one Ballot object per ballot in the log, not one per message
            cur = st.log.get(msg.slot)
            if cur is None or ballot >= cur[0]:
                st.log[msg.slot] = (ballot, msg.value)
            out.append((None, Accepted(msg.ballot, msg.slot, msg.value)))
        else:
            out.append((sender, Nack(st.promised)))
    return st, out


def request_order(e: tuple[MemberId[Any], ToAcceptor[T]]) -> tuple[Ballot, int, int]:
    m = e[1]
    if isinstance(m, Prepare):
        return (m.ballot, 0, -1)
    return (m.ballot, 1, m.slot)


