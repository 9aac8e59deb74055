"""Channel configurations: what a network edge promises when peers fail.

``Channel.fail_stop()`` (the default) delivers an in-order prefix of what was sent: a failed peer
looks like a slow one, so nothing about it is nondeterministic. ``Channel.lossy(nondet)`` may
drop any message and keep going (a reconnecting peer resumes); which messages are lost is a
nondet site the simulator explores. ``Channel.lossy_delayed_forever()`` models a lost message as
one delayed forever: the received stream is ``NoOrder`` (so no consumer can tell a gap from a
delay) and the type itself carries the weakness, so no token is needed.

The type parameters are what the channel can still promise: the order (the received stream's
order is the weaker of it and the sent stream's) and the consistency of what
``broadcast_closed`` delivers (every member gets every element unless the channel is lossy).
"""

from __future__ import annotations

from typing import Any, Generic

from typing_extensions import TypeVar

from ..types.errors import UsageError
from ..types.markers import EventualConsistency, NoConsistency, NoOrder, TotalOrder
from ..types.nondet import NonDet
from ..types.site import caller_site
from .collection import check_nondet

__all__ = ["Channel", "FAIL_STOP"]

CO = TypeVar("CO", bound=NoOrder, covariant=True, default=TotalOrder)
CC = TypeVar("CC", bound=NoConsistency, covariant=True, default=EventualConsistency)


class Channel(Generic[CO, CC]):
    """A network edge's fault semantics. Make one with the static constructors."""

    __slots__ = ("kind", "nondet", "order")

    def __init__(self, kind: str, order: type[NoOrder], token: NonDet | None) -> None:
        if kind not in ("fail_stop", "lossy", "lossy_delayed_forever"):
            raise UsageError("HL501", f"unknown channel kind {kind!r}", site=caller_site())
        self.kind = kind
        self.order = order
        self.nondet = token

    @staticmethod
    def fail_stop() -> Channel[TotalOrder, EventualConsistency]:
        """In-order prefix delivery; after a failure nothing more (the default)."""
        return Channel("fail_stop", TotalOrder, None)

    @staticmethod
    def lossy(nondet: NonDet) -> Channel[TotalOrder, NoConsistency]:
        """Any message may be dropped (order of the rest is kept); a nondet site."""
        return Channel("lossy", TotalOrder, check_nondet(nondet, "Channel.lossy"))

    @staticmethod
    def lossy_delayed_forever() -> Channel[NoOrder, EventualConsistency]:
        """A lost message counts as delayed forever; the received stream is NoOrder."""
        return Channel("lossy_delayed_forever", NoOrder, None)

    def __repr__(self) -> str:
        return f"Channel.{self.kind}()"


FAIL_STOP: Channel[TotalOrder, EventualConsistency] = Channel.fail_stop()


def check_channel(channel: object, op: str) -> Channel[Any, Any]:
    if not isinstance(channel, Channel):
        raise UsageError(
            "HL501",
            f"`{op}`: channel= must be a Channel (Channel.fail_stop(), Channel.lossy(nondet(...)), "
            f"Channel.lossy_delayed_forever()), got {type(channel).__name__}",
            site=caller_site(),
        )
    return channel  # pyright: ignore[reportUnknownVariableType]
