"""Operators that hand their input to the next tick: the only way data crosses ticks, which is why
their edges are not intra-tick edges in the tick engine's plan."""

from __future__ import annotations

from typing import Any

from ...ir.node import Node
from .base import ABSENT, Op, RuntimeContext, op


@op("defer_tick", "cycle", "cycle_with_initial")
class Deferred(Op):
    """Emits what its deferred input produced in the previous tick.

    The runtime feeds the deferred input through ``capture`` after the tick's other nodes ran.
    ``cycle`` reports work only when its contents changed since last tick (a fixpoint test), so
    a stable cycle does not keep an idle location ticking; ``defer_tick`` reports any data.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.scalar = node.kind in ("singleton", "optional", "keyed_singleton")
        self.next: Any = ABSENT if self.scalar else []
        self.emitted: Any = ABSENT if self.scalar else []

    def run(self, ins: list[Any]) -> Any:
        if self.node.op == "cycle_with_initial" and self.first:
            if self.scalar:
                self.value = ins[0].value
                return None
            # The initial contents count as what the cycle emitted: if the next tick would
            # carry the same, the cycle has not changed and is no reason to tick again.
            self.emitted = ins[0]
            return ins[0]
        if self.scalar:
            self.value = self.next
            return None
        out, self.emitted = self.next, self.next
        self.next = []
        return out

    def capture(self, data: Any) -> None:
        if self.scalar:
            self.next = data.value
        else:
            self.next = list(data)

    def has_work(self) -> bool:
        if self.scalar:
            return False
        if self.node.op == "defer_tick":
            return bool(self.next)
        return bool(self.next) and _multiset_key(self.next) != _multiset_key(self.emitted)


def _multiset_key(xs: list[Any]) -> Any:
    try:
        return sorted(map(repr, xs))
    except Exception:  # pragma: no cover - repr failing is the user's bug, not a reason to spin
        return id(xs)
