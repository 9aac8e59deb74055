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
table looked up and found new: the nodes this execution is the first to reach, whose later
siblings the DFS will want; but not one within ``SPACING`` steps of the state recorded last on
the same path, in the same call. Recording a state (hundreds of objects) costs about as much as
running a dozen steps, and many new states have no sibling left to explore, or one the sleep set
or the state table stops after a step; a branch taken there goes back to the earlier state and
replays the few steps in between. With a fault budget nothing is recorded (a fault decision comes
before the pick in the loop, and would be asked again after a restore).

**Which branches it takes.** Exactly the DFS's next execution (``advance``, the odometer over
the decision tree, with the worker's floor and caps in a parallel search), and only if that
execution branches at or after a recorded state of the current call: otherwise the execution
ends as before and the engine replays the next one from the start. So the search explores the
same executions in the same order with or without rewinding, and counts the same (each rewind
is one pruned execution); only the time differs. ``tests/test_sim_rewind.py`` checks that
counts and outcomes agree on the std protocols' scenarios.

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
from ._instance import SimInstance
from ._reuse import Image, _Refused, record  # pyright: ignore[reportPrivateUsage]

__all__ = ["Rewinder", "MAX_SECONDS", "REWIND"]

# A switch for debugging and for comparing against the search without it (as ``_reuse.REUSE``).
REWIND = True
# A run that rewinds hands control back to its engine after this long, so that progress,
# budgets and (in a parallel search) giving work to an idle process are not held up.
MAX_SECONDS = 0.1
# A new state is recorded only if this many steps ran since the state recorded last on this path
# (in the same driver call): recording one costs about as much as running a dozen steps.
SPACING = 3


class _Saved:
    __slots__ = ("depth", "call", "image", "steps", "notes", "ran")

    def __init__(self, depth: int, call: int, image: Image, steps: int, notes: int, ran: int) -> None:
        self.depth = depth  # answers given before this pick's decision
        self.call = call  # which loop of the instance (``SimInstance.calls``) it was recorded in
        self.image = image
        self.steps = steps  # the trace's length then, and its last step's notes
        self.notes = notes
        self.ran = ran  # the instance's steps run then (``SimInstance.steps_run``)


class Rewinder:
    """The states recorded during one execution of a DFS, and going back to them."""

    def __init__(self, inst: SimInstance, chooser: PrefixChooser, wiring: set[int], advance: Advance, skip: tuple[Any, ...]) -> None:
        self.inst = inst
        self.chooser = chooser
        # Operators that hold nothing between steps (``Op.stateless``, ``fusable``) are not
        # recorded: the state key leaves them out for that reason (every state of a location has
        # them alike), so a state put back without them is one the search already merges with it.
        quiet = {id(op) for st in inst.locs for op in st.rt.ops.values() if op.stateless or op.fusable}
        self.wiring = wiring | quiet
        self.advance = advance
        self.skip = (*skip, self, chooser, inst.trace, inst.image)
        self.saved: list[_Saved] = []
        self.until = time.perf_counter() + MAX_SECONDS
        self.off = False  # a state could not be recorded: rewind no more in this execution

    def save(self) -> None:
        """Record the state at this pick (new to the search)."""
        if self.off:
            return
        inst, trace = self.inst, self.inst.trace.steps
        saved = self.saved
        depth = len(self.chooser.values)
        while saved and saved[-1].depth >= depth:
            saved.pop()
        if saved and saved[-1].call == inst.calls and inst.steps_run - saved[-1].ran < SPACING:
            return  # going back to that state and running the steps since costs less than recording
        img = Image()
        try:
            record(inst, self.wiring, self.skip, img)
        except _Refused:
            self.off = True
            self.saved.clear()
            return
        saved.append(_Saved(depth, inst.calls, img, len(trace), len(trace[-1].notes) if trace else 0, inst.steps_run))

    def rewind(self) -> bool:
        """The execution was pruned in the current loop: go back to the recorded state from
        which the DFS's next execution branches and make the chooser take it; False if there is
        none in this loop (the engine then replays the next execution from the start)."""
        ch = self.chooser
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
        s.image.restore()
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
