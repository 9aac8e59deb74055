"""Backtracking inside one driver call: restore a recorded state instead of replaying from the start.

The exhaustive search is a stateless DFS (``_engines``): every execution replays the answers of
its prefix from the program's start state and branches at the end. With state caching most
executions end one step after their branch, at a state already explored, so nearly all of an
execution's time is the replay: about 30 decisions to reach the one that is new.

A scenario is a Python function, which cannot be copied, so the search cannot jump back into
the middle of one. But while the scenario waits in one driver call (``collect()``, a waiting
``next()``, the checks at its end), the simulator runs a loop of scheduling steps
(``SimInstance.run_until_quiet``/``wait_output``) that keeps nothing in local variables from
one step to the next: everything that decides the rest of the call is in the instance's
objects. There a pruned execution can go back to a state recorded earlier *in the same call*,
put the instance's objects back into it in place (``_reuse.record``/``Image.restore``, as for
the start state) and take the next branch, without leaving the call. The scenario never
notices: it is paused in the same call with the same locals, and the decisions it would have
been replayed through are the ones the restored state was reached by.

**Which states are recorded.** Those at a pick (before a scheduling decision) that the state
table looked up and found new, and where two or more units are awake
(``Scheduler.branching``): the nodes this execution is the first to reach whose later siblings
the DFS will want. A pick with one unit awake makes no decision, so no branch comes back to it
(the next decision is at the same depth, and that node is recorded instead). With a fault
budget nothing is recorded (a fault decision comes before the pick in the loop, and would be
asked again after a restore).

**Recorded in parts** (``_Parts``). A state is what is outside the locations (the network, the
scheduler, the instance's fields: a few dozen objects, recorded every time) plus each
location's objects, tagged with the location's stamp. A step renews the stamps of the
locations it may change, and equal stamps mean the same contents (the state key's cache of
encoded parts relies on the same rule), so a location whose stamp is the one its last recorded
part has shares that part: recording a state costs the one to four locations the last step
changed, not all of them (the Paxos race's proposers are about 160 objects each, its acceptors
50). Putting a state back restores the outside and only the locations whose stamp differs from
the recorded one. Recording every new state this way cost less than recording every third one
whole and replaying the steps in between (``SPACING``), which is what was done before.

**Which branches it takes.** Exactly the DFS's next execution (``advance``, the odometer over
the decision tree, with the worker's floor and caps in a parallel search), and only if that
execution branches at or after a recorded state of the current call: otherwise the execution
ends as before and the engine replays the next one from the start. So the search explores the
same executions in the same order with or without rewinding, and counts the same (each rewind
is one pruned execution); only the time differs. ``tests/test_sim_rewind.py`` checks that
counts and outcomes agree on the std protocols' scenarios.

**Starting over.** An execution whose branch lies in an earlier driver call than the one it
was pruned in (a Paxos leader change branching inside the first election while pruned in the
final ``collect()``) cannot go back: it ends, and the next one replays the scenario from the
start. The states recorded along the DFS's path are handed on to it (``Carry``): when its
replay reaches the first pick of a driver call in which one of them was recorded, on its
prefix, it goes forward to the deepest (``Rewinder.jump``/``_forward``) instead of replaying
every step to it. The search's executions, counts and order stay the same.

**Why it is sound.** The restored objects are the ones the execution had at that pick, with the
same contents, so the program is in the same state; every object made later is no longer
reachable from it. The scenario is in the same call; the driver log, the trace and the sleep
set are part of the instance and go back too. What is not part of the instance is handled
here: the chooser's answers are cut back to the recorded depth and it replays the new prefix
from there, and the trace is cut back to its length at the pick.
"""

from __future__ import annotations

import time
from typing import Any

from ._choices import Advance, PrefixChooser
from ._errors import RedundantExecution
from ._instance import SimInstance
from ._location import SimLocation
from ._reuse import Image, _Refused, record  # pyright: ignore[reportPrivateUsage]
from ._trace import TraceStep

__all__ = ["Rewinder", "Carry", "MAX_SECONDS", "REWIND", "CARRY"]

# A switch for debugging and for comparing against the search without it (as ``_reuse.REUSE``).
REWIND = True
# A run that rewinds hands control back to its engine after this long, so that progress,
# budgets and (in a parallel search) giving work to an idle process are not held up. Each
# hand-back costs a start over (the instance put back into its start state, the scenario run to
# the call, a state gone forward to): 0.1 s made the f = 1 Paxos race 101.5 s, 0.3 s 92.4 s.
MAX_SECONDS = 0.3
# A new state is recorded only if this many steps ran since the state recorded last on this path
# (in the same driver call). A state recorded whole cost about as much as running eight steps,
# and 3 was best then; recorded in parts (``_Parts``), every new state is worth recording.
SPACING = 1
# An execution that starts over goes forward to a state an earlier execution recorded in the
# driver call it is replaying (``Carry``); a switch for comparing against replaying every step.
CARRY = True


class _Parts:
    """A recorded state in parts: what is outside the locations (the network, the scheduler, the
    instance's own fields: recorded afresh every time, a few dozen objects), and each location's
    objects with the stamp it had (``SimLocation.stamp``).

    A location's part is shared with the state recorded before if the location kept its stamp
    in between (equal stamps mean the same contents: every step renews the stamps of the
    locations it may change, as the state key's cache of encoded parts relies on), so a record
    costs the locations the steps since the last one changed, not all of them. Putting a state
    back likewise restores only the locations whose stamp differs from the recorded one."""

    __slots__ = ("rest", "parts")

    def __init__(self, rest: Image, parts: list[tuple[int, Image]]) -> None:
        self.rest = rest
        self.parts = parts

    def restore(self, locs: list[SimLocation]) -> None:
        stale = [img for st, (stamp, img) in zip(locs, self.parts) if st.stamp != stamp]
        self.rest.restore()
        for img in stale:
            img.restore()


class _Saved:
    __slots__ = ("depth", "call", "image", "steps", "notes", "ran", "trace", "ranges", "values")

    def __init__(
        self,
        depth: int,
        call: int,
        image: _Parts,
        steps: int,
        notes: int,
        ran: int,
        trace: list[TraceStep],
        ranges: list[int],
        values: list[int],
    ) -> None:
        self.depth = depth  # answers given before this pick's decision
        self.call = call  # which loop of the instance (``SimInstance.calls``) it was recorded in
        self.image = image
        self.steps = steps  # the trace's length then, and its last step's notes
        self.notes = notes
        self.ran = ran  # the instance's steps run then (``SimInstance.steps_run``)
        # for a later execution that starts over (``Carry``): the trace's steps then, and the
        # answers given before, with their option counts
        self.trace = trace
        self.ranges = ranges
        self.values = values


class Rewinder:
    """The states recorded during one execution of a DFS, and going back to them."""

    def __init__(
        self,
        inst: SimInstance,
        chooser: PrefixChooser,
        wiring: set[int],
        advance: Advance,
        skip: tuple[Any, ...],
        carried: list[_Saved] | None = None,
    ) -> None:
        self.inst = inst
        self.chooser = chooser
        # Operators that hold nothing between steps (``Op.stateless``, ``fusable``) are not
        # recorded: the state key leaves them out for that reason (every state of a location has
        # them alike), so a state put back without them is one the search already merges with it.
        quiet = {id(op) for st in inst.locs for op in st.rt.ops.values() if op.stateless or op.fusable}
        self.wiring = wiring | quiet
        self.advance = advance
        self.skip = (*skip, self, chooser, inst.trace, inst.image)
        # what a location's part must not enter: the objects every location reaches (through
        # its hooks and its runtime's egress) that belong to the rest, and the other locations
        self.machinery = (inst, inst.network, inst.decider, inst.scheduler, inst.faults, *inst.locs)
        # per location, the part that holds its contents now (recorded last, or put back), with
        # its stamp then
        self.last_parts: list[tuple[int, Image] | None] = [None] * len(inst.locs)
        self.saved: list[_Saved] = []
        self.until = time.perf_counter() + MAX_SECONDS
        self.off = False  # a state could not be recorded: rewind no more in this execution
        # states an earlier execution recorded on this execution's prefix (``Carry``), by depth;
        # the one to go forward to when the loop next asks (``jump``); the scheduler's hook
        self.carried: list[_Saved] = carried or []
        self.ahead: _Saved | None = None
        self.visited: Any = None
        self.fresh = False  # the state at the pick under way is new to the search

    def jump(self) -> None:
        """At a pick this execution replays: if a state carried over from an earlier execution
        lies ahead in the same driver call, stop here (the loop then calls ``rewind``, which
        goes forward to it)."""
        calls, depth = self.inst.calls, len(self.chooser.values)
        best: _Saved | None = None
        for s in self.carried:
            if s.call == calls and s.depth > depth:
                best = s
        if best is not None:
            self.ahead = best
            raise RedundantExecution()
    def branching(self) -> None:
        """The pick under way chooses among several units: record its state if it is new."""
        if self.fresh:
            self.fresh = False
            self.save()

    def save(self) -> None:
        """Record the state at this pick (new to the search)."""
        if self.off:
            return
        inst, trace = self.inst, self.inst.trace.steps
        if self.carried:  # fresh from here on: what was carried is this path's too
            self.saved = sorted(self.saved + self.carried, key=lambda x: x.depth)
            self.carried = []
        saved = self.saved
        depth = len(self.chooser.values)
        while saved and saved[-1].depth >= depth:
            saved.pop()
        if saved and saved[-1].call == inst.calls and inst.steps_run - saved[-1].ran < SPACING:
            return  # going back to that state and running the steps since costs less than recording
        try:
            img = self._record()
        except _Refused:
            self.off = True
            self.saved.clear()
            return
        saved.append(
            _Saved(
                depth, inst.calls, img, len(trace), len(trace[-1].notes) if trace else 0, inst.steps_run, list(trace),
                list(self.chooser.ranges), list(self.chooser.values),
            )
        )

    def _record(self) -> _Parts:
        """The instance's state now, in parts (``_Parts``), reusing the parts of the locations
        whose stamp has not changed since they were last recorded."""
        inst, wiring, skip = self.inst, self.wiring, self.skip
        rest = Image()
        record(inst, wiring, (*skip, *inst.locs), rest)
        parts: list[tuple[int, Image]] = []
        last = self.last_parts
        for i, st in enumerate(inst.locs):
            got = last[i]
            if got is None or got[0] != st.stamp:
                img = Image()
                record(st, wiring, (*skip, *[m for m in self.machinery if m is not st]), img)
                got = last[i] = (st.stamp, img)
            parts.append(got)
        return _Parts(rest, parts)

    def rewind(self) -> bool:
        """The execution was pruned in the current loop: go back to the recorded state from
        which the DFS's next execution branches and make the chooser take it; False if there is
        none in this loop (the engine then replays the next execution from the start)."""
        ch = self.chooser
        if self.ahead is not None:
            self._forward(self.ahead)
            return True
        saved = self.saved
        if not saved or time.perf_counter() > self.until:
            return False
        nxt = self.advance(ch.values, ch.ranges)
        if nxt is None:
            return False
        branch = len(nxt) - 1  # the decision that changes
        while saved and saved[-1].depth > branch:
            saved.pop()
        if not saved or saved[-1].call != self.inst.calls:
            return False
        s = saved[-1]
        ch.rewinds += 1  # counted by the engine as pruned executions
        ch.rewound_decisions += len(ch.values)
        s.image.restore(self.inst.locs)
        self.last_parts = [*s.image.parts]  # the locations' contents now
        self._own()
        steps = self.inst.trace.steps
        del steps[s.steps :]
        if steps:
            del steps[-1].notes[s.notes :]
        del ch.values[s.depth :]
        del ch.ranges[s.depth :]
        if ch.excluded:
            ch.excluded = ch.keep_excluded(branch)
        ch.prefix = nxt
        return True

    def _own(self) -> None:
        """After an image is put back: what it holds of the execution that recorded it (an
        earlier one, for a state carried over) is this execution's again."""
        inst = self.inst
        inst.decider.chooser = self.chooser
        inst.rewinder = self
        if self.visited is not None:
            inst.scheduler.visited = self.visited
            inst.scheduler.branching = self.branching

    def _forward(self, s: _Saved) -> None:
        """Go forward to ``s``, recorded by an earlier execution in the driver call this one is
        replaying, on the prefix both share (``Carry``)."""
        self.ahead = None
        inst, ch = self.inst, self.chooser
        s.image.restore(inst.locs)
        self.last_parts = [*s.image.parts]
        self._own()
        steps: list[TraceStep] = []
        for i, old in enumerate(s.trace[: s.steps]):
            new = TraceStep(old.title)
            new.notes = old.notes[: s.notes] if i == s.steps - 1 else list(old.notes)
            steps.append(new)
        inst.trace.steps[:] = steps
        ch.values[:] = ch.prefix[: s.depth]
        ch.ranges[:] = s.ranges
        self.saved = [x for x in self.carried if x.depth <= s.depth]
        self.carried = [x for x in self.carried if x.depth > s.depth]


class Carry:
    """The states recorded along the DFS's path, handed from an execution to the next when the
    next starts over (its branch is in an earlier driver call than the one the last execution
    ended in, or no recorded state lies before it).

    Starting over replays the scenario from the start: its sends are cheap, but each driver
    call's loop replays every scheduling step to the branch (a Paxos leader change replays
    the first election, about twenty steps, to branch inside it). A state an earlier
    execution recorded in that call, at a pick on the shared prefix, is where the replay would
    arrive: so when the replaying execution reaches the first pick of that call, it goes
    forward to the deepest such state (``Rewinder.jump``/``_forward``) and replays only what
    lies after it. Sound for the same reasons as going back (the module docstring), plus: the
    scenario is paused in the same call, having done exactly what it did when the state was
    recorded (it is deterministic, and every value it was given before that call came from the
    same prefix); the instance is the same object, put back into its start state in place
    between executions (``_reuse.Recycler``), so the image's objects are its objects; and
    what the image holds of the recording execution (its chooser, rewinder and scheduler hook)
    is pointed at this one's. The trace is rebuilt from the steps the recording execution had.
    Only where no value the scenario was given could be part of the instance's state: the
    scenario's values from earlier calls are then equal to, not the same objects as, what the
    image's log holds, which only the state key reads."""

    def __init__(self) -> None:
        self.last: Rewinder | None = None

    def take(self, inst: SimInstance, chooser: PrefixChooser) -> list[_Saved] | None:
        """What the last execution's rewinder recorded that lies on ``chooser``'s prefix."""
        prev, self.last = self.last, None
        if not CARRY or prev is None or prev.inst is not inst or prev.off or inst.escaped:
            return None
        prefix = chooser.prefix
        branch = len(prefix) - 1
        # (a parallel search's worker starts each subtree it is given with a prefix of its own)
        out = [s for s in prev.saved + prev.carried if s.depth <= branch and prefix[: s.depth] == s.values]
        return out or None
