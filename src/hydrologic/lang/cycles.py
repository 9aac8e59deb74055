"""Handles that close cycles: ``ForwardRef`` (top level or same tick) and ``TickCycle`` (next tick).

A handle is completed exactly once, with a collection of the declared kind at the declared
location and at least the declared guarantees; the builder refuses to build while any
handle is open (HL401), because an open cycle silently produces nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic

from ..ir.node import Node
from ..types.errors import CycleError, GuaranteeError
from ..types.markers import ExactlyOnce, TotalOrder, Unbounded
from ..types.site import Site, caller_site
from ._access import node_of, open_handles
from ._typevars import C
from .collection import Live, missing_guarantee, weakness_of

if TYPE_CHECKING:
    from .builder import GraphBuilder

__all__ = ["ForwardRef", "TickCycle"]

# The origin line of a cycle completed with a stream whose source declared the weak guarantee.
_DECLARED = "is declared by the source"


class CycleHandle(Generic[C]):
    """Base of the handles that complete a collection later: ``ForwardRef``, ``TickCycle`` and
    the response side of bidi ports (``ExternalBidi``). Internal to lang; users hold the subclasses.

    A handle is open (listed in its builder's open handles) from creation until completed.
    """

    _op_name = "complete"

    def __init__(self, flow: GraphBuilder, node: Node, kind: str, order: Any, retries: Any) -> None:
        self._flow = flow
        self._node = node
        self._kind = kind
        self._order = order
        self._retries = retries
        self.completed_at: Site | None = None
        open_handles(flow).append(self)

    def _close(self, site: Site) -> None:
        """Completed at ``site``: no longer open."""
        self.completed_at = site
        open_handles(self._flow).remove(self)

    def _complete(self, value: object) -> None:
        site = caller_site()
        node = self._node
        if self.completed_at is not None:
            raise CycleError(
                "HL403",
                f"this {node.op} (declared at {node.site}) was already completed at {self.completed_at}",
                site=site,
            )
        if not isinstance(value, Live):
            raise CycleError("HL403", f"`{self._op_name}` expects a live collection, got {type(value).__name__}", site=site)
        v = node_of(value)
        if v.kind != self._kind:
            raise CycleError(
                "HL403",
                f"{node.op} declared at {node.site} holds a {self._kind}, but was completed with a {v.kind}",
                site=site,
            )
        if v.scope is not node.scope:
            raise CycleError(
                "HL403",
                f"{node.op} declared at {node.site} lives at {node.scope}, but was completed at {v.scope}",
                site=site,
            )
        self._need(
            "order", self._order, TotalOrder, v, site,
            f"Declare the cycle unordered ({node.op}(T, NoOrder)) or complete it with an ordered stream.",
        )
        self._need(
            "retries", self._retries, ExactlyOnce, v, site,
            "Declare the cycle with retries=AtLeastOnce or deduplicate with .unique() before completing it.",
        )
        if node.bound is not Unbounded and v.bound is Unbounded:  # pragma: no cover - scopes match, so bounds do
            raise GuaranteeError("HL105", "cycle completed with an unbounded collection", site=site)
        node.inputs.append(v)
        self._close(site)

    def _need(self, axis: str, declared: Any, strong: type[Any], v: Node, site: Site, fix: str) -> None:
        """HL101/HL102: a cycle declared ``strong`` on ``axis`` must be completed with a ``strong`` stream."""
        if declared is strong and getattr(v, axis) is not strong:
            node = self._node
            raise missing_guarantee(
                axis,
                v,
                f"{node.op} declared at {node.site} is {strong.__name__}, but was completed with "
                f"{weakness_of(axis)} stream",
                site=site,
                present=v.type_str(),
                declared=_DECLARED,
                fix=fix,
            )

    def describe(self) -> str:
        return f"{self._node.op} declared at {self._node.site}"




class ForwardRef(CycleHandle[C]):
    """Completes a forward reference in the same tick (or at the top level)."""

    def complete(self, value: C) -> None:
        self._complete(value)


class TickCycle(CycleHandle[C]):
    """Completes a tick cycle: the value becomes visible in the next tick."""

    _op_name = "complete_next_tick"

    def complete_next_tick(self, value: C) -> None:
        self._complete(value)
