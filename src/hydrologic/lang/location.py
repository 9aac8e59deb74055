"""Locations: where live collections live (Process, Cluster, External) and their ticks.

Location classes are generic in an *invariant* tag (``Process[Leader]``), so collections of two
different processes never unify statically; at build time each location has its own identity
(``LocationInfo``), so two processes with the same tag are told apart too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Iterable, overload

from typing_extensions import Self, TypeVar

from ..ir.node import LocationInfo, Node, TickInfo
from ..types.errors import LocationError, UsageError
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ..types.nondet import NonDet
from ..types.site import caller_site
from .collection import check_codec, check_nondet, make_collection
from .cycles import ForwardRef, TickCycle, _Handle  # pyright: ignore[reportPrivateUsage]
from .io import SimInput
from .bidi import ClientId, ExternalBidi
from ._typevars import O2, OD, R2, RD, Tag, U

if TYPE_CHECKING:
    from .builder import FlowBuilder
    from .keyed_stream import KeyedStream as KeyedStream
    from .singleton import Optional, Singleton
    from .stream import Stream

__all__ = ["Location", "TopLevel", "Process", "Cluster", "External", "Tick", "Atomic", "MemberId"]

LT = TypeVar("LT", bound="TopLevel", covariant=True)
TagC = TypeVar("TagC")


class MemberId(Generic[Tag]):
    """The identity of one member of a ``Cluster[Tag]``; ordered and hashable by raw id."""

    __slots__ = ("raw_id",)

    def __init__(self, raw_id: int) -> None:
        if not isinstance(raw_id, int) or raw_id < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"MemberId needs a non-negative int, got {raw_id!r}", site=caller_site())
        self.raw_id = raw_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MemberId) and other.raw_id == self.raw_id

    def __hash__(self) -> int:
        return hash(("MemberId", self.raw_id))

    def __lt__(self, other: MemberId[Any]) -> bool:
        return self.raw_id < other.raw_id

    def __le__(self, other: MemberId[Any]) -> bool:
        return self.raw_id <= other.raw_id

    def __repr__(self) -> str:
        return f"MemberId({self.raw_id})"


class Location:
    """Base of every place a collection can live."""

    __slots__ = ("_flow",)
    _flow: FlowBuilder

    def _scope(self) -> LocationInfo | TickInfo:
        raise NotImplementedError

    def _source(
        self,
        op: str,
        kind: str,
        *,
        bound: type[Unbounded],
        order: type[NoOrder] | None = TotalOrder,
        retries: type[AtLeastOnce] | None = ExactlyOnce,
        params: dict[str, Any] | None = None,
        nondet: NonDet | None = None,
    ) -> Any:
        flow = self._flow
        flow._check_open()  # pyright: ignore[reportPrivateUsage]
        elementwise = kind in ("stream", "keyed_stream")
        node = Node(
            id=flow._graph.next_id(),  # pyright: ignore[reportPrivateUsage]
            op=op,
            inputs=[],
            scope=self._scope(),
            kind=kind,
            bound=bound,
            order=order if elementwise else None,
            retries=retries if elementwise else None,
            site=caller_site(),
            params=params or {},
            nondet=nondet,
        )
        if elementwise and order is NoOrder:
            node.order_origin = node
        if elementwise and retries is AtLeastOnce:
            node.retries_origin = node
        if bound is Unbounded:
            node.bound_origin = node
        flow._add_node(node)  # pyright: ignore[reportPrivateUsage]
        return make_collection(flow, node)


class TopLevel(Location):
    """A process or cluster: the locations with their own event loop and sources."""

    __slots__ = ("_info",)
    _info: LocationInfo

    def __init__(self, flow: FlowBuilder, info: LocationInfo) -> None:
        self._flow = flow
        self._info = info

    def _scope(self) -> LocationInfo:
        return self._info

    def __repr__(self) -> str:
        return str(self._info)

    @property
    def name(self) -> str:
        return self._info.name

    def tick(self) -> Tick[Self]:
        """A new logical clock of this location (SPEC §5)."""
        flow = self._flow
        info = TickInfo(len(flow._graph.ticks), self._info, caller_site())  # pyright: ignore[reportPrivateUsage]
        flow._graph.ticks.append(info)  # pyright: ignore[reportPrivateUsage]
        return Tick(flow, info)

    def source_iter(self, items: Iterable[U]) -> Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]:
        """A bounded, ordered stream of the given items (evaluated once, while building)."""
        return self._source("source_iter", "stream", bound=Bounded, params={"items": _items(items)})

    def singleton(self, value: U) -> Singleton[U, Self, Bounded]:
        """A constant singleton."""
        return self._source("singleton", "singleton", bound=Bounded, params={"value": value})

    @overload
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        of: type[U],
        order: type[OD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]  (OD/RD have defaults)
        retries: type[RD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]
        codec: str = "msgpack",
    ) -> Stream[U, Self, Unbounded, OD, RD]: ...
    @overload
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        order: type[OD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]  (OD/RD have defaults)
        retries: type[RD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]
        codec: str = "msgpack",
    ) -> Stream[Any, Self, Unbounded, OD, RD]: ...
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        of: type[Any] | None = None,
        order: type[Any] = TotalOrder,
        retries: type[Any] = ExactlyOnce,
        codec: str = "msgpack",
    ) -> Any:
        """Messages from a client outside the program, in the order that client sent them.

        Declare ``order=NoOrder`` when the client's messages may arrive in any order (e.g. several
        connections), or ``retries=AtLeastOnce`` when it may resend; everything downstream is then
        checked against that weaker contract.
        """
        if not isinstance(external, External):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError(
                "HL204",
                f"`source_external` needs an External location, got {type(external).__name__}",
                site=caller_site(),
            )
        if order not in (TotalOrder, NoOrder) or retries not in (ExactlyOnce, AtLeastOnce):
            raise UsageError(
                "HL501",
                "`source_external`: order must be TotalOrder or NoOrder and retries ExactlyOnce or AtLeastOnce",
                site=caller_site(),
            )
        check_codec(codec, "source_external")
        self._flow._register_port(name)  # pyright: ignore[reportPrivateUsage]
        return self._source(
            "source_external",
            "stream",
            bound=Unbounded,
            order=order,
            retries=retries,
            params={"name": name, "external": external._info, "of": of, "codec": codec},  # pyright: ignore[reportPrivateUsage]
        )

    @overload
    def source_external_bidi(
        self, external: External[Any], *, name: str, of: type[U], codec: str = "msgpack", port: int | None = None,
        max_clients: int | None = None, max_pipeline: int | None = None, max_query_buffer: int | None = None,
        max_output_buffer: int | None = None, max_input_memory: int | None = None,
    ) -> tuple[KeyedStream[ClientId, U, Self, Unbounded, TotalOrder, ExactlyOnce], ExternalBidi[Self]]: ...
    @overload
    def source_external_bidi(
        self, external: External[Any], *, name: str, codec: str = "msgpack", port: int | None = None,
        max_clients: int | None = None, max_pipeline: int | None = None, max_query_buffer: int | None = None,
        max_output_buffer: int | None = None, max_input_memory: int | None = None,
    ) -> tuple[KeyedStream[ClientId, Any, Self, Unbounded, TotalOrder, ExactlyOnce], ExternalBidi[Self]]: ...
    def source_external_bidi(
        self, external: External[Any], *, name: str, of: type[Any] | None = None, codec: str = "msgpack", port: int | None = None,
        max_clients: int | None = None, max_pipeline: int | None = None, max_query_buffer: int | None = None,
        max_output_buffer: int | None = None, max_input_memory: int | None = None,
    ) -> Any:
        """A port many clients connect to, each getting its own responses (``lang/bidi.py``).

        Returns the requests keyed by ``ClientId`` (ordered per client, no order across clients)
        and a handle to ``complete(responses)`` with a keyed stream of responses at this location.
        ``codec`` is ``msgpack``, ``json``, ``bytes`` or ``resp`` (the Redis protocol); ``port``
        asks a deployment for a fixed TCP port (default: one chosen by the OS).

        What untrusted clients may make a deployed port hold is bounded (``None``: the default,
        in parentheses; docs/deployment.md, "External ports under load and abuse"):
        ``max_clients`` connections at once (10,000); ``max_pipeline`` requests of one client
        being served at a time (64); ``max_query_buffer`` bytes of input held for one connection
        (32 MiB); ``max_output_buffer`` bytes of replies queued for a client that does not read
        them (32 MiB); ``max_input_memory`` bytes of input held for all connections together
        (64 MiB).
        """
        site = caller_site()
        if not isinstance(external, External):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError(
                "HL204", f"`source_external_bidi` needs an External location, got {type(external).__name__}", site=site
            )
        if not isinstance(codec, str) or (port is not None and (not isinstance(port, int) or not 0 <= port < 65536)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"`source_external_bidi`: bad codec {codec!r} or port {port!r}", site=site)
        limits = {
            "max_clients": max_clients, "max_pipeline": max_pipeline, "max_query_buffer": max_query_buffer,
            "max_output_buffer": max_output_buffer, "max_input_memory": max_input_memory,
        }
        for key, value in limits.items():
            if value is not None and (type(value) is not int or value < 1):
                raise UsageError(
                    "HL501",
                    f"`source_external_bidi`: {key} must be a positive int (or None for the default), got {value!r}",
                    fix=f"pass a positive int (e.g. {key}={'1000' if key == 'max_clients' else '64' if key == 'max_pipeline' else '16 << 20'}), or leave it out for the default",
                    site=site,
                )
        check_codec(codec, "source_external_bidi")
        self._flow._register_port(name)  # pyright: ignore[reportPrivateUsage]
        reqs: Any = self._source(
            "source_external_bidi",
            "keyed_stream",
            bound=Unbounded,
            params={"name": name, "external": external._info, "of": of, "codec": codec, "port": port, **limits},  # pyright: ignore[reportPrivateUsage]
        )
        handle: ExternalBidi[Any] = ExternalBidi(self._flow, reqs._node, self)
        self._flow._pending_cycles.append(handle)  # pyright: ignore[reportPrivateUsage]
        return reqs, handle

    def source_interval(self, seconds: float, nondet: NonDet) -> Stream[float, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """A timestamp every ``seconds``; when it fires relative to other input is nondeterministic."""
        token = check_nondet(nondet, "source_interval")
        if not isinstance(seconds, (int, float)) or seconds <= 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"`source_interval` needs a positive period, got {seconds!r}", site=caller_site())
        return self._source(
            "source_interval", "stream", bound=Unbounded, params={"seconds": float(seconds)}, nondet=token
        )

    @overload
    def sim_input(self, of: type[U]) -> tuple[SimInput[U], Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]]: ...
    @overload
    def sim_input(self) -> tuple[SimInput[Any], Stream[Any, Self, Unbounded, TotalOrder, ExactlyOnce]]: ...
    def sim_input(self, of: type[Any] | None = None) -> Any:
        """An input driven by a test (in-process runs and the simulator)."""
        stream: Any = self._source("sim_input", "stream", bound=Unbounded, params={"of": of})
        return SimInput(stream._node), stream

    @overload
    def forward_ref(
        self, of: type[U], order: type[O2], retries: type[R2]
    ) -> tuple[ForwardRef[Stream[U, Self, Unbounded, O2, R2]], Stream[U, Self, Unbounded, O2, R2]]: ...
    @overload
    def forward_ref(
        self, of: type[U], order: type[O2]
    ) -> tuple[ForwardRef[Stream[U, Self, Unbounded, O2, ExactlyOnce]], Stream[U, Self, Unbounded, O2, ExactlyOnce]]: ...
    @overload
    def forward_ref(
        self, of: type[U]
    ) -> tuple[
        ForwardRef[Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]], Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]
    ]: ...
    def forward_ref(self, of: type[Any], order: type[Any] = TotalOrder, retries: type[Any] = ExactlyOnce) -> Any:
        """A stream used before it is defined; ``handle.complete(s)`` defines it (top-level cycles)."""
        return _forward(self, "forward_ref", of, order, retries, Unbounded)

    def cluster_members(self, cluster: Cluster[TagC]) -> Singleton[tuple[MemberId[TagC], ...], Self, Bounded]:
        """The members of ``cluster`` (static membership fixed at deployment)."""
        if not isinstance(cluster, Cluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError("HL203", "`cluster_members` needs a Cluster", site=caller_site())
        return self._source("cluster_members", "singleton", bound=Bounded, params={"cluster": cluster._info})


class _ClusterOnly:
    """A cluster-only method seen on a Process: not callable statically, HL203 at build time.

    Leaving the attribute undefined would give users a bare ``AttributeError``; defining it as
    a method would make the static checkers accept the call. This descriptor gives both checks.
    """

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type[Any] | None = None) -> _ClusterOnly:
        if obj is None:
            return self
        raise LocationError(
            "HL203",
            f"`{self.name}` is only available on a Cluster, but {obj!r} is a Process",
            site=caller_site(),
            needed="a Cluster (flow.cluster(Tag))",
            present=repr(obj),
        )


class Process(TopLevel, Generic[Tag]):
    """One single-threaded process (SPEC §5)."""

    __slots__ = ()
    self_id = _ClusterOnly()


class Cluster(TopLevel, Generic[Tag]):
    """N members running the same code; each member is its own single-threaded process."""

    __slots__ = ()

    def self_id(self) -> Singleton[MemberId[Tag], Self, Bounded]:
        """The executing member's id (constant on each member)."""
        return self._source("self_id", "singleton", bound=Bounded)


class External(Generic[Tag]):
    """A client outside the program; only ``source_external``/``send_external`` face it."""

    __slots__ = ("_flow", "_info")

    def __init__(self, flow: FlowBuilder, info: LocationInfo) -> None:
        self._flow = flow
        self._info = info

    def __repr__(self) -> str:
        return str(self._info)


class Tick(Location, Generic[LT]):
    """A logical clock nested in one top-level location; collections in it are per-tick batches."""

    __slots__ = ("_info",)
    _info: TickInfo

    def __init__(self, flow: FlowBuilder, info: TickInfo) -> None:
        self._flow = flow
        self._info = info

    def _scope(self) -> TickInfo:
        return self._info

    def __repr__(self) -> str:
        return str(self._info)

    def singleton(self, value: U) -> Singleton[U, Self, Bounded]:
        """The same value in every tick."""
        return self._source("singleton", "singleton", bound=Bounded, params={"value": value})

    def source_iter(self, items: Iterable[U]) -> Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]:
        """The same items in every tick."""
        return self._source("source_iter", "stream", bound=Bounded, params={"items": _items(items)})

    def self_id(self: Tick[Cluster[TagC]]) -> Singleton[MemberId[TagC], Tick[Cluster[TagC]], Bounded]:
        """The executing member's id in every tick of a cluster (``cluster.self_id()`` is the
        top-level twin; both are constants, so neither is a nondet site)."""
        if not self._info.outer.is_cluster:
            raise LocationError(
                "HL203",
                f"`self_id` is only available on a Cluster, but {self._info} belongs to {self._info.outer}",
                site=caller_site(),
                needed="a tick of a Cluster",
                present=str(self._info),
            )
        return self._source("self_id", "singleton", bound=Bounded)

    def cluster_members(self, cluster: Cluster[TagC]) -> Singleton[tuple[MemberId[TagC], ...], Self, Bounded]:
        """The members of ``cluster`` in every tick (static membership, so not a nondet site)."""
        if not isinstance(cluster, Cluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError("HL203", "`cluster_members` needs a Cluster", site=caller_site())
        return self._source("cluster_members", "singleton", bound=Bounded, params={"cluster": cluster._info})  # pyright: ignore[reportPrivateUsage]

    def optional_first_tick(self, value: U) -> Optional[U, Self, Bounded]:
        """``value`` in the first tick of this location, absent afterwards (bootstraps state)."""
        return self._source("optional_first_tick", "optional", bound=Bounded, params={"value": value})

    def none(self, of: type[U]) -> Optional[U, Self, Bounded]:
        """An always-empty optional."""
        return self._source("none", "optional", bound=Bounded)

    @overload
    def cycle(
        self, of: type[U], order: type[O2], retries: type[R2]
    ) -> tuple[TickCycle[Stream[U, Self, Bounded, O2, R2]], Stream[U, Self, Bounded, O2, R2]]: ...
    @overload
    def cycle(
        self, of: type[U], order: type[O2]
    ) -> tuple[TickCycle[Stream[U, Self, Bounded, O2, ExactlyOnce]], Stream[U, Self, Bounded, O2, ExactlyOnce]]: ...
    @overload
    def cycle(
        self, of: type[U]
    ) -> tuple[TickCycle[Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]], Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]]: ...
    def cycle(self, of: type[Any], order: type[Any] = TotalOrder, retries: type[Any] = ExactlyOnce) -> Any:
        """A stream holding what ``handle.complete_next_tick(s)`` produced in the previous tick."""
        return _forward(self, "cycle", of, order, retries, Bounded)

    @overload
    def cycle_with_initial(self, initial: Singleton[U, Self, Bounded]) -> tuple[TickCycle[Singleton[U, Self, Bounded]], Singleton[U, Self, Bounded]]: ...
    @overload
    def cycle_with_initial(self, initial: Stream[U, Self, Bounded, O2, R2]) -> tuple[TickCycle[Stream[U, Self, Bounded, O2, R2]], Stream[U, Self, Bounded, O2, R2]]: ...
    def cycle_with_initial(self, initial: Any) -> Any:
        """Like ``cycle`` but holding ``initial`` in the first tick (loop-carried state)."""
        from .collection import Live

        if not isinstance(initial, Live) or initial._node.kind not in ("singleton", "stream"):  # pyright: ignore[reportPrivateUsage]
            raise UsageError(
                "HL501", "`cycle_with_initial` needs a Singleton or Stream in this tick", site=caller_site()
            )
        if initial._node.scope is not self._info:  # pyright: ignore[reportPrivateUsage]
            raise LocationError(
                "HL201",
                f"`cycle_with_initial`: the initial value is at {initial._node.scope}, not in {self._info}",  # pyright: ignore[reportPrivateUsage]
                site=caller_site(),
                needed=f"an initial value in {self._info}",
                present=f"{initial._node.type_str()} (built by {initial._node.describe()})",  # pyright: ignore[reportPrivateUsage]
                fix=f"Build the initial value in the same tick: use the tick made at {self._info.site} "
                "(e.g. tick.singleton(v)), or bring the value into this tick with snapshot/batch.",
            )
        n = initial._node  # pyright: ignore[reportPrivateUsage]
        coll: Any = initial._derive("cycle_with_initial", params={"deferred": (1,)})  # pyright: ignore[reportPrivateUsage]
        handle: TickCycle[Any] = TickCycle(self._flow, coll._node, n.kind, n.order, n.retries)
        self._flow._pending_cycles.append(handle)  # pyright: ignore[reportPrivateUsage]
        return handle, coll

    @overload
    def forward_ref(
        self, of: type[U], order: type[O2]
    ) -> tuple[ForwardRef[Stream[U, Self, Bounded, O2, ExactlyOnce]], Stream[U, Self, Bounded, O2, ExactlyOnce]]: ...
    @overload
    def forward_ref(
        self, of: type[U]
    ) -> tuple[ForwardRef[Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]], Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]]: ...
    def forward_ref(self, of: type[Any], order: type[Any] = TotalOrder) -> Any:
        """A same-tick cycle (fixpoint within the tick); must not pass through a blocking operator."""
        return _forward(self, "forward_ref", of, order, ExactlyOnce, Bounded)


def _items(items: object) -> list[Any]:
    """Materialise ``source_iter``'s items while building (so every process sees the same list)."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise UsageError(
            "HL501",
            f"`source_iter` expects an iterable of items (a list, range, ...), got {type(items).__name__}",
            site=caller_site(),
        )
    iterable: Iterable[Any] = items  # pyright: ignore[reportAssignmentType]
    return list(iterable)


def _forward(
    loc: Location, op: str, of: type[Any], order: type[Any], retries: type[Any], bound: type[Unbounded]
) -> Any:
    if order not in (TotalOrder, NoOrder) or retries not in (ExactlyOnce, AtLeastOnce):
        raise UsageError(
            "HL501",
            f"`{op}`: order must be TotalOrder or NoOrder and retries ExactlyOnce or AtLeastOnce",
            site=caller_site(),
        )
    params: dict[str, Any] = {"of": of}
    if op == "cycle":
        params["deferred"] = (0,)
    coll: Any = loc._source(op, "stream", bound=bound, order=order, retries=retries, params=params)  # pyright: ignore[reportPrivateUsage]
    flow = loc._flow  # pyright: ignore[reportPrivateUsage]
    handle: _Handle[Any]
    if op == "cycle":
        handle = TickCycle(flow, coll._node, "stream", order, retries)
    else:
        handle = ForwardRef(flow, coll._node, "stream", order, retries)
    flow._pending_cycles.append(handle)  # pyright: ignore[reportPrivateUsage]
    return handle, coll


TK = TypeVar("TK", bound="Tick[Any]", covariant=True)


class Atomic(Location, Generic[TK]):
    """The atomic section of a tick (SPEC §5): top-level semantics, synchronous with the tick.

    Created implicitly by ``stream.atomic(tick)``; the type keeps atomic data from mixing with
    ordinary top-level data without an explicit ``end_atomic()``.
    """

    __slots__ = ()
