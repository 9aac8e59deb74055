"""Internal accessors: the one place where language objects' private state is read from outside.

Why this module exists. The objects users hold (``Stream``, ``Process``, ``Tick``, ``ForwardRef``,
``SimInput``, ...) keep their state in ``_``-prefixed attributes, so that autocompletion and
``help()`` show users the API and nothing else. The rest of the package still needs that state:
an operator needs its input's graph node, ``batch`` needs the ``TickInfo`` of the tick it is given,
a handle must leave its builder's list of open handles when completed, the in-process runner
needs the node behind a ``SimOutput``. Reaching into ``obj._node`` at each of those places needs a
private-usage suppression for the type checker at every use, and hides which state really crosses
a class boundary.

So every such read goes through a function here, named for what it gives (``node_of(stream)``,
``info_of(tick)``, ...). Each function is the only place its private attribute is read outside the
owning class, which is why the suppressions left in ``lang`` are on these few lines, one per
attribute, and nowhere else. Adding public-looking attributes to the user-facing classes instead
would put internals into every user's autocompletion.

Nothing here is public API: ``hydrologic`` and ``hydrologic.lang`` do not export it, and it may
change with the classes it reads. The last group wraps ``GraphBuilder`` bookkeeping that
``builder.py`` keeps private; those wrappers lose their suppressions once the builder offers
internal accessors of its own.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from ..ir.node import LocationInfo, Node, TickInfo
    from .bidi import ExternalBidi
    from .builder import GraphBuilder
    from .collection import Live
    from .cycles import CycleHandle
    from .io import SimInput, SimOutput
    from .location import External, Location, Tick, TopLevel

__all__ = ["node_of", "flow_of", "info_of", "membership_of", "reply_queues_of", "add_node", "register_port", "open_handles"]


# ---- collections, handles, ports and locations --------------------------------------------


def node_of(obj: Live | CycleHandle[Any] | SimInput[Any] | SimOutput[Any]) -> Node:
    """The graph node behind a live collection, a cycle handle / bidi port, or a test port."""
    return obj._node  # pyright: ignore[reportPrivateUsage]


def flow_of(obj: Live | Location) -> GraphBuilder:
    """The builder a live collection or a location belongs to."""
    return obj._flow  # pyright: ignore[reportPrivateUsage]


@overload
def info_of(loc: Tick[Any]) -> TickInfo: ...
@overload
def info_of(loc: TopLevel | External[Any]) -> LocationInfo: ...
def info_of(loc: Tick[Any] | TopLevel | External[Any]) -> TickInfo | LocationInfo:
    """The graph-level identity of a location: its ``LocationInfo``, or a tick's ``TickInfo``."""
    return loc._info  # pyright: ignore[reportPrivateUsage]


def membership_of(port: ExternalBidi[Any]) -> Any:
    """The ``membership()`` stream of a bidi port, or None if the program never asked for it."""
    return port._membership  # pyright: ignore[reportPrivateUsage]


def reply_queues_of(port: ExternalBidi[Any]) -> dict[int, collections.deque[Any]]:
    """Replies of a bidi port read under the running driver but not yet taken, per client id."""
    return port._queues()  # pyright: ignore[reportPrivateUsage]


# ---- FlowBuilder bookkeeping (builder.py keeps these private) ------------------------------


def add_node(flow: GraphBuilder, node: Node) -> None:
    """Append a node to the flow's graph (HL502 once the flow is built)."""
    flow._add_node(node)  # pyright: ignore[reportPrivateUsage]


def register_port(flow: GraphBuilder, name: str) -> None:
    """Claim an External port name (HL501 if empty or taken)."""
    flow._register_port(name)  # pyright: ignore[reportPrivateUsage]


def open_handles(flow: GraphBuilder) -> list[CycleHandle[Any]]:
    """The flow's handles not completed yet; ``build()`` refuses to build while any is open (HL401)."""
    return flow._pending_cycles  # pyright: ignore[reportPrivateUsage]
