"""Sampling and timeouts, built from the timer (``source_interval``), ``batch`` and ``snapshot``.

Every nondeterminism of these operators is that of the pieces they are made of, each carrying
the caller's ``nondet`` token: when the timer fires (in-process and in the simulator, when the
test calls ``advance_time``), which elements a tick's batch sees and which version a snapshot
sees. So they need no simulator support of their own, and ``nondet_sites()`` lists the pieces.
"""

from __future__ import annotations

from typing import Any

from ..ir.node import LocationInfo, Node
from ..types.errors import UsageError
from ..types.markers import AtLeastOnce, Unbounded
from ..types.nondet import NonDet
from ..types.site import caller_site
from ._access import flow_of
from .collection import Live, check_nondet
from .location import Cluster, Process, TopLevel, new_source

__all__ = ["check_seconds", "location_of", "sample_eager", "sample_every", "timeout", "timer"]

TIMEOUT_CHECKS = 4
"""``timeout(seconds)`` learns the time from a timer firing ``TIMEOUT_CHECKS`` times per ``seconds``."""


def check_seconds(seconds: object, method: str, arg: str = "seconds", *, zero: bool = False) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0 or (seconds == 0 and not zero):
        raise UsageError(
            "HL501",
            f"`{method}` needs a {'non-negative' if zero else 'positive'} number of seconds for `{arg}`, got {seconds!r}",
            site=caller_site(),
        )
    return float(seconds)


def location_of(coll: Live, method: str) -> TopLevel:
    """The process or cluster of a top-level collection (HL107 inside a tick)."""
    coll._need_top_level(method)  # pyright: ignore[reportPrivateUsage]
    node: Node = coll._node  # pyright: ignore[reportPrivateUsage]
    info = node.scope
    assert isinstance(info, LocationInfo)
    flow = flow_of(coll)
    loc: TopLevel = Cluster[Any](flow, info) if info.is_cluster else Process[Any](flow, info)
    return loc


def timer(loc: TopLevel, seconds: float, token: NonDet, method: str, delay: float | None = None) -> Any:
    params: dict[str, Any] = {"seconds": seconds, "method": method}
    if delay is not None:
        params["delay"] = delay
    return new_source(loc, "source_interval", "stream", bound=Unbounded, params=params, nondet=token)


def sample_every(coll: Any, seconds: object, nondet: object) -> Any:
    """Stream: the elements that arrive in a tick where the timer fired (the others are not
    sampled). Singleton/Optional: the value as of each tick where the timer fired."""
    token = check_nondet(nondet, "sample_every")
    period = check_seconds(seconds, "sample_every")
    loc = location_of(coll, "sample_every")
    tick = loc.tick()
    fired = timer(loc, period, token, "sample_every").batch(tick, token).first()
    if coll._node.kind == "stream":
        sampled = coll.batch(tick, token).cross_singleton(fired).map(_first)
    else:
        sampled = coll.snapshot(tick, token).zip(fired).map(_first).into_stream()
    return _may_repeat(sampled.all_ticks(), "sample_every")


def sample_eager(coll: Any, nondet: object) -> Any:
    """The value as of each tick of a tick made for it: one sample per run of the location."""
    token = check_nondet(nondet, "sample_eager")
    loc = location_of(coll, "sample_eager")
    return _may_repeat(coll.snapshot(loc.tick(), token).into_stream().all_ticks(), "sample_eager")


def timeout(coll: Any, seconds: object, nondet: object) -> Any:
    token = check_nondet(nondet, "timeout")
    limit = check_seconds(seconds, "timeout")
    loc = location_of(coll, "timeout")
    period = limit / TIMEOUT_CHECKS
    clock = timer(loc, period, token, "timeout")
    return coll._derive(
        "timeout", inputs=[coll, clock], kind="optional", bound=Unbounded, params={"seconds": limit, "period": period}
    )


def _may_repeat(stream: Any, method: str) -> Any:
    """AtLeastOnce, with ``method`` named as where the weaker guarantee came from (HL102's origin)."""
    return stream._derive("cast", retries=AtLeastOnce, params={"method": method})


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]
