"""Liveness of a peer location's members, as data a program consumes.

A deployed member can die and be restarted as a new *incarnation* (0 for the first start, then
1, 2, ...). ``loc.peer_liveness(peer)`` turns that into a keyed stream of events per member, so a
protocol can react (re-send, re-elect, re-sync state) instead of guessing from silence. Per
member the events are totally ordered and each happens once: the first event is ``UP(n)`` (or
``DOWN(n)`` if the member is down when this location starts), then ``DOWN(n)`` and
``RESTARTED(n + 1)`` alternate. The boundary matters for ordered channels: an incarnation's
messages on a ``TotalOrder`` channel arrive in order with no gap and no duplicate; what a dead
incarnation had in flight is lost; and ``RESTARTED(n + 1)`` is delivered no later than the first
message of the new incarnation.

In process and in the simulator nothing dies on its own: every member is ``UP(0)`` at the start,
and a test injects deaths and restarts with ``hydrologic.inject_liveness``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["LivenessKind", "Liveness", "LivenessTracker"]


class LivenessKind(str, enum.Enum):
    UP = "up"
    DOWN = "down"
    RESTARTED = "restarted"


@dataclass(frozen=True, slots=True)
class Liveness:
    """One change in a member's life: ``kind`` of incarnation ``incarnation``."""

    kind: LivenessKind
    incarnation: int

    @staticmethod
    def up(incarnation: int = 0) -> Liveness:
        return Liveness(LivenessKind.UP, incarnation)

    @staticmethod
    def down(incarnation: int = 0) -> Liveness:
        return Liveness(LivenessKind.DOWN, incarnation)

    @staticmethod
    def restarted(incarnation: int) -> Liveness:
        return Liveness(LivenessKind.RESTARTED, incarnation)

    def __repr__(self) -> str:
        return f"Liveness.{self.kind.name}({self.incarnation})"


class LivenessTracker:
    """Turns raw observations of a peer into the per-member event sequence promised above.

    Observations may come twice (from the data plane and the supervisor) or out of order (a new
    incarnation's connection before the supervisor's report of the old one's death); the
    tracker emits each event once and synthesises a missing ``DOWN`` before a ``RESTARTED``.
    """

    def __init__(self) -> None:
        self._state: dict[object, Liveness] = {}

    def observe(self, member: object, seen: Liveness) -> list[Liveness]:
        cur = self._state.get(member)
        out: list[Liveness] = []
        if cur is None:
            out.append(seen if seen.kind is not LivenessKind.RESTARTED else Liveness.up(seen.incarnation))
        elif seen.kind is LivenessKind.DOWN:
            if seen.incarnation == cur.incarnation and cur.kind is not LivenessKind.DOWN:
                out.append(seen)
        elif seen.incarnation > cur.incarnation:  # UP or RESTARTED of a newer incarnation
            if cur.kind is not LivenessKind.DOWN:
                out.append(Liveness.down(cur.incarnation))
            out.append(Liveness.restarted(seen.incarnation))
        if out:
            self._state[member] = out[-1]
        return out
