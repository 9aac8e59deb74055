"""Locations: where live collections live (Process, Cluster, External) and their ticks.

Location classes are generic in an *invariant* tag (``Process[Leader]``), so collections of two
different processes never unify statically; at build time each location has its own identity
(``LocationInfo``), so two processes with the same tag are told apart too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, AsyncIterable, Callable, Generic, Iterable, overload

from typing_extensions import Self, TypeForm, TypeVar

from ..ir.node import AtomicInfo, LocationInfo, Node, TickInfo
from ..types.errors import LocationError, UsageError
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, NoOrder, TotalOrder, Unbounded
from ..types.nondet import NonDet
from ..types.site import caller_site
from ._access import add_node, flow_of, info_of, node_of, register_port
from .collection import ExternalCodecLike, Live, check_codec, check_nondet, derive, make_collection
from .cycles import CycleHandle, ForwardRef, TickCycle
from .io import SimInput
from .bidi import ClientId, ExternalBidi, MembershipEvent
from .liveness import Liveness
from ._typevars import O2, OD, R2, RD, Con, Tag, U

if TYPE_CHECKING:
    from .single_client import SingleClientPort
    from .builder import GraphBuilder
    from .keyed_stream import KeyedStream as KeyedStream
    from .singleton import Optional, Singleton
    from .stream import Stream

__all__ = ["Location", "TopLevel", "Process", "Cluster", "External", "Tick", "Atomic", "MemberId"]

LT = TypeVar("LT", bound="TopLevel", covariant=True)
TagC = TypeVar("TagC")


class MemberId(Generic[Tag]):
    """The identity of one member of a ``Cluster[Tag]``; ordered and hashable by raw id.

    An id the runtime hands out (``self_id()``, ``cluster_members()``, the sender of a message)
    also remembers which cluster it names (``cluster_of``), so that the simulator's symmetry
    reduction can rename one cluster's members without touching another's. That is not part of
    equality: ``MemberId(1)`` made by hand equals the runtime's id of member 1.
    """

    __slots__ = ("raw_id", "_cluster")

    def __init__(self, raw_id: int) -> None:
        if not isinstance(raw_id, int) or raw_id < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"MemberId needs a non-negative int, got {raw_id!r}", site=caller_site())
        self.raw_id = raw_id
        self._cluster: int | None = None

    @classmethod
    def of_cluster(cls, raw_id: int, cluster: int) -> MemberId[Any]:
        """The id of member ``raw_id`` of the cluster whose location id is ``cluster`` (the
        runtime's constructor: no validation, the runtime numbers members itself)."""
        if cluster in WATCHED_CLUSTERS:
            w: MemberId[Any] = _WatchedMemberId.__new__(_WatchedMemberId)
            _RAW.__set__(w, raw_id)
            _CLUSTER.__set__(w, cluster)
            return w
        m: MemberId[Any] = cls.__new__(cls)
        m.raw_id = raw_id
        m._cluster = cluster
        return m

    @property
    def cluster_of(self) -> int | None:
        """The location id of the cluster this id names, or None for an id made by hand."""
        return self._cluster

    def __reduce__(self) -> tuple[Any, ...]:
        if self._cluster is None:
            return (MemberId, (self.raw_id,))
        return (_cluster_member, (self.raw_id, self._cluster))

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


_RAW: Any = MemberId.__dict__["raw_id"]  # the slots' descriptors, which the watched subclass reads
_CLUSTER: Any = MemberId.__dict__["_cluster"]

WATCHED_CLUSTERS: dict[int, Callable[[Any], None]] = {}
"""Clusters (location ids) whose members' ``raw_id`` reads are reported, with the function told
the reading frame: set by the simulator's symmetry reduction for the clusters it renames, which
a raw id kept as an int would escape (``sim/_symmetry``)."""


class _WatchedMemberId(MemberId[Any]):
    """A runtime-made ``MemberId`` of a watched cluster: the same value, whose ``raw_id`` reads
    are reported with the frame that read it."""

    __slots__ = ()

    @property
    def raw_id(self) -> int:  # type: ignore[override]  # pyright: ignore[reportIncompatibleVariableOverride]
        report = WATCHED_CLUSTERS.get(_CLUSTER.__get__(self))
        if report is not None:
            report(sys._getframe(1))  # pyright: ignore[reportPrivateUsage]
        raw: int = _RAW.__get__(self)
        return raw

    # Comparing and hashing read the raw id without reporting it (they are how a MemberId is
    # meant to be used), and without the property's cost.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, _WatchedMemberId):
            return bool(_RAW.__get__(other) == _RAW.__get__(self))
        return isinstance(other, MemberId) and other.raw_id == _RAW.__get__(self)

    def __hash__(self) -> int:
        return hash(("MemberId", _RAW.__get__(self)))

    def __lt__(self, other: MemberId[Any]) -> bool:
        o = _RAW.__get__(other) if isinstance(other, _WatchedMemberId) else other.raw_id
        return bool(_RAW.__get__(self) < o)

    def __le__(self, other: MemberId[Any]) -> bool:
        o = _RAW.__get__(other) if isinstance(other, _WatchedMemberId) else other.raw_id
        return bool(_RAW.__get__(self) <= o)

    def __repr__(self) -> str:
        return f"MemberId({_RAW.__get__(self)})"


def _cluster_member(raw_id: int, cluster: int) -> MemberId[Any]:
    """What a pickled runtime-made ``MemberId`` is rebuilt with (it keeps its cluster)."""
    return MemberId.of_cluster(raw_id, cluster)


class Location:
    """Base of every place a collection can live."""

    __slots__ = ("_flow",)
    _flow: GraphBuilder


def new_source(
    loc: TopLevel | Tick[Any],
    op: str,
    kind: str,
    *,
    bound: type[Unbounded],
    order: type[NoOrder] | None = TotalOrder,
    retries: type[AtLeastOnce] | None = ExactlyOnce,
    params: dict[str, Any] | None = None,
    nondet: NonDet | None = None,
) -> Any:
    """Append a source node at ``loc`` and wrap it: the sources of the location classes, and a
    bidi port's ``membership()`` stream."""
    flow = flow_of(loc)
    elementwise = kind in ("stream", "keyed_stream")
    node = Node(
        id=flow.graph.next_id(),
        op=op,
        inputs=[],
        scope=info_of(loc),
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
    add_node(flow, node)
    return make_collection(flow, node)


class TopLevel(Location):
    """A process or cluster: the locations with their own event loop and sources."""

    __slots__ = ("_info",)
    _info: LocationInfo

    def __init__(self, flow: GraphBuilder, info: LocationInfo) -> None:
        self._flow = flow
        self._info = info

    def __repr__(self) -> str:
        return str(self._info)

    @property
    def name(self) -> str:
        return self._info.name

    def forbid_restart(self, reason: str) -> None:
        """Declare that this location's instances must not be restarted after a crash.

        A restarted instance starts empty. Where that is unsafe — a Paxos acceptor that forgets
        its promises could let two different values be chosen for one slot — say so here, with
        the reason: supervision then leaves a dead instance dead (and logs the reason) whatever
        restart policy the deployment asks for, and the program keeps serving on the others.
        """
        if not isinstance(reason, str) or not reason:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", "forbid_restart needs the reason, as a non-empty string", site=caller_site())
        info_of(self).no_restart = reason

    def tick(self) -> Tick[Self]:
        """A new logical clock of this location."""
        flow = self._flow
        info = TickInfo(len(flow.graph.ticks), self._info, caller_site())
        flow.graph.ticks.append(info)
        return Tick(flow, info)

    def source_iter(self, items: Iterable[U]) -> Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]:
        """A bounded, ordered stream of the given items (evaluated once, while building).

        A ``list`` is used as it is, not copied: do not change it after building. Any other
        iterable (a tuple, a range, a generator) is read into a new list while building."""
        return new_source(self, "source_iter", "stream", bound=Bounded, params={"items": _items(items)})

    def singleton(self, value: U) -> Singleton[U, Self, Bounded]:
        """A constant singleton."""
        return new_source(self, "singleton", "singleton", bound=Bounded, params={"value": value})

    @overload
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        of: type[U],
        order: type[OD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]  (OD/RD have defaults)
        retries: type[RD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> Stream[U, Self, Unbounded, OD, RD]: ...
    @overload
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        order: type[OD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]  (OD/RD have defaults)
        retries: type[RD] = ...,  # pyright: ignore[reportInvalidTypeVarUse]
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> Stream[Any, Self, Unbounded, OD, RD]: ...
    def source_external(
        self,
        external: External[Any],
        *,
        name: str,
        of: type[Any] | None = None,
        order: type[Any] = TotalOrder,
        retries: type[Any] = ExactlyOnce,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
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
        codec = check_codec(codec, "source_external")
        register_port(self._flow, name)
        return new_source(
            self,
            "source_external",
            "stream",
            bound=Unbounded,
            order=order,
            retries=retries,
            params={"name": name, "external": info_of(external), "of": of, "codec": codec},
        )

    @overload
    def source_external_bidi(
        self, external: External[Any], *, name: str, of: type[U], codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
        max_clients: int | None = None, max_pipeline: int | None = None, max_query_buffer: int | None = None,
        max_output_buffer: int | None = None, max_input_memory: int | None = None,
    ) -> tuple[KeyedStream[ClientId, U, Self, Unbounded, TotalOrder, ExactlyOnce], ExternalBidi[Self]]: ...
    @overload
    def source_external_bidi(
        self, external: External[Any], *, name: str, codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
        max_clients: int | None = None, max_pipeline: int | None = None, max_query_buffer: int | None = None,
        max_output_buffer: int | None = None, max_input_memory: int | None = None,
    ) -> tuple[KeyedStream[ClientId, Any, Self, Unbounded, TotalOrder, ExactlyOnce], ExternalBidi[Self]]: ...
    def source_external_bidi(
        self, external: External[Any], *, name: str, of: type[Any] | None = None, codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
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
        if (port is not None and (not isinstance(port, int) or not 0 <= port < 65536)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"`source_external_bidi`: port must be an int in 0..65535 or None, got {port!r}", site=site)
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
        codec = check_codec(codec, "source_external_bidi")
        register_port(self._flow, name)
        reqs: Any = new_source(
            self,
            "source_external_bidi",
            "keyed_stream",
            bound=Unbounded,
            params={"name": name, "external": info_of(external), "of": of, "codec": codec, "port": port, **limits},
        )
        return reqs, ExternalBidi(self._flow, node_of(reqs), self)

    def source_interval(self, seconds: float, nondet: NonDet) -> Stream[float, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """A timestamp every ``seconds``; when it fires relative to other input is nondeterministic."""
        token = check_nondet(nondet, "source_interval")
        if not isinstance(seconds, (int, float)) or seconds <= 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"`source_interval` needs a positive period, got {seconds!r}", site=caller_site())
        return new_source(
            self,
            "source_interval", "stream", bound=Unbounded, params={"seconds": float(seconds)}, nondet=token
        )

    @overload
    def sim_input(self, of: type[U]) -> tuple[SimInput[U], Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]]: ...
    @overload
    def sim_input(self, of: TypeForm[U]) -> tuple[SimInput[U], Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]]: ...
    @overload
    def sim_input(self) -> tuple[SimInput[Any], Stream[Any, Self, Unbounded, TotalOrder, ExactlyOnce]]: ...
    def sim_input(self, of: object = None) -> Any:
        """An input driven by a test (in-process runs and the simulator).

        ``of`` is the element type: a class (``int``), a generic (``tuple[str, int]``), a union
        (``int | None``) or a type alias of any of them (``Event = tuple[str, int]``); mypy and
        pyright both infer the stream's element type from it.
        """
        stream: Any = new_source(self, "sim_input", "stream", bound=Unbounded, params={"of": of})
        return SimInput(node_of(stream)), stream

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

    def peer_liveness(
        self, peer: Process[TagC] | Cluster[TagC]
    ) -> KeyedStream[MemberId[TagC], Liveness, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """``(member, Liveness)`` events of ``peer``'s members, as they die and are restarted.

        Per member: ``UP(n)`` (or ``DOWN(n)``) first, then ``DOWN(n)`` and ``RESTARTED(n + 1)``
        alternating, each once; a process peer is member 0. ``RESTARTED(n + 1)`` arrives no later
        than the first message of incarnation ``n + 1``, which marks where an ordered channel
        from that member resumed (docs/deployment.md, "Faults and restarts").
        """
        if not isinstance(peer, (Process, Cluster)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError("HL203", f"`peer_liveness` needs a Process or a Cluster, got {peer!r}", site=caller_site())
        if flow_of(peer) is not flow_of(self):
            raise LocationError("HL201", "`peer_liveness` of a location of another FlowBuilder", site=caller_site())
        return new_source(self, "peer_liveness", "keyed_stream", bound=Unbounded, params={"peer": info_of(peer)})

    def cluster_members(self, cluster: Cluster[TagC]) -> Singleton[tuple[MemberId[TagC], ...], Self, Bounded]:
        """The member ids of ``cluster`` when this instance starts (static: it never changes, and
        on a cluster scaled while running it lists every id used so far, removed ones included);
        ``source_cluster_members`` follows joins and leaves."""
        if not isinstance(cluster, Cluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError("HL203", "`cluster_members` needs a Cluster", site=caller_site())
        return new_source(self, "cluster_members", "singleton", bound=Bounded, params={"cluster": info_of(cluster)})

    # --- cluster membership

    def source_cluster_members(
        self, cluster: Cluster[TagC]
    ) -> KeyedStream[MemberId[TagC], MembershipEvent, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """``(member, MembershipEvent.JOINED)`` / ``(member, MembershipEvent.LEFT)`` as members of
        ``cluster`` join and leave: the members present when this location starts, then every
        member added or removed while the program runs (``hydrologic scale``), and every death
        (``LEFT``) and restart (``JOINED``) of a member.

        Per member the events alternate, starting with ``JOINED``, and each happens once; across
        members there is no order (``entries()`` is ``NoOrder``). It is a view of the same events
        as ``peer_liveness(cluster)``: ``UP`` and ``RESTARTED`` are ``JOINED``, ``DOWN`` is
        ``LEFT``.
        """
        if not isinstance(cluster, Cluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError(
                "HL203",
                f"`source_cluster_members` needs a Cluster, got {cluster!r}",
                site=caller_site(),
                needed="a Cluster (flow.cluster(Tag))",
                present=repr(cluster),
                fix="Watch a Cluster; for the liveness of a Process use `peer_liveness(process)`.",
            )
        if flow_of(cluster) is not flow_of(self):
            raise LocationError("HL201", "`source_cluster_members` of a cluster of another FlowBuilder", site=caller_site())
        return new_source(self, "cluster_membership", "keyed_stream", bound=Unbounded, params={"peer": info_of(cluster)})

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def root(self) -> Self:
        """The process or cluster this location belongs to: itself."""
        return self

    def try_tick(self) -> Tick[Self]:
        """A new tick of this location (a process or cluster is always top level; on a Tick,
        ``try_tick`` gives None)."""
        return self.tick()

    def id(self) -> int:
        """This location's identity in the graph (unique among the locations of its FlowBuilder)."""
        return self._info.id


    # --- async user functions -----------------------------------------------------------

    def source_stream(self, f: Callable[[], AsyncIterable[U]]) -> Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """The items of an async iterator, in the order it yields them: e.g. a change feed or
        a subscription. ``f`` makes the iterator (pass an ``async def`` generator function
        itself, not a call of it): a program is built once per process that runs it, and each
        run starts its own iterator.

        Deployed, the iterator runs on the location's event loop beside its ticks; in-process
        and in the simulator one item is pulled per tick, so the run ends when the iterator does.
        """
        if not callable(f):
            hint = " (pass the generator function itself, not a call of it)" if hasattr(f, "__aiter__") else ""
            raise UsageError(
                "HL501", f"`source_stream` expects a function returning an async iterable, got {type(f).__name__}{hint}",
                site=caller_site(),
            )
        return new_source(self, "source_stream", "stream", bound=Unbounded, params={"f": f})

    # --- timers -------------------------------------------------------------------------

    def source_interval_delayed(
        self, delay: float, seconds: float, nondet: NonDet
    ) -> Stream[float, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """Like ``source_interval``, but the first timestamp comes after ``delay`` seconds (which
        may be 0: at once) and the next ones every ``seconds`` after it."""
        from .timers import check_seconds, timer

        token = check_nondet(nondet, "source_interval_delayed")
        start = check_seconds(delay, "source_interval_delayed", "delay", zero=True)
        return timer(self, check_seconds(seconds, "source_interval_delayed"), token, "source_interval_delayed", delay=start)

    def spin(self) -> Stream[None, Self, Unbounded, TotalOrder, ExactlyOnce]:
        """``None`` over and over: a deployed location with a ``spin`` never idles, it ticks as
        fast as it can (``spin().batch(tick, ...)`` drives a tick that polls). In-process and in
        the simulator, where a run must end, it emits one ``None`` each time the location runs."""
        return new_source(self, "spin", "stream", bound=Unbounded)

    # --- single-client ports ------------------------------------------------------------

    @overload
    def bind_single_client(
        self, external: External[Any], *, name: str, of: type[U],
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
    ) -> tuple[Stream[U, Self, Unbounded, TotalOrder, ExactlyOnce], SingleClientPort[Self]]: ...
    @overload
    def bind_single_client(
        self, external: External[Any], *, name: str,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
    ) -> tuple[Stream[Any, Self, Unbounded, TotalOrder, ExactlyOnce], SingleClientPort[Self]]: ...
    def bind_single_client(
        self, external: External[Any], *, name: str, of: type[Any] | None = None,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack", port: int | None = None,
    ) -> Any:
        """A two-way port for one client at a time (``lang/single_client.py``): its requests in
        arrival order, and a handle to ``complete(responses)`` with an ordered stream of replies
        sent to that client. A second connection is refused while one is open."""
        from .single_client import SingleClientPort

        opened: Any = self.source_external_bidi
        reqs, bidi = opened(external, name=name, of=of, codec=codec, port=port, max_clients=1)
        requests = derive(reqs, "values", kind="stream", order=TotalOrder, params={"method": "bind_single_client"})
        return requests, SingleClientPort(bidi)


class HL203_self_id_exists_only_on_a_Cluster:  # noqa: N801 - the name is the message checkers print
    """A cluster-only method seen on a Process: not callable statically, HL203 at build time.

    Leaving the attribute undefined would give users a bare ``AttributeError``; defining it as
    a method would make the static checkers accept the call. This descriptor gives both checks.
    """

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, obj: object, owner: type[Any] | None = None) -> HL203_self_id_exists_only_on_a_Cluster:
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
    """One single-threaded process."""

    __slots__ = ()
    self_id = HL203_self_id_exists_only_on_a_Cluster()


class Cluster(TopLevel, Generic[Tag, Con]):
    """N members running the same code; each member is its own single-threaded process.

    ``Con`` says whether a collection located here converges on one value on every member
    (``EventualConsistency``) or may differ per member (``NoConsistency``, the default and what
    ``flow.cluster(Tag)`` returns). Collections take the location they derive from, so
    consistency flows through their types: ``broadcast_closed`` over a fail-stop channel makes
    it, nondet sites and per-member inputs drop it (the "Consistency" paragraph at the top of
    docs/reference.md has the rules)."""

    __slots__ = ()

    def self_id(self) -> Singleton[MemberId[Tag], Self, Bounded]:
        """The executing member's id (constant on each member)."""
        return new_source(self, "self_id", "singleton", bound=Bounded)


class External(Generic[Tag]):
    """A client outside the program; only ``source_external``/``send_external`` face it."""

    __slots__ = ("_flow", "_info")

    def __init__(self, flow: GraphBuilder, info: LocationInfo) -> None:
        self._flow = flow
        self._info = info

    def __repr__(self) -> str:
        return str(self._info)


class Tick(Location, Generic[LT]):
    """A logical clock nested in one top-level location; collections in it are per-tick batches."""

    __slots__ = ("_info",)
    _info: TickInfo

    def __init__(self, flow: GraphBuilder, info: TickInfo) -> None:
        self._flow = flow
        self._info = info

    def __repr__(self) -> str:
        return str(self._info)

    def singleton(self, value: U) -> Singleton[U, Self, Bounded]:
        """The same value in every tick."""
        return new_source(self, "singleton", "singleton", bound=Bounded, params={"value": value})

    def source_iter(self, items: Iterable[U]) -> Stream[U, Self, Bounded, TotalOrder, ExactlyOnce]:
        """The same items in every tick (a ``list`` is used as it is, not copied: do not change
        it after building; any other iterable is read into a new list while building)."""
        return new_source(self, "source_iter", "stream", bound=Bounded, params={"items": _items(items)})

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
        return new_source(self, "self_id", "singleton", bound=Bounded)

    def cluster_members(self, cluster: Cluster[TagC]) -> Singleton[tuple[MemberId[TagC], ...], Self, Bounded]:
        """The members of ``cluster`` in every tick (static membership, so not a nondet site)."""
        if not isinstance(cluster, Cluster):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise LocationError("HL203", "`cluster_members` needs a Cluster", site=caller_site())
        return new_source(self, "cluster_members", "singleton", bound=Bounded, params={"cluster": info_of(cluster)})

    def spin_batch(self, n: int) -> Stream[None, Self, Bounded, TotalOrder, ExactlyOnce]:
        """Exactly ``n`` ``None``s in every tick, and, deployed, a tick that never idles (Hydro's
        ``spin_batch``). Not a nondet site: every tick holds the same batch, whenever it runs.

        Deployed, the outer location spins (see ``spin()``), so this tick runs as fast as the
        location can and each run holds ``n`` units: a polling loop with a fixed batch size.
        In-process runs and the simulator must end, so there the tick runs only when the location
        runs for another reason (its first run, an input, a timer); each of those ticks holds
        ``n`` units too."""
        if type(n) is not int or n < 1:
            raise UsageError(
                "HL501",
                f"`spin_batch` needs a positive int batch size, got {n!r}",
                site=caller_site(),
                fix="Pass how many units each tick gets, e.g. tick.spin_batch(1).",
            )
        outer: Any = self.outer()
        # the outer spin keeps a deployed location ticking; its elements are not needed
        spins = new_source(outer, "spin", "stream", bound=Unbounded, params={"method": "spin_batch"})
        derive(spins, "for_each", kind="sink", params={"f": _drop_spin, "method": "spin_batch"})
        return new_source(self, "source_iter", "stream", bound=Bounded, params={"items": [None] * n, "method": "spin_batch"})

    def optional_first_tick(self, value: U) -> Optional[U, Self, Bounded]:
        """``value`` in the first tick of this location, absent afterwards (bootstraps state)."""
        return new_source(self, "optional_first_tick", "optional", bound=Bounded, params={"value": value})

    def none(self, of: type[U]) -> Optional[U, Self, Bounded]:
        """An always-empty optional."""
        return new_source(self, "none", "optional", bound=Bounded)

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def outer(self) -> LT:
        """The process or cluster this tick is a clock of."""
        outer = self._info.outer
        return (Cluster if outer.is_cluster else Process)(self._flow, outer)  # type: ignore[return-value]

    def root(self) -> LT:
        """The process or cluster this tick belongs to (the same as ``outer()``)."""
        return self.outer()

    def try_tick(self) -> None:
        """None: a tick is not top level, so it cannot have ticks of its own."""
        return None

    def id(self) -> int:
        """This tick's identity in the graph (unique among the ticks of its FlowBuilder)."""
        return self._info.id

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
        if not isinstance(initial, Live) or node_of(initial).kind not in ("singleton", "stream"):
            raise UsageError(
                "HL501", "`cycle_with_initial` needs a Singleton or Stream in this tick", site=caller_site()
            )
        n = node_of(initial)
        if n.scope is not self._info:
            raise LocationError(
                "HL201",
                f"`cycle_with_initial`: the initial value is at {n.scope}, not in {self._info}",
                site=caller_site(),
                needed=f"an initial value in {self._info}",
                present=f"{n.type_str()} (built by {n.describe()})",
                fix=f"Build the initial value in the same tick: use the tick made at {self._info.site} "
                "(e.g. tick.singleton(v)), or bring the value into this tick with snapshot/batch.",
            )
        coll: Any = derive(initial, "cycle_with_initial", params={"deferred": (1,)})
        return TickCycle(self._flow, node_of(coll), n.kind, n.order, n.retries), coll

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


def _drop_spin(_spin: object) -> None:
    """``spin_batch``'s outer spin only keeps a deployed location busy; its ``None``s go here."""


def _items(items: object) -> list[Any]:
    """Materialise ``source_iter``'s items while building (so every process sees the same list).

    A plain list is kept as it is: copying a million-element list was 2-3% of a small program's
    build-and-run time. The runtime never changes a source's list (inside a tick it emits the same
    list every tick), so only the user could, which the docstring forbids."""
    if isinstance(items, (str, bytes)) or not hasattr(items, "__iter__"):
        raise UsageError(
            "HL501",
            f"`source_iter` expects an iterable of items (a list, range, ...), got {type(items).__name__}",
            site=caller_site(),
        )
    if type(items) is list:
        return items  # pyright: ignore[reportUnknownVariableType]
    iterable: Iterable[Any] = items  # pyright: ignore[reportAssignmentType]
    return list(iterable)


def _forward(
    loc: TopLevel | Tick[Any], op: str, of: type[Any], order: type[Any], retries: type[Any], bound: type[Unbounded]
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
    coll: Any = new_source(loc, op, "stream", bound=bound, order=order, retries=retries, params=params)
    handle: CycleHandle[Any]
    if op == "cycle":
        handle = TickCycle(flow_of(loc), node_of(coll), "stream", order, retries)
    else:
        handle = ForwardRef(flow_of(loc), node_of(coll), "stream", order, retries)
    return handle, coll


TK = TypeVar("TK", bound="Tick[Any]", covariant=True)


class Atomic(Location, Generic[TK]):
    """The atomic section of a tick: top-level semantics, synchronous with the tick.

    Created implicitly by ``stream.atomic(tick)``; the type keeps atomic data from mixing with
    ordinary top-level data without an explicit ``end_atomic()``. An atomic collection's
    ``location()`` is one; ``as_regular_tick()`` gives the tick the section is synchronous with.
    """

    __slots__ = ("_info",)
    _info: AtomicInfo

    def __init__(self, flow: GraphBuilder, info: AtomicInfo) -> None:
        self._flow = flow
        self._info = info

    def __repr__(self) -> str:
        return str(self._info)

    def as_regular_tick(self) -> TK:
        """The tick this atomic section is synchronous with, as a plain ``Tick`` (to batch or
        snapshot other collections in the same tick that reads the section).

        A section entered with an argument-free ``atomic()`` has a tick of its own that the first
        ``sliced`` region reading it would adopt; asking for that tick by name fixes it, so read
        the section in that tick (``batch_atomic``/``snapshot_atomic``) rather than in a region
        with another tick."""
        tick = self._info.tick
        tick.implicit = False
        return Tick(self._flow, tick)  # type: ignore[return-value]
