"""Which member of a network edge's target receives which elements.

One function serves every driver (in-process, simulator, deployment) so that ``send``,
``broadcast``, ``demux`` and ``round_robin`` mean the same thing everywhere. ``route_network`` is
what a driver's egress calls with a ``network`` node's output; each driver then delivers the
routed elements its own way (into an inbox, a simulated channel, or a socket's send buffer).
Elements from a cluster are tagged with the sender's ``MemberId`` when they are sent (in-process
driver, simulator) or when they are received (a deployment, which knows the sender from the
connection), hence ``tag_sender``.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

from ..ir.node import LocationInfo, Node
from ..lang.location import MemberId
from ..types.errors import HydroRuntimeError

__all__ = ["route", "route_network", "is_member_pair", "bad_demux_message"]


def is_member_pair(x: object) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], MemberId)  # pyright: ignore[reportUnknownArgumentType]


def route(
    mode: str,
    n_targets: int,
    items: list[Any],
    rr_state: dict[Hashable, int],
    rr_key: Hashable,
    on_bad: Callable[[Any], None],
    members: Sequence[int] | None = None,
) -> list[tuple[int, list[Any]]]:
    """``[(member index, elements for it), ...]``; index 0 is the only instance of a process.

    ``members`` is the target cluster's current membership, ascending (None: all ``n_targets``):
    ``broadcast`` and ``round_robin`` go to those members only, so a member that joined while
    the program runs gets what is sent after it joined, and one that left gets nothing more.
    ``round_robin`` continues where this sender left off (``rr_state[rr_key]``), so with a
    steady membership element k of the whole stream goes to the ``k mod n``-th member whatever
    the batching; with no member at all its elements have nowhere to go and are dropped.
    ``demux`` calls ``on_bad`` for an element that is not a ``(MemberId, value)`` pair naming a
    member id below ``n_targets``.
    """
    if mode == "send":
        return [(0, items)] if items else []
    live: Sequence[int] = range(n_targets) if members is None else members
    if mode == "broadcast":
        return [(m, items) for m in live] if items else []
    if mode == "round_robin":
        n = len(live)
        if not n:
            return []
        start = rr_state.get(rr_key, 0) % n
        out = [(live[(start + k) % n], items[k::n]) for k in range(min(n, len(items)))]
        rr_state[rr_key] = (start + len(items)) % n
        return out
    if mode == "demux":
        return _demux(items, n_targets, on_bad)
    raise ValueError(f"unknown network mode {mode!r}")


def _demux(
    items: list[Any], n_targets: int, on_bad: Callable[[Any], None], T: Any = tuple, M: Any = MemberId
) -> list[tuple[int, list[Any]]]:
    """``demux``'s grouping, per element: the usual element, a 2-tuple whose first item is
    exactly a ``MemberId`` (``T``, ``M``: bound as locals), is recognised by class identity;
    ``is_member_pair``'s isinstance calls judge anything else (subclasses included). Measured on
    4,096 pairs to 2 members: 118 ns per element with ``is_member_pair`` for every element and
    ``setdefault``, 70 ns this way."""
    per: dict[int, list[Any]] = {}
    for pair in items:
        if pair.__class__ is T and len(pair) == 2:
            m, v = pair
            if m.__class__ is M:
                i = m.raw_id
                if 0 <= i < n_targets:
                    try:
                        per[i].append(v)
                    except KeyError:
                        per[i] = [v]
                    continue
        if is_member_pair(pair) and 0 <= pair[0].raw_id < n_targets:
            i = pair[0].raw_id
            try:
                per[i].append(pair[1])
            except KeyError:
                per[i] = [pair[1]]
        else:
            on_bad(pair)
    return list(per.items())


def bad_demux_message(pair: Any, n_targets: int, target: object, site: object) -> str:
    """The same explanation of a bad demux element in every driver."""
    if is_member_pair(pair):
        return f"`demux` built at {site} addressed {pair[0]}, but {target} has {n_targets} member(s)"
    return f"`demux` built at {site} needs (MemberId, value) pairs, got {pair!r:.80}"


def route_network(
    net: Node,
    n_targets: int,
    items: list[Any],
    rr_state: dict[Hashable, int],
    rr_key: Hashable,
    *,
    sender: int | None = None,
    tag_sender: bool = True,
    on_bad: Callable[[str], None] | None = None,
    members: Sequence[int] | None = None,
) -> list[tuple[int, list[Any]]]:
    """Route what ``network`` node ``net`` sends by its ``mode`` param (see ``route``).

    With ``tag_sender``, elements sent from a cluster become ``(MemberId(sender), x)`` pairs. A
    bad ``demux`` element raises ``HydroRuntimeError``, or, given ``on_bad``, is dropped after
    ``on_bad`` receives the explanation (``bad_demux_message``). ``members``: see ``route``.
    """
    target: LocationInfo = net.params["to"]

    def bad(pair: Any) -> None:
        msg = bad_demux_message(pair, n_targets, target, net.site)
        if on_bad is None:
            raise HydroRuntimeError(msg)
        on_bad(msg)

    routed = route(net.params["mode"], n_targets, items, rr_state, rr_key, bad, members)
    frm: LocationInfo = net.params["from"]
    if tag_sender and frm.is_cluster:
        sid: MemberId[Any] = MemberId.of_cluster(sender if sender is not None else 0, frm.id)
        return [(i, [(sid, x) for x in batch]) for i, batch in routed]
    return routed
