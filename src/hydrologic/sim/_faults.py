"""Crash and restart of location instances: simulator choices under a per-execution budget.

With a fault budget (``sim.faults(crashes=n)`` or ``sim.exhaustive(scenario, crashes=n)``),
every point where the simulator makes a scheduling decision (before each step, when the program
is quiet, and before each input the scenario sends) is also a fault site: the first option is
"no fault", the others crash one live instance (while the budget lasts) or restart one crashed
instance. The exploration engines cover those options like any other decision, so an exhaustive
search with ``crashes=1`` runs every crash point and every restart point of every schedule.

What a crash does (the runtime's restart semantics, docs/deployment.md "Faults and restarts"):

* the instance's volatile state is gone: every operator's state, what arrived and was not
  processed yet, and its share of the simulated channels. Messages and inputs sent to it while
  it is down are lost;
* its durable state (``scan``/``fold`` with ``durable=``) is kept in its store, and a restarted
  incarnation starts from it, as a new process would from its data directory;
* outputs it already emitted stay emitted; peers watching it with ``peer_liveness`` see
  ``DOWN(n)`` and, after a restart, ``RESTARTED(n + 1)``;
* a location that called ``forbid_restart`` may crash but is never restarted.

Membership changes of clusters (``sim.faults(leaves=n, joins=n)``) are fault sites of the same
kind, under their own budgets:

* a *leave* removes a live cluster member for good: like a crash it loses its volatile state,
  peers see ``DOWN(n)`` (``LEFT`` on ``source_cluster_members``), and from then on ``broadcast``
  and ``round_robin`` skip it (a crashed member stays a target: what is sent to it is lost);
* a *join* starts the next spare member of a cluster (``joins=n`` gives each cluster that may
  change ``n`` spare member ids above its size, absent until they join): peers see ``UP(0)``
  (``JOINED``), and ``broadcast``/``round_robin`` include it from then on.

These are the events a deployment produces when ``hydrologic scale`` adds or removes members,
and restarts show up the same way (``DOWN``, then ``RESTARTED``: ``LEFT``, then ``JOINED``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..ir.consistency import fixed_membership
from ..lang.liveness import Liveness
from ..lang.location import MemberId
from ..runtime.liveness import liveness_sources, opening_events
from ._errors import RedundantExecution
from ._invariants import check_invariants

if TYPE_CHECKING:
    from ._instance import SimInstance

__all__ = ["FaultBudget", "Faults"]


@dataclass(frozen=True)
class FaultBudget:
    """How many crashes one execution may have, and which locations (ids) may crash (None: all)."""

    crashes: int = 0
    locations: frozenset[int] | None = None
    # --- cluster membership: members leaving for good, spare members joining
    leaves: int = 0
    joins: int = 0

    def allows(self, loc_id: int) -> bool:
        return self.locations is None or loc_id in self.locations

    @property
    def any(self) -> bool:
        """May an execution have a fault at all?"""
        return bool(self.crashes or self.leaves or self.joins)

    def tag(self) -> str:
        """Appended to the program's fingerprint, so a replay token only replays under the same budget."""
        if not self.any:
            return ""
        where = "" if self.locations is None else "l" + "_".join(map(str, sorted(self.locations)))
        membership = (f"v{self.leaves}" if self.leaves else "") + (f"j{self.joins}" if self.joins else "")
        return f"-c{self.crashes}{membership}{where}"


class Faults:
    """The fault state of one execution: the budget left, who is down, each incarnation."""

    def __init__(self, inst: SimInstance, budget: FaultBudget) -> None:
        self.inst = inst
        self.budget = budget
        self.left = budget.crashes
        self.down: set[int] = set()
        self.incarnation = [0] * len(inst.plan.instances)
        self.leaves_left = budget.leaves
        self.joins_left = budget.joins
        # not members now: the spares that have not joined, and the members that left (the
        # network's own set, so routing sees every change at once)
        self.absent = inst.network.absent
        self.absent.update(inst.plan.spares)
        self.spares = set(inst.plan.spares)  # never joined yet
        # clusters a broadcast_closed targets keep the members they started with
        self.fixed = fixed_membership(inst.plan.graph.nodes)

    def options(self) -> list[tuple[str, int]]:
        locs = self.inst.locs
        out: list[tuple[str, int]] = []
        if self.left > 0:
            for st in locs:
                i = st.info.index
                if i not in self.down and i not in self.absent and self.budget.allows(st.info.loc.id):
                    out.append(("crash", i))
        for i in sorted(self.down):
            if locs[i].info.loc.no_restart is None and i not in self.absent:
                out.append(("restart", i))
        if self.leaves_left > 0:
            for st in locs:
                i = st.info.index
                if (
                    st.info.loc.is_cluster
                    and i not in self.down
                    and i not in self.absent
                    and self.budget.allows(st.info.loc.id)
                    and st.info.loc.id not in self.fixed
                ):
                    out.append(("leave", i))
        if self.joins_left > 0:
            for ids in self.inst.plan.by_loc.values():
                nxt = next((i for i in ids if i in self.spares), None)  # ids are handed out in order
                if nxt is not None:
                    out.append(("join", nxt))
        return out

    def maybe(self, when: str | Callable[[], str] = "") -> bool:
        """One fault decision; True if a fault happened (the caller looks again). ``when`` says
        where the scenario is, for the trace."""
        if not self.left and not self.down and not self.leaves_left and not self.joins_left:
            return False
        opts = self.options()
        if not opts:
            return False
        sched = self.inst.scheduler
        if sched.visited is not None and sched.visited(sched.sleep, fault_point=True):  # state caching
            raise RedundantExecution()
        k = self.inst.decider.choose(len(opts) + 1)
        if k == 0:
            return False
        kind, i = opts[k - 1]
        when = when() if callable(when) else when
        if kind == "crash":
            self.crash(i, when)
        elif kind == "restart":
            self.restart(i, when)
        elif kind == "leave":
            self.leave(i, when)
        else:
            self.join(i, when)
        if self.inst.plan.invariants:
            name = self.inst.locs[i].info.name
            check_invariants(self.inst, f"the {kind} of {name}")
        return True

    def crash(self, i: int, when: str = "") -> None:
        inst = self.inst
        st = inst.locs[i]
        ticks = sum(st.ticks_run.values())
        after = f" after {ticks} tick(s)" if ticks else ""
        durable = [op.durable for op in st.rt.durable_ops]
        keeps = f"; its durable state ({', '.join(map(repr, durable))}) is kept" if durable else ""
        inst.trace.step(
            f"crash {st.info.name}{after}{when}: its volatile state and unprocessed input are lost{keeps}"
        )
        self.left -= 1
        self.down.add(i)
        st.dead = True
        inst.network.dirty.discard(i)
        self._tell_watchers(i, Liveness.down(self.incarnation[i]))
        inst.scheduler.wake_all()

    def restart(self, i: int, when: str = "") -> None:
        inst = self.inst
        old = inst.locs[i]
        self.down.discard(i)
        self.incarnation[i] += 1
        new = inst.fresh_location(i)
        for nid, sink in old.rt.sinks.items():  # what it emitted before the crash stays emitted
            if sink.buffer:
                new.rt.sinks[nid].buffer = sink.buffer
        inst.locs[i] = new
        recovered = {op.durable: _short(op) for op in new.rt.durable_ops}
        what = f"; recovered {', '.join(f'{k!r} = {v}' for k, v in recovered.items())}" if recovered else ", with no durable state"
        inst.trace.step(f"restart {new.info.name} (incarnation {self.incarnation[i]}){when}{what}")
        self.open_liveness(i)
        inst.network.dirty.add(i)
        self._tell_watchers(i, Liveness.restarted(self.incarnation[i]))
        inst.scheduler.wake_all()

    # --- cluster membership

    def leave(self, i: int, when: str = "") -> None:
        """Member ``i`` leaves its cluster for good (a scale-down)."""
        inst = self.inst
        st = inst.locs[i]
        inst.trace.step(f"leave {st.info.name}{when}: it is no longer a member; its volatile state and unprocessed input are lost")
        self.leaves_left -= 1
        self.absent.add(i)
        self.down.add(i)
        st.dead = True
        inst.network.dirty.discard(i)
        self._tell_watchers(i, Liveness.down(self.incarnation[i]))
        inst.scheduler.wake_all()

    def join(self, i: int, when: str = "") -> None:
        """Spare member ``i`` joins its cluster (a scale-up): a fresh first incarnation."""
        inst = self.inst
        self.joins_left -= 1
        self.spares.discard(i)
        self.absent.discard(i)
        new = inst.fresh_location(i)
        inst.locs[i] = new
        inst.trace.step(f"join {new.info.name}{when}: a new member starts")
        self.open_liveness(i)
        inst.network.dirty.add(i)
        self._tell_watchers(i, Liveness.up(0))
        inst.scheduler.wake_all()

    def open_liveness(self, i: int) -> None:
        """Deliver the opening events of instance ``i``'s liveness and membership sources."""
        inst = self.inst
        for node in liveness_sources(inst.plan.graph, inst.locs[i].info.loc):
            inst.network.deliver(i, node.id, opening_events(node, inst.plan.sizes, self._state))

    def _state(self, loc_id: int, member: int | None) -> Liveness | None:
        idx = self.inst.plan.by_loc[loc_id][member or 0]
        if idx in self.absent:
            return None
        inc = self.incarnation[idx]
        return Liveness.down(inc) if idx in self.down else Liveness.up(inc)

    def _tell_watchers(self, i: int, event: Liveness) -> None:
        inst = self.inst
        info = inst.plan.instances[i]
        for st in inst.locs:
            if st.dead:
                continue
            for node in liveness_sources(inst.plan.graph, st.info.loc):
                if node.params["peer"] is info.loc:
                    mid: MemberId[Any] = MemberId(0) if info.member is None else MemberId.of_cluster(info.member, info.loc.id)
                    ev: list[Any] = [(mid, event)]
                    inst.network.deliver(st.info.index, node.id, ev)


def _short(op: Any) -> str:
    from ._trace import show_value

    value = getattr(op, "acc", None) if op.node.op == "scan" else op.value
    return show_value(value)
