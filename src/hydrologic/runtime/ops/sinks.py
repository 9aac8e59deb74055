"""Where elements leave the graph: a user's side effects, or a buffer that the driver (not a
downstream operator) drains."""

from __future__ import annotations

from typing import Any

from ...ir.node import Node
from .base import Fn, Op, RuntimeContext, op


@op("for_each")
class ForEach(Fn):
    idle_noop = True
    lazy_inputs = (0,)

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        for x in ins[0]:
            f(x)
        return []


@op("sim_output", "send_external", "send_external_bidi")
class OutputSink(Op):
    """Collects what reaches an output; the driver drains ``buffer``."""
    idle_noop = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.buffer: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        if ins[0]:
            self.buffer.extend(ins[0])
        return []
