"""A scripted session: one execution that the test drives step by step.

``with sim.session() as s:`` makes one simulated execution and routes the program's ports to it
for the duration of the block. Inside, the test sends inputs with its ports as a scenario does,
runs the program one step at a time (``s.step()``, optionally at a chosen location), reads any
location's state (``s.state(loc, member)``) and checks what it likes between steps. Every
decision the session needs (which unit runs next, what a batch releases) takes the first option,
or the answers given with ``decisions=``/``token=``, and respects the sites a test fixed or
restricted with ``sim.fix``/``sim.restrict``. Invariants registered with ``sim.invariant`` are
checked after every step and every input, as in a search; a failure raises
``InvariantViolation`` with the trace so far.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ..lang.io import reset_driver, set_driver
from ..types.errors import UsageError
from ._choices import PrefixChooser, decode_token, encode_token
from ._engines import RunResult, failure
from ._errors import InstanceEnded, SimulationFailure
from ._instance import SimInstance
from ._invariants import InvariantBroken, LocationState, World, resolve_location
from ._plan import Plan

__all__ = ["Session"]


class Session:
    """One execution driven by the test; use it as a context manager (``sim.session()``)."""

    def __init__(self, plan: Plan, decisions: list[int] | None = None, token: str | None = None) -> None:
        answers = list(decisions or [])
        if token is not None:
            answers = decode_token(token, plan.fingerprint)
        self.plan = plan
        self._chooser = PrefixChooser(answers)
        self.instance = SimInstance(plan, self._chooser)
        self._token: Any = None
        self.world = World(self.instance)

    # ---- the context manager -------------------------------------------------------------------

    def __enter__(self) -> Session:
        self._token = set_driver(self.instance)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> bool:
        __tracebackhide__ = True
        try:
            if ev is None:
                self.instance.finish()  # absence checks still pending, as at the end of a scenario
        except InvariantBroken as e:
            raise self._violation(e) from e
        finally:
            reset_driver(self._token)
        if isinstance(ev, InvariantBroken):
            raise self._violation(ev) from ev
        # an absence check forked at a send and this execution ended at the check: nothing failed
        return isinstance(ev, InstanceEnded)

    def _violation(self, e: BaseException) -> SimulationFailure:
        return failure(self.plan, RunResult("failed", self._chooser, self.instance, e), "scripted session")

    # ---- stepping --------------------------------------------------------------------------------

    def step(self, location: Any = None, member: int | None = None) -> bool:
        """Run one step: a tick or observation that has work (at ``location``/``member`` if given,
        otherwise the first the scheduler offers). False if there is nothing to run there."""
        __tracebackhide__ = True
        inst = self.instance
        inst.network.settle()
        cands = inst.scheduler.runnable(None)
        if location is not None:
            info = resolve_location(inst, location)
            idxs = inst.plan.by_loc[info.id]
            if info.is_cluster and member is None:
                raise UsageError("HL501", f"{info} has {len(idxs)} members: pass member=0..{len(idxs) - 1}")
            if member is not None and not 0 <= member < len(idxs):
                raise UsageError("HL501", f"{info} has {len(idxs)} member(s): member={member} does not exist")
            want = idxs[member or 0]
            cands = [u for u in cands if u[0] == want]
        if not cands:
            return False
        inst.scheduler.wake_all()  # a script picks its own order: no sleep set applies
        try:
            inst.run_unit(inst.scheduler.pick(cands))
        except InvariantBroken as e:
            raise self._violation(e) from e
        return True

    def run(self, max_steps: int = 100_000) -> int:
        """Run steps until nothing has work (or ``max_steps``); returns how many ran."""
        n = 0
        while n < max_steps and self.step():
            n += 1
        return n

    # ---- reading -----------------------------------------------------------------------------------

    def state(self, location: Any, member: int | None = None) -> LocationState:
        """The operator state of a process or cluster member now (see ``LocationState``)."""
        return self.world.state(location, member)

    @property
    def steps(self) -> int:
        """How many steps have run."""
        return self.instance.steps_run

    @property
    def decisions(self) -> list[int]:
        """The answers given so far (what ``token`` encodes)."""
        return list(self._chooser.values)

    @property
    def token(self) -> str:
        """A replay token for the execution so far (``sim.session(token=...)`` re-runs it)."""
        return encode_token(list(self._chooser.values), self.plan.fingerprint)

    def trace(self) -> str:
        """The trace of the execution so far."""
        return self.instance.trace.render()
