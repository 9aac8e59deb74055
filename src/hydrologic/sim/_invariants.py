"""Global invariants and read-only views of every location's state.

``sim.invariant(fn)`` registers ``fn(world)``, called after every step of every simulated
execution (and after every input the scenario sends), where ``world`` is a ``World``: a view of
the operator state of every process and cluster member at that moment. A failing invariant (an
exception, or a return value of ``False``) ends the execution with ``InvariantBroken``; the
engines report it as ``InvariantViolation`` with the step, the decisions that led there and the
(shrunk) trace, like any other failure, so reproducer files and replay work unchanged.

The views copy what they return (a deep copy, on access only), so an invariant cannot change the
execution it watches, and nothing is copied for state an invariant never reads.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from ..ir.node import LocationInfo, Node
from ..runtime.ops import ABSENT, Op
from ..runtime.ops.base import Stateful
from ..types.errors import UsageError
from ..types.site import Site
from ._rules import site_matches
from ._trace import Trace, describe_site

if TYPE_CHECKING:
    from ._instance import SimInstance
    from ._location import SimLocation

__all__ = ["Invariant", "InvariantBroken", "World", "LocationState", "check_invariants", "decisions_report", "invariant_tail", "resolve_location", "broken_invariant"]


@dataclass(frozen=True)
class Invariant:
    """A registered ``fn(world)``; ``name`` and ``site`` say which one failed."""

    fn: Callable[[World], object]
    name: str
    site: Site


class InvariantBroken(Exception):
    """An invariant failed in one execution (the engines turn it into ``InvariantViolation``)."""

    def __init__(self, inv: Invariant, step: int, when: str, cause: BaseException | None) -> None:
        why = f"{type(cause).__name__}: {cause}" if cause is not None else "it returned False"
        super().__init__(f"invariant {inv.name!r} ({inv.site}) failed after step {step} ({when}): {why}")
        self.invariant = inv
        self.step = step
        self.when = when
        self.cause = cause


def op_state(op: Op) -> Any:
    """The state an operator keeps between steps (None for none yet)."""
    for attr in ("acc", "seen", "neg", "i"):
        if hasattr(op, attr):
            v = getattr(op, attr)
            return None if v is ABSENT else v
    if hasattr(op, "left") and hasattr(op, "right"):
        return (getattr(op, "left"), getattr(op, "right"))
    return None if op.value is ABSENT else op.value


def _stateful(st: SimLocation) -> list[Node]:
    out: list[Node] = []
    for nid, op in st.rt.ops.items():
        n = op.node
        if isinstance(op, Stateful) and not n.in_tick and n.root.id == st.info.loc.id:
            out.append(n)
        del nid
    return sorted(out, key=lambda n: n.id)


def _key(n: Node) -> str:
    return f"{n.method} at {n.site}"


class LocationState(Mapping[str, Any]):
    """The operator state of one location instance, read-only: ``view[key]`` is a copy.

    ``key`` is the collection the operator returned (the variable in your program), its durable
    name (``durable="..."``), ``"file:line"``, ``"method at file:line"`` (as ``keys()`` lists them),
    or the method name (``"scan"``) when the location has only one such operator."""

    def __init__(self, st: SimLocation) -> None:
        self._st = st
        self._nodes = _stateful(st)
        self.name = st.info.name
        self.member = st.info.member

    def node_for(self, key: Any) -> Node:
        nodes = self._nodes
        target = getattr(key, "_node", key if isinstance(key, Node) else None)
        found: list[Node]
        if target is not None:
            found = [n for n in nodes if n is target]
        elif isinstance(key, str):
            found = [n for n in nodes if n.params.get("durable") == key or _key(n) == key]
            if not found:
                found = [n for n in nodes if site_matches(n.site, key)]
            if not found:
                found = [n for n in nodes if n.method == key]
        else:
            found = []
        if len(found) == 1:
            return found[0]
        known = ", ".join(repr(_key(n)) for n in nodes) or "none"
        how = "names several operators" if found else "names no operator with state"
        raise KeyError(
            f"{key!r} {how} at {self.name}; its operators with state: {known}. Name one by the collection "
            "it returned, its durable name, 'file:line' or 'method at file:line'."
        )

    def __getitem__(self, key: Any) -> Any:
        node = self.node_for(key)
        v = op_state(self._st.rt.ops[node.id])
        try:
            return copy.deepcopy(v)
        except Exception:  # state that cannot be copied: shown as it is
            return v

    def __iter__(self) -> Iterator[str]:
        return iter([_key(n) for n in self._nodes])

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, key: object) -> bool:
        try:
            self.node_for(key)
        except KeyError:
            return False
        return True

    @property
    def crashed(self) -> bool:
        """Is this instance down (a simulated crash not yet restarted)?"""
        return self._st.dead

    def __repr__(self) -> str:
        return f"<state of {self.name}: {', '.join(self)}>"


def resolve_location(inst: SimInstance, loc: Any) -> LocationInfo:
    info = getattr(loc, "_info", loc)
    for l in inst.plan.graph.locations:
        if l is info or l.tag is loc or l.name == loc:
            if l.kind == "external":
                break
            return l
    known = [l.name for l in inst.plan.graph.locations if l.kind != "external"]
    raise UsageError("HL501", f"{loc!r} is not a process or cluster of this program; known: {known}")


class World:
    """What an invariant (or a scripted session) sees: every location's state at one moment."""

    def __init__(self, inst: SimInstance) -> None:
        self._inst = inst

    @property
    def step(self) -> int:
        """How many steps (ticks and observations) the execution has run."""
        return self._inst.steps_run

    @property
    def now(self) -> float:
        """The virtual time (seconds advanced by the scenario)."""
        return self._inst.now

    @property
    def memory(self) -> dict[Any, Any]:
        """A dict private to this execution, empty when it starts: invariants over time keep
        what they saw at earlier steps here (a value that must never decrease, a log that may
        only grow). Every execution, and every replay of one, starts from an empty dict."""
        return self._inst.memory

    def state(self, location: Any, member: int | None = None) -> LocationState:
        """The state of a process, or of member ``member`` of a cluster (``location``: the
        handle from ``flow.process``/``flow.cluster``, its tag class, or its name)."""
        info = resolve_location(self._inst, location)
        idxs = self._inst.plan.by_loc[info.id]
        if info.is_cluster:
            if member is None or not 0 <= member < len(idxs):
                raise UsageError("HL501", f"{info} has {len(idxs)} members: pass member=0..{len(idxs) - 1}")
            return LocationState(self._inst.locs[idxs[member]])
        if member not in (None, 0):
            raise UsageError("HL501", f"{info} is a process: it has no member={member}")
        return LocationState(self._inst.locs[idxs[0]])

    def members(self, location: Any) -> list[LocationState]:
        """The state of every member of a cluster (a one-element list for a process)."""
        info = resolve_location(self._inst, location)
        return [LocationState(self._inst.locs[i]) for i in self._inst.plan.by_loc[info.id]]


def check_invariants(inst: SimInstance, when: str | Callable[[], str]) -> None:
    """Run every registered invariant on ``inst``; ``InvariantBroken`` at the first that fails."""
    world = World(inst)
    for inv in inst.plan.invariants:
        cause: BaseException | None = None
        try:
            ok = inv.fn(world)
        except Exception as e:
            cause, ok = e, False
        if ok is False or cause is not None:
            text = when if isinstance(when, str) else when()
            err = InvariantBroken(inv, inst.steps_run, text, cause)
            raise err from cause


def decisions_report(trace: Trace) -> list[str]:
    """One line per decision a nondet site made, in order: the site (with its reason) and what it
    decided, and every simulated crash and restart. The scheduler's picks are in the step titles
    of the trace."""
    out: list[str] = []
    for s in trace.steps:
        title = s.title if isinstance(s.title, str) else ""
        if title.startswith(("crash ", "restart ")):  # a fault is a decision too (``_faults``)
            out.append(title)
        for where, what in s.notes:
            site = where if isinstance(where, str) else describe_site(where)
            out.append(f"{site}: {what if isinstance(what, str) else what()}")
    return out


def invariant_tail(e: InvariantBroken, log: list[str]) -> str:
    """The end of an ``InvariantViolation``'s message: which invariant failed after which step,
    and the decisions that led there."""
    why = f"{type(e.cause).__name__}: {e.cause}" if e.cause is not None else "it returned False"
    lines = [
        f"  then invariant {e.invariant.name!r} ({e.invariant.site}) failed after step {e.step} ({e.when}):",
        f"       {why}",
        "  What the nondet sites decided on the way there:" if log else "  No nondet site decided anything before it.",
    ]
    lines += [f"    {i}. {line}" for i, line in enumerate(log, 1)]
    return "\n".join(lines) + "\n"


def broken_invariant(error: str) -> str | None:
    """The invariant's name if ``error`` (a reproducer's stored error line) records one that
    failed, else None."""
    m = re.match(r"InvariantBroken: invariant '(.*?)' \(", error)
    return m.group(1) if m else None
