"""Bidirectional, multi-client External ports (Hydro's ``bidi_external_many_*``).

``loc.source_external_bidi(client, name=..., of=..., codec=...)`` returns the requests of every
connected client as a ``KeyedStream[ClientId, T, L, Unbounded, TotalOrder, ExactlyOnce]`` —
ordered per client (one connection is one FIFO byte stream), with no order across clients,
which is exactly what a keyed stream means — and an ``ExternalBidi[L]`` handle. The program
answers by completing the handle with a keyed stream of responses at the same location:

    reqs, port = server.source_external_bidi(client, name="kv", of=list, codec="resp")
    port.complete(replies)          # KeyedStream[ClientId, Reply, Process[Server], ...]

and each response is written to the connection of the client named by its key, in the order the
program produced it for that client.

Why a handle and not a ``KeyedStream.send_external_bidi`` method: the response stream is
usually computed *from* the requests, so the port must exist before the responses do; a
handle says "this port still needs its responses" and ``build()`` refuses a port left open
(HL401), like a forward reference (Hydro's ``ForwardHandle``). The handle is typed by the
port's location, so completing it with a stream of another location is a static error as well
as a build-time one (HL201).

Guarantees the responses need (checked statically and at build time, HL110): ``ordered=True``
(the default: a request/response protocol such as RESP pairs replies with requests by position,
so the responses must be ``TotalOrder`` per client) and ``delivery="exactly_once"`` (the
default: a duplicate reply would shift every later one). ``ordered=False`` /
``delivery="at_least_once"`` declare a client that tolerates the weaker stream.

Test side: ``port.client(n)`` is a client of the port under whatever driver runs the program
(``flow.run_in_process()`` or a simulator scenario): ``send``/``send_many`` requests as client
``n``, read its own replies with ``next``/``collect``/``assert_yields``/``assert_yields_only``.
"""

from __future__ import annotations

import collections
import enum
import weakref
from typing import TYPE_CHECKING, Any, Generic, Iterable, Literal, NewType, overload

from typing_extensions import TypeVar

from ..ir.node import AtomicInfo, LocationInfo, Node, TickInfo
from ..types.errors import CycleError, LocationError, UsageError
from ..types.markers import AtLeastOnce, ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ..types.site import caller_site
from ._access import flow_of, membership_of, node_of, reply_queues_of
from .collection import Live, check_output_contract, derive
from .cycles import CycleHandle
from .io import current_driver

if TYPE_CHECKING:
    from .builder import GraphBuilder
    from .keyed_stream import KeyedStream
    from .location import Location, TopLevel

__all__ = ["ClientId", "MembershipEvent", "ExternalBidi", "BidiClient"]

ClientId = NewType("ClientId", int)
"""The identity of one connection to a bidirectional External port (unique per port and run)."""


class MembershipEvent(str, enum.Enum):
    """A client connected to (``JOINED``) or disconnected from (``LEFT``) a bidi port."""

    JOINED = "joined"
    LEFT = "left"


LH = TypeVar("LH", bound="Location")  # invariant: a port's responses must be at exactly the port's location


class ExternalBidi(CycleHandle[Any], Generic[LH]):
    """The response side of a bidirectional External port at location ``LH``."""

    _op_name = "complete"

    def __init__(self, flow: GraphBuilder, source: Node, location: TopLevel) -> None:
        super().__init__(flow, source, "keyed_stream", TotalOrder, ExactlyOnce)
        self.name: str = source.params["name"]
        self._loc = location
        self.sink: Node | None = None
        self._membership: Any = None
        self._stash: weakref.WeakKeyDictionary[Any, dict[int, collections.deque[Any]]] = weakref.WeakKeyDictionary()

    def describe(self) -> str:
        return f"the responses of bidi port {self.name!r} (`source_external_bidi` at {self._node.site})"

    # ---- the program side --------------------------------------------------------------------

    @overload
    def complete(
        self,
        responses: KeyedStream[ClientId, Any, LH, Unbounded, TotalOrder, ExactlyOnce],
        *,
        ordered: bool = ...,  # TotalOrder responses may be declared either way
        delivery: Literal["exactly_once", "at_most_once"] = ...,
    ) -> None: ...
    @overload
    def complete(
        self,
        responses: KeyedStream[ClientId, Any, LH, Unbounded, TotalOrder, AtLeastOnce],
        *,
        ordered: bool = ...,  # TotalOrder responses may be declared either way
        delivery: Literal["at_least_once"],
    ) -> None: ...
    @overload
    def complete(
        self,
        responses: KeyedStream[ClientId, Any, LH, Unbounded, NoOrder, ExactlyOnce],
        *,
        ordered: Literal[False],
        delivery: Literal["exactly_once", "at_most_once"] = ...,
    ) -> None: ...
    @overload
    def complete(
        self,
        responses: KeyedStream[ClientId, Any, LH, Unbounded, NoOrder, AtLeastOnce],
        *,
        ordered: Literal[False],
        delivery: Literal["at_least_once"],
    ) -> None: ...
    def complete(self, responses: Any, *, ordered: bool = True, delivery: str = "exactly_once") -> None:
        """Route each ``(client, response)`` to that client's connection, in the order produced.

        ``responses`` must be a top-level ``KeyedStream`` keyed by this port's ``ClientId``s at the
        port's location; ``ordered``/``delivery`` are the contract its clients rely on (HL110).
        """
        site = caller_site()
        src = self._node
        if self.completed_at is not None:
            raise CycleError(
                "HL403", f"the responses of bidi port {self.name!r} were already completed at {self.completed_at}", site=site
            )
        if not isinstance(responses, Live) or node_of(responses).kind != "keyed_stream":
            got = node_of(responses).type_str() if isinstance(responses, Live) else type(responses).__name__
            raise CycleError(
                "HL403",
                f"bidi port {self.name!r} is completed with a KeyedStream of (ClientId, response), got {got}",
                site=site,
                fix="Key the responses by the client that asked: e.g. requests.map(handle) keeps the keys.",
            )
        if ordered not in (True, False) or delivery not in ("at_least_once", "at_most_once", "exactly_once"):
            raise UsageError(
                "HL501",
                f"`complete`: ordered must be a bool and delivery at_least_once, at_most_once or exactly_once, "
                f"got ordered={ordered!r}, delivery={delivery!r}",
                site=site,
            )
        live: Live = responses
        v = node_of(live)
        if flow_of(live) is not self._flow:
            raise LocationError("HL201", "`complete` with a collection of another FlowBuilder", site=site)
        loc: LocationInfo = src.root
        if v.scope is not loc:
            inside = isinstance(v.scope, (TickInfo, AtomicInfo)) and v.scope.outer is loc
            raise LocationError(
                "HL107" if inside else "HL201",
                f"bidi port {self.name!r} lives at {loc}, but its responses are "
                + (f"inside {v.scope}" if inside else f"at {v.scope}"),
                site=site,
                needed=f"a top-level KeyedStream at {loc}",
                present=f"{v.type_str()} (built by {v.describe()})",
                fix=(
                    "Leave the tick first (.all_ticks(), or .end_atomic() for an atomic section)."
                    if inside
                    else f"Answer at the port's location: send the responses to {loc} first (keyed by client)."
                ),
            )
        check_output_contract(live, "complete", self.name, bool(ordered), delivery != "at_least_once")
        sink: Any = derive(
            live,
            "send_external_bidi",
            kind="sink",
            params={
                "name": self.name,
                "external": src.params["external"],
                "codec": src.params["codec"],
                "source": src,
                "contract": {"ordered": bool(ordered), "delivery": delivery},
            },
            site=site,
        )
        self.sink = node_of(sink)
        self._close(site)

    def membership(self) -> KeyedStream[ClientId, MembershipEvent, LH, Unbounded, TotalOrder, ExactlyOnce]:
        """``(client, JOINED)`` when a client connects and ``(client, LEFT)`` when it goes away.

        Per client, ``JOINED`` comes before that client's first request and ``LEFT`` after its
        last; across clients there is no order. Calling it again returns the same stream.
        """
        if self._membership is None:
            from .location import new_source

            src = self._node
            self._membership = new_source(
                self._loc,
                "external_membership",
                "keyed_stream",
                bound=Unbounded,
                params={"name": self.name, "external": src.params["external"], "source": src},
            )
        out: KeyedStream[ClientId, MembershipEvent, LH, Unbounded, TotalOrder, ExactlyOnce] = self._membership
        return out

    # ---- the test side ------------------------------------------------------------------------

    def client(self, client: int) -> BidiClient[Any]:
        """A test client of this port with id ``client`` (in-process runs and the simulator)."""
        if not isinstance(client, int) or client < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"a client id is a non-negative int, got {client!r}", site=caller_site())
        return BidiClient(self, ClientId(client))

    def _queues(self) -> dict[int, collections.deque[Any]]:
        d = current_driver()
        q = self._stash.get(d)
        if q is None:
            q = self._stash[d] = collections.defaultdict(collections.deque)
        return q


T3 = TypeVar("T3")


class BidiClient(Generic[T3]):
    """One client of a bidi port, driven by a test (see ``ExternalBidi.client``)."""

    def __init__(self, port: ExternalBidi[Any], cid: ClientId) -> None:
        self.port = port
        self.id = cid

    def __repr__(self) -> str:
        return f"<client {self.id} of bidi port {self.port.name!r}>"

    def send(self, value: Any) -> None:
        current_driver().input_send(node_of(self.port), [(self.id, value)], None, False)

    def send_many(self, values: Iterable[Any]) -> None:
        cid = self.id
        current_driver().input_send(node_of(self.port), [(cid, v) for v in values], None, False)

    def connect(self) -> None:
        """Announce this client on the port's ``membership()`` stream (``JOINED``)."""
        self._member(MembershipEvent.JOINED)

    def disconnect(self) -> None:
        """Announce that this client left (``LEFT``); replies to it are then dropped by real ports."""
        self._member(MembershipEvent.LEFT)

    def _member(self, ev: MembershipEvent) -> None:
        m = membership_of(self.port)
        if m is None:
            raise UsageError("HL501", f"bidi port {self.port.name!r} has no membership() stream")
        current_driver().input_send(node_of(m), [(self.id, ev)], None, False)

    def next(self) -> Any:
        """This client's next response; ``AssertionError`` if none can come."""
        q = reply_queues_of(self.port)
        mine = q[self.id]
        node = self._replies()
        d = current_driver()
        while not mine:
            ok, pair = d.output_next(node)
            if not ok:
                raise AssertionError(
                    f"expected another response for client {self.id} of bidi port {self.port.name!r}, but none came"
                )
            q[pair[0]].append(pair[1])
        return mine.popleft()

    def collect(self) -> list[Any]:
        """This client's responses from now until the program is quiescent."""
        q = reply_queues_of(self.port)
        for cid, v in current_driver().output_drain(self._replies()):
            q[cid].append(v)
        out = list(q[self.id])
        q[self.id].clear()
        return out

    def _replies(self) -> Node:
        """The port's sink of responses, which ``complete`` made while building."""
        sink = self.port.sink
        if sink is None:
            raise UsageError(
                "HL501", f"bidi port {self.port.name!r} has no responses: call .complete(responses) while building"
            )
        return sink

    def assert_yields(self, expected: Iterable[Any]) -> None:
        """The next responses to this client are exactly ``expected`` (more may follow)."""
        exp = list(expected)
        got = [self.next() for _ in exp]
        if got != exp:
            raise AssertionError(f"client {self.id} of bidi port {self.port.name!r}: expected {exp!r}, got {got!r}")

    def assert_yields_only(self, expected: Iterable[Any]) -> None:
        """Every response to this client from now on is exactly ``expected``."""
        exp = list(expected)
        got = self.collect()
        if got != exp:
            raise AssertionError(f"client {self.id} of bidi port {self.port.name!r}: expected only {exp!r}, got {got!r}")

    def assert_no_more(self) -> None:
        self.assert_yields_only([])
