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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..lang.liveness import Liveness
from ..lang.location import MemberId
from ..runtime.liveness import liveness_sources, opening_events
from ._invariants import check_invariants

if TYPE_CHECKING:
    from ._instance import SimInstance

__all__ = ["FaultBudget", "Faults"]


@dataclass(frozen=True)
class FaultBudget:
    """How many crashes one execution may have, and which locations (ids) may crash (None: all)."""

    crashes: int = 0
    locations: frozenset[int] | None = None

    def tag(self) -> str:
        """Appended to the program's fingerprint, so a replay token only replays under the same budget."""
        if not self.crashes:
            return ""
        where = "" if self.locations is None else "l" + "_".join(map(str, sorted(self.locations)))
        return f"-c{self.crashes}{where}"


class Faults:
    """The fault state of one execution: the budget left, who is down, each incarnation."""

    def __init__(self, inst: SimInstance, budget: FaultBudget) -> None:
        self.inst = inst
        self.budget = budget
        self.left = budget.crashes
        self.down: set[int] = set()
        self.incarnation = [0] * len(inst.plan.instances)

    def options(self) -> list[tuple[str, int]]:
        locs = self.inst.locs
        out: list[tuple[str, int]] = []
        if self.left > 0:
            allowed = self.budget.locations
            for st in locs:
                i = st.info.index
                if i not in self.down and (allowed is None or st.info.loc.id in allowed):
                    out.append(("crash", i))
        for i in sorted(self.down):
            if locs[i].info.loc.no_restart is None:
                out.append(("restart", i))
        return out

    def maybe(self, when: str | Callable[[], str] = "") -> bool:
        """One fault decision; True if a fault happened (the caller looks again). ``when`` says
        where the scenario is, for the trace."""
        if not self.left and not self.down:
            return False
        opts = self.options()
        if not opts:
            return False
        k = self.inst.decider.choose(len(opts) + 1)
        if k == 0:
            return False
        kind, i = opts[k - 1]
        when = when() if callable(when) else when
        if kind == "crash":
            self.crash(i, when)
        else:
            self.restart(i, when)
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
        for node in liveness_sources(inst.plan.graph, new.info.loc):
            inst.network.deliver(i, node.id, opening_events(node, inst.plan.sizes, self._state))
        inst.network.dirty.add(i)
        self._tell_watchers(i, Liveness.restarted(self.incarnation[i]))
        inst.scheduler.wake_all()

    def _state(self, loc_id: int, member: int | None) -> Liveness:
        idx = self.inst.plan.by_loc[loc_id][member or 0]
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
                    ev: list[Any] = [(MemberId(0 if info.member is None else info.member), event)]
                    inst.network.deliver(st.info.index, node.id, ev)


def _short(op: Any) -> str:
    from ._trace import show_value

    value = getattr(op, "acc", None) if op.node.op == "scan" else op.value
    return show_value(value)
