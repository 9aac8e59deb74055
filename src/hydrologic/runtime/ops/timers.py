"""Operators driven by the clock: ``timeout`` (no element for a while) and ``spin``.

Neither reads a clock itself. ``timeout`` is told the time by the timer the builder gives it (a
``source_interval`` node, its second input), so in-process runs and the simulator, whose clocks
are virtual (``advance_time``), treat it exactly like a deployment.
"""

from __future__ import annotations

from typing import Any, Iterable

from ...ir.node import Node
from .base import ABSENT, Inbox, Op, RuntimeContext, op

__all__ = ["Spin", "Timeout", "first_fire", "spin_ops"]


@op("timeout")
class Timeout(Op):
    """``None`` (present) while the newest element arrived at least ``seconds`` ago, else absent.

    Time is known only at timer events (every ``period``): an element is taken to arrive at
    the newest event seen with it, so a timeout is never reported early, and is reported at
    most two periods late. Before the first element nothing has timed out (as in Hydro).
    """

    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.seconds: float = node.params["seconds"]
        self.period: float = node.params["period"]
        self.now = 0.0
        self.last: float | None = None

    def run(self, ins: list[Any]) -> None:
        arrivals, fires = ins
        if fires:
            self.now = max(self.now, max(fires))
        if arrivals:
            self.last = self.now
        last = self.last
        # the element arrived before ``last + period`` (no later event had been seen)
        self.value = None if last is not None and last + self.period <= self.now - self.seconds else ABSENT


@op("spin")
class Spin(Inbox):
    """One ``None`` per run. ``continuous`` (set by a deployed location) keeps the location
    always having work, so it ticks as fast as it can; elsewhere it emits once per tick that
    runs for another reason, so in-process runs and simulations still end."""

    continuous = False
    # Set by the simulator for a top-level pass that only follows a tick (no new arrival): a spin
    # there would feed the tick that caused the pass, and ``spin().batch(tick)`` would never settle.
    quiet = False

    def run(self, ins: list[Any]) -> list[Any]:
        if self.continuous:
            self.pending = [None]
        return [] if self.quiet else [None]


def spin_ops(ops: Iterable[Op]) -> list[Spin]:
    return [o for o in ops if isinstance(o, Spin)]


def first_fire(node: Node) -> float:
    """When a ``source_interval`` timer first fires: its delay (``source_interval_delayed``) or
    else one period; it fires every period after that. Every driver's clock asks this."""
    return float(node.params.get("delay", node.params["seconds"]))
