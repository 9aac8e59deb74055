"""Which member of a network edge's target receives which elements (SPEC §6).

One function serves every driver (in-process, simulator, deployment) so that ``send``,
``broadcast``, ``demux`` and ``round_robin`` mean the same thing everywhere. Tagging elements
from a cluster with the sender's ``MemberId`` is the caller's business (the in-process driver and
the simulator tag when sending, a deployment when receiving).
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

from ..lang.location import MemberId

__all__ = ["route", "is_member_pair", "bad_demux_message"]


def is_member_pair(x: object) -> bool:
    return isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], MemberId)  # pyright: ignore[reportUnknownArgumentType]


def route(
    mode: str,
    n_targets: int,
    items: list[Any],
    rr_state: dict[Hashable, int],
    rr_key: Hashable,
    on_bad: Callable[[Any], None],
) -> list[tuple[int, list[Any]]]:
    """``[(member index, elements for it), ...]``; index 0 is the only instance of a process.

    ``round_robin`` continues where this sender left off (``rr_state[rr_key]``), so element k of
    the whole stream goes to member ``k mod n`` whatever the batching. ``demux`` calls ``on_bad``
    for an element that is not a ``(MemberId, value)`` pair naming an existing member.
    """
    if mode == "send":
        return [(0, items)] if items else []
    if mode == "broadcast":
        return [(m, items) for m in range(n_targets)] if items else []
    if mode == "round_robin":
        start = rr_state.get(rr_key, 0)
        out = [((start + k) % n_targets, items[k::n_targets]) for k in range(min(n_targets, len(items)))]
        rr_state[rr_key] = (start + len(items)) % n_targets
        return out
    if mode == "demux":
        per: dict[int, list[Any]] = {}
        for pair in items:
            if is_member_pair(pair) and 0 <= pair[0].raw_id < n_targets:
                per.setdefault(pair[0].raw_id, []).append(pair[1])
            else:
                on_bad(pair)
        return list(per.items())
    raise ValueError(f"unknown network mode {mode!r}")


def bad_demux_message(pair: Any, n_targets: int, target: object, site: object) -> str:
    """The same explanation of a bad demux element in every driver."""
    if is_member_pair(pair):
        return f"`demux` built at {site} addressed {pair[0]}, but {target} has {n_targets} member(s)"
    return f"`demux` built at {site} needs (MemberId, value) pairs, got {pair!r:.80}"
