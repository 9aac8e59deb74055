"""Async user functions in the simulator: deterministic, with completion order as a decision.

A simulated execution must be a function of its decisions, so nothing here depends on real
timing. Each awaitable runs to completion as soon as its operator starts it (one after the
other, in start order, on the background loop of ``runtime/ops/asyncs.py``), and its result
waits in a pool of in-flight futures. The operator then receives one completion per top-level
pass: for ``resolve_futures`` (NoOrder) the decider chooses which in-flight future completes
next, so every completion order is explored; for ``resolve_futures_ordered`` the order cannot
be observed (results leave in input order) and the oldest completes first, with no decision.
When a completion becomes visible to a tick is decided, as for any input, by the tick's
``batch``/``snapshot``.

``source_stream`` yields one item per pass and ``dest_sink`` and ``resolve_futures_blocking``
await their calls in order: deterministic, so no decision.
"""

from __future__ import annotations

from typing import Any, Awaitable

from ..runtime.ops.asyncs import AsyncHost, Completion, ResolveFutures, run_on_background_loop
from ._hooks import Choose, Note
from ._trace import show_value

__all__ = ["SimAsyncHost"]


async def _one(aw: Awaitable[Any]) -> tuple[bool, Any]:
    try:
        return True, await aw
    except Exception as e:
        return False, e


async def _in_order(aws: list[Awaitable[Any]]) -> list[tuple[bool, Any]]:
    return [await _one(aw) for aw in aws]


class SimAsyncHost(AsyncHost):
    """The async host of one simulated location instance."""

    def __init__(self, choose: Choose, note: Note) -> None:
        self.choose = choose
        self.note = note
        self.in_flight: dict[int, list[Completion]] = {}

    def step(self, op: ResolveFutures, started: list[tuple[int, Awaitable[Any]]]) -> None:
        pool = self.in_flight.setdefault(op.node.id, [])
        if started:
            for (seq, _), (ok, value) in zip(started, run_on_background_loop(_in_order([aw for _, aw in started]))):
                pool.append((seq, ok, value))
        if op.pending or not pool:
            return
        n = len(pool)
        i = 0 if op.ordered or n == 1 else self.choose(n)
        seq, ok, value = pool.pop(i)
        if not op.ordered and n > 1:
            shown = show_value(value) if ok else f"raises {type(value).__name__}"
            self.note(op.node, f"call #{seq} completes first of the {n} in flight: {shown}")
        op.pending.append((seq, ok, value))

    def block(self, aws: list[Awaitable[Any]], limit: int) -> list[tuple[bool, Any]]:
        return run_on_background_loop(_in_order(aws))
