"""Scheduling: which unit of work runs next, explored in as few orders as possible.

A *unit* is a tick of one instance or a top-level observation (``assume_ordering`` /
``merge_ordered`` releasing one element). Which runnable unit runs next is a decision, reduced
three ways (argued in ``docs/simulator.md``):

* units that cannot influence the output being awaited are not run yet (``restrict_for``):
  delaying work never loses a behaviour, because hooks may always release less than has arrived;
* only the connected component of mutually dependent instances that holds the first runnable
  unit is considered (a persistent set);
* a sleep set skips orders of independent units that a sibling execution already covered;
  a unit that a sibling ran first stays asleep after a unit it statically depends on when that
  unit, as it ran, sent it nothing and could only have been handed data it may leave unread
  (``after_run``).

The ``Scheduler`` owns the state of that reduction: the sleep set, the cache of which instances
can reach each output, and how many units the last pick chose among (for the trace). Running the
picked unit is the ``SimInstance``'s job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Container, cast

from ..ir.node import Node
from ._decider import Decider
from ._errors import RedundantExecution
from ._location import SimLocation
from ._plan import Plan

if TYPE_CHECKING:
    from ._choices import PrefixChooser

__all__ = ["Scheduler", "Unit"]

Unit = tuple[int, int, int]
"""(instance index, 0 = tick / 1 = observation, index in its ``LocPlan.ticks`` / ``observers``)."""


class Scheduler:
    # a cache of what the program's graph alone decides, kept when a search puts the scheduler
    # back into its start state (``_reuse``)
    __sim_reuse_keep__ = ("_restrict_cache",)

    def __init__(self, plan: Plan, locs: list[SimLocation], decider: Decider) -> None:
        self.plan = plan
        self.locs = locs
        self.decider = decider
        self.sleep: set[Unit] = set()
        # units that leave the sleep set with the pick unless the picked unit, as it runs, sends
        # nothing to their instance (``after_run``)
        self.tentative: list[Unit] = []
        self.chosen_among = 1
        self._restrict_cache: dict[int, frozenset[int]] = {}
        # state caching (``_states``): called with the sleep set before each pick; True means
        # this state was explored already and the execution stops here
        self.visited: Callable[..., bool] | None = None
        # set by that call when the state was explored before with a larger sleep set: that
        # sleep set (in the coordinates of the state's canonical renaming) and the map of
        # instances into them. Only the units asleep then and awake now are left to explore.
        self.explored: tuple[Container[Unit], dict[int, int]] | None = None
        # called at a pick that chooses among two or more awake units, before anything of the
        # pick changes the state: the depth-first search records such states to come back to
        # (``_rewind``); a pick with one unit awake has no other branch to come back for
        self.branching: Callable[[], None] | None = None

    def wake_all(self) -> None:
        """The scenario interacted: every order is new again (the sleep set only covers one step)."""
        self.sleep.clear()
        self.tentative = []

    def restrict_for(self, node: Node) -> frozenset[int]:
        """The instances whose work can reach output ``node``."""
        r = self._restrict_cache.get(node.id)
        if r is None:
            targets = set(self.plan.by_loc[node.root.id])
            r = frozenset(i for i, reach in enumerate(self.plan.reach) if reach & targets)
            self._restrict_cache[node.id] = r
        return r

    def runnable(self, restrict: frozenset[int] | None) -> list[Unit]:
        """Every unit that has work, at the instances in ``restrict`` (all if None)."""
        out: list[Unit] = []
        for st in self.locs:
            idx = st.info.index
            if (restrict is not None and idx not in restrict) or st.dead:
                continue
            checks = st.tick_checks
            if checks:
                for ti in range(len(checks)):
                    if st.tick_runnable(ti):
                        out.append((idx, 0, ti))
            if st.observers:
                for oi, obs in enumerate(st.observers):
                    if obs.pending():
                        out.append((idx, 1, oi))
        return out

    def pick(self, cands: list[Unit]) -> Unit:
        """Decide which of ``cands`` runs next; ``RedundantExecution`` if the sleep set covers all
        or the state was explored already."""
        if self.visited is not None and self.visited(self.sleep):
            raise RedundantExecution()
        if len(cands) == 1 and not self.sleep and self.explored is None:  # nothing to decide, nothing asleep to carry on
            self.chosen_among = 1
            return cands[0]
        comp = self.plan.component
        c0 = comp[cands[0][0]]
        cands = [u for u in cands if comp[u[0]] == c0]  # a persistent set: one component's work
        awake = [u for u in cands if u not in self.sleep]
        if len(awake) > 1 and self.branching is not None:
            self.branching()
        explored, self.explored = self.explored, None
        chooser = self.decider.chooser
        # (only a depth-first search's chooser has exclusions: ``PrefixChooser.excluded``)
        excluded: dict[int, frozenset[int]] | None = cast("PrefixChooser", chooser).excluded if chooser.prunes else None
        if not awake:
            if chooser.prunes:  # a depth-first search covered this order already
                raise RedundantExecution()
            # A random, guided or replayed execution: the sibling that would cover this order may
            # never run, so the execution goes on with every candidate (a DFS never gets here on
            # the way to a failure, so its replays take the same path).
            self.sleep.clear()
            awake = cands
        done: frozenset[int] | None = None
        if excluded is None:
            i = self.decider.choose(len(awake))
        else:
            depth = len(chooser.values)
            if explored is not None:
                self._exclude_explored(awake, explored, excluded, depth)
            i = self.decider.choose(len(awake))
            # (one unit awake: no decision was made, and ``depth`` is the next one's)
            done = excluded.get(depth) if excluded and len(awake) > 1 else None
            if done is not None and i in done:
                raise RedundantExecution()  # every unit left at this state ran from it before
        u = awake[i]
        if self.sleep or i:
            dep = self.plan.dependent
            deep = self.plan.deep_now
            b = u[0]
            kept: set[Unit] = set()
            tentative: list[Unit] = []
            before = awake[:i] if done is None else [awake[j] for j in range(i) if j not in done]
            for s in self.sleep.union(before):
                a = s[0]
                if not dep(a, b):
                    kept.add(s)
                elif a != b and b not in deep[a]:
                    tentative.append(s)
            self.sleep = kept
            self.tentative = tentative
        self.chosen_among = len(awake)
        return u

    def _exclude_explored(
        self, awake: list[Unit], explored: tuple[Container[Unit], dict[int, int]], excluded: dict[int, frozenset[int]], depth: int
    ) -> None:
        """This state was explored before with the sleep set ``explored[0]``: every unit awake then
        ran from it, with everything below, so only the units asleep then and awake now are left
        (Godefroid's combination of sleep sets with state caching). The others are excluded from
        this decision (``PrefixChooser.excluded``) and, since they ran from here before, from the
        sleep sets of the units that run instead: a unit that ran first from here in that
        exploration left the now-awake unit asleep after it, so the order (awake unit, that unit)
        is still to explore. ``RedundantExecution`` if no unit is left."""
        old, imap = explored
        done = frozenset(
            j for j, u in enumerate(awake) if ((imap.get(u[0], u[0]), u[1], u[2]) if imap else u) not in old
        )
        if len(done) == len(awake):
            raise RedundantExecution()
        if done:
            excluded[depth] = done

    def after_run(self, touched: set[int]) -> None:
        """The picked unit ran (and its effects settled), delivering to the instances in
        ``touched``. A unit ``s`` at instance A that a sibling ran before it stays asleep if
        nothing was delivered to A: ``s`` then behaves as it would have first, and what it sends
        to the picked unit's instance only waits in hook buffers there (``Plan.deep_now``), which
        the picked unit could have left unread had it run second. So every state after (picked,
        ``s``) is reached after (``s``, picked) too, which the sibling explored."""
        if self.tentative:
            self.sleep.update(s for s in self.tentative if s[0] not in touched)
            self.tentative = []
