"""The simulated network, and settling: how data moves between instances between decisions.

A send on a ``network`` edge is routed like in every driver (``runtime.routing``) and lands in
the receiving instance's inbox at once (a lossy channel first asks the decider which messages
arrive). Settling then runs the top level of every instance that received something until no
inbox holds data; the top level is eventually deterministic, so settling never branches, and it
runs instances in a fixed order so that every execution settles the same way.

The ``Network`` owns what that needs beyond the instances themselves: the set of instances whose
top level may have work (``dirty``) and each sender's ``round_robin`` position.
"""

from __future__ import annotations

import functools
from typing import Any, Hashable

from ..ir.node import Node
from ..runtime.ops import Inbox
from ..runtime.routing import route_network
from ..runtime.tick import Egress
from ..types.errors import HydroRuntimeError
from ._decider import Decider
from ._location import SimLocation
from ._plan import Plan

__all__ = ["Network"]

MAX_PASSES = 1_000_000


class Network:
    """Delivers between the instances of ``locs`` (filled by the ``SimInstance`` after this is made)."""

    def __init__(self, plan: Plan, locs: list[SimLocation], decider: Decider) -> None:
        self.plan = plan
        self.locs = locs
        self.decider = decider
        self.dirty: set[int] = set()  # instances that may have top-level work
        self._rr: dict[Hashable, int] = {}
        # while a picked unit runs and settles: the instances anything was delivered to
        # (``Scheduler.after_run``); None when nobody asks
        self.touched: set[int] | None = None
        # instances that are not members of their cluster now (left, or spares not joined yet):
        # ``broadcast`` and ``round_robin`` skip them (kept by ``Faults``)
        self.absent: set[int] = set()

    def egress_for(self, sender_index: int) -> Egress:
        """The ``egress`` callback of the runtime of instance ``sender_index``."""
        return functools.partial(self.egress, sender_index)

    def egress(self, sender_index: int, net: Node, sender: int | None, items: list[Any]) -> None:
        params = net.params
        targets = self.plan.by_loc[params["to"].id]
        if params["mode"] == "send" and not params["from"].is_cluster and params.get("channel", "fail_stop") == "fail_stop":
            # the usual edge, between two processes: what ``route_network`` would return
            if items:
                self.deliver(targets[0], net.id, items)
            return
        members = [m for m, idx in enumerate(targets) if idx not in self.absent] if self.absent else None
        routed = route_network(net, len(targets), items, self._rr, (net.id, sender_index, sender), sender=sender, members=members)
        if net.params.get("channel", "fail_stop") != "fail_stop":
            routed = self.decider.lossy(net, routed, lambda i: self.locs[targets[i]].info.name)
        for i, batch in routed:
            self.deliver(targets[i], net.id, batch)

    def deliver(self, index: int, node_id: int, items: list[Any]) -> None:
        """``items`` arrive at inbox node ``node_id`` of instance ``index`` (a send or an input)."""
        if not items:
            return
        st = self.locs[index]
        if st.dead:  # crashed: what is sent to it while it is down is lost
            return
        self.dirty.add(index)
        if self.touched is not None:
            self.touched.add(index)
        if st.lp.trickle:
            st.arrivals.extend((node_id, x) for x in items)
        else:
            op = st.rt.ops[node_id]
            assert isinstance(op, Inbox)
            op.pending.extend(items)

    def settle(self) -> None:
        """Run every location's top level until no inbox has data (deterministic, no decisions)."""
        passes = 0
        dirty = self.dirty
        while dirty:
            if len(dirty) == 1:
                (idx,) = dirty
            else:
                idx = min(dirty)  # a fixed order, so that every execution settles the same way
            st = self.locs[idx]
            if not st.has_async_work():
                dirty.discard(idx)
                continue
            st.top_pass()
            passes += 1
            if passes > MAX_PASSES:
                raise HydroRuntimeError(
                    f"top-level work at {st.info.name} did not settle after {MAX_PASSES} passes "
                    "(a top-level cycle may keep producing new data)"
                )
