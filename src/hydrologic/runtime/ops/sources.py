"""Where data enters a location's graph: build-time items, inboxes filled from outside the graph
(tests, clients, timers, peers), and what a location knows of itself."""

from __future__ import annotations

from typing import Any

from ...ir.node import Node
from ...lang.bidi import MembershipEvent
from ...lang.liveness import LivenessKind
from ...lang.location import MemberId
from .base import ABSENT, Inbox, Op, RuntimeContext, op


@op("source_iter")
class SourceIter(Op):
    """Emits its items once at the top level (Bounded), or every tick inside a tick."""

    def run(self, ins: list[Any]) -> list[Any]:
        if self.in_tick or self.first:
            return self.node.params["items"]
        return []


@op("sim_input", "source_external", "source_interval", "network", "source_external_bidi", "external_membership", "peer_liveness")
class SourceInbox(Inbox):
    """Elements delivered from outside the location's graph (tests, clients, timers, peers),
    emitted as they are: the plain ``Inbox``, which the generated tick writes out inline."""


@op("singleton")
class ConstSingleton(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.value = node.params["value"]

    def run(self, ins: list[Any]) -> None:
        return None


@op("optional_first_tick")
class OptionalFirstTick(Op):
    scalar = True

    def run(self, ins: list[Any]) -> None:
        self.value = self.node.params["value"] if self.first else ABSENT


@op("none")
class NoneOptional(Op):
    scalar = True

    def run(self, ins: list[Any]) -> None:
        return None


@op("self_id")
class SelfId(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        loc = node.root
        raw = ctx.member if ctx.member is not None else 0
        self.value = MemberId.of_cluster(raw, loc.id) if loc.is_cluster else MemberId(raw)

    def run(self, ins: list[Any]) -> None:
        return None


@op("cluster_members")
class ClusterMembers(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        n = ctx.cluster_sizes.get(node.params["cluster"].id, 0)
        cluster = node.params["cluster"].id
        members: list[MemberId[Any]] = [MemberId.of_cluster(i, cluster) for i in range(n)]
        self.value = tuple(members)

    def run(self, ins: list[Any]) -> None:
        return None


# --- cluster membership


@op("cluster_membership")
class MembershipInbox(Inbox):
    """``source_cluster_members``: the member's liveness events, seen as joins and leaves.

    Drivers feed it exactly what they feed a ``peer_liveness`` source of the same cluster
    (``(MemberId, Liveness)``: the opening ``UP``/``DOWN``, then deaths, restarts, additions and
    removals), so both streams tell the same story. Per member it emits only changes, so the
    events alternate ``JOINED``, ``LEFT``, ``JOINED``, ... starting with ``JOINED``: a member that
    is down when this location starts is not announced until it comes back.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.joined: dict[MemberId[Any], bool] = {}

    def run(self, ins: list[Any]) -> list[Any]:
        raw, self.pending = self.pending, []
        out: list[Any] = []
        for member, seen in raw:
            up = seen.kind is not LivenessKind.DOWN
            if self.joined.get(member, False) != up:
                self.joined[member] = up
                out.append((member, MembershipEvent.JOINED if up else MembershipEvent.LEFT))
        return out
