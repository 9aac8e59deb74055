"""Single-client ports: one External client at a time, requests as a plain ordered stream.

``loc.bind_single_client(client, name=..., of=..., codec=...)`` is a two-way port that accepts
one connection at a time (another one is refused with an error reply while it is connected).
Its requests need no client key, so they are a ``Stream`` in arrival order, and its responses
are a ``Stream`` too: ``port.complete(responses)`` sends each, in order, to the connected client.

It is a many-client port (``lang/bidi.py``) limited to one client: the requests are that port's
values, and the responses are keyed by ``SOLE_CLIENT``, which the port routes to whichever
client is connected (responses produced while none is are dropped, as for a client that left).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Iterable

from typing_extensions import TypeVar

from ..types.markers import ExactlyOnce, TotalOrder
from ._access import node_of
from ._typevars import T2
from .bidi import BidiClient, ClientId, ExternalBidi
from .collection import Live, check_output_contract
from .io import current_driver

if TYPE_CHECKING:
    from .location import TopLevel
    from .stream import Stream

__all__ = ["SOLE_CLIENT", "SingleClientPort", "SingleClient"]

SOLE_CLIENT = ClientId(-1)
"""The key of a single-client port's responses: the port sends them to its one connection."""

LS = TypeVar("LS", bound="TopLevel")


def _to_sole(value: Any) -> tuple[ClientId, Any]:
    return SOLE_CLIENT, value


class SingleClientPort(Generic[LS]):
    """The handle of a single-client port: ``complete`` its responses while building."""

    def __init__(self, bidi: ExternalBidi[Any]) -> None:
        self._bidi = bidi

    @property
    def name(self) -> str:
        return self._bidi.name

    def complete(self, responses: Stream[Any, LS, Any, TotalOrder, ExactlyOnce]) -> None:
        """Send each response, in order, to the connected client. ``responses`` must be a
        top-level ``TotalOrder``, ``ExactlyOnce`` stream at the port's location (HL110 otherwise,
        naming the operator that lost the guarantee)."""
        live: Any = responses
        raw: object = responses
        if isinstance(raw, Live) and node_of(raw).kind == "stream":  # pyright: ignore[reportUnnecessaryIsInstance]  (checked before keying it)
            check_output_contract(raw, "complete", self.name, True, True)
        self._bidi.complete(live.map(_to_sole).into_keyed())

    def client(self) -> SingleClient[Any]:
        """The test client of this port (in-process runs and the simulator)."""
        return SingleClient(self._bidi, SOLE_CLIENT)


class SingleClient(BidiClient[T2]):
    """The one client of a single-client port, driven by a test."""

    def send(self, value: Any) -> None:
        current_driver().input_send(node_of(self.port), [(ClientId(0), value)], None, False)

    def send_many(self, values: Iterable[Any]) -> None:
        current_driver().input_send(node_of(self.port), [(ClientId(0), v) for v in values], None, False)
