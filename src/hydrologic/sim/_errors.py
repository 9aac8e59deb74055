"""What the simulator raises, and the control-flow signals its engines catch.

``SimulationFailure`` is the user-facing error: an ``AssertionError`` (so pytest reports it like any
failed assertion) whose message *is* the execution trace, ending with the replay token. The other
classes are internal signals that end one simulated execution early; they derive from
``BaseException`` so that a scenario's own ``except Exception`` cannot swallow them by accident.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..types.errors import HydroRuntimeError

__all__ = [
    "SimulationFailure",
    "FalseClaimError",
    "InvariantViolation",
    "StaleTokenError",
    "StaleReproducerError",
    "ExplorationLimitError",
    "InstanceEnded",
    "RedundantExecution",
    "ProofViolation",
]


class SimulationFailure(AssertionError):
    """A scenario failed under some sequence of nondeterministic decisions.

    ``str(err)`` is the full trace. ``err.token`` replays exactly this execution with
    ``sim.replay(scenario, err.token)``; ``err.original`` is the exception the scenario (or a user
    function in the program) raised.
    """

    def __init__(
        self,
        message: str,
        *,
        token: str,
        original: BaseException,
        decisions: int,
        values: list[int] | None = None,
        how: str = "",
    ) -> None:
        super().__init__(message)
        self.token = token
        self.original = original
        self.decisions = decisions
        self.values: list[int] = list(values or [])
        self.how = how
        # the reproducer file this failure was saved to (``sim-failures/``), if any
        self.reproducer: Path | None = None


class InvariantViolation(SimulationFailure):
    """An invariant registered with ``sim.invariant`` failed after some step of an execution.

    Besides the trace and the replay token: ``invariant`` (its name), ``step`` (how many steps
    had run when it failed) and ``decision_log`` (one line per decision that led there, each
    naming its nondet site and reason)."""

    def __init__(self, message: str, *, invariant: str, step: int, decision_log: list[str], **kw: Any) -> None:
        super().__init__(message, **kw)
        self.invariant = invariant
        self.step = step
        self.decision_log = decision_log


class StaleTokenError(HydroRuntimeError):
    """A replay token does not fit this program or scenario (they changed since it was made)."""


class FalseClaimError(SimulationFailure):
    """HL610: a ``commutative=``/``idempotent=`` proof claim is false; Hypothesis found (and shrank)
    an input on which the aggregation breaks it. ``inputs`` are the two inputs, ``results`` what
    each gave. Raised before exploring, so it carries no replay token."""

    code = "HL610"

    def __init__(
        self, message: str, *, node: Any, prop: str, inputs: tuple[list[Any], list[Any]], results: tuple[Any, Any]
    ) -> None:
        super().__init__(message, token="", original=AssertionError(message), decisions=0)
        self.node = node
        self.prop = prop
        self.inputs = inputs
        self.results = results


class StaleReproducerError(StaleTokenError):
    """A reproducer file does not fit this program or scenario; the message names what changed."""


class ExplorationLimitError(HydroRuntimeError):
    """Exhaustive exploration hit ``max_executions`` before covering every execution."""


class InstanceEnded(BaseException):
    """An absence check ran the program to quiescence; this execution stops here (not a failure).

    Later steps of the scenario are explored by the sibling execution that skipped the check.
    """


class RedundantExecution(BaseException):
    """Every way to continue this execution is covered by another one (a sleep-set prune)."""


class ProofViolation(HydroRuntimeError):
    """A ``proof(...)`` claim turned out false in a simulated execution (e.g. a fold claimed
    commutative gave a different result for another order of the same input)."""
