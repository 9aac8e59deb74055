"""Sliced regions: read several live collections at one tick, with state carried between slices.

Hydro writes this as the ``sliced!`` macro; in Python it is a context manager. Inside the
``with`` block every read happens at the region's one tick, so the batch of requests and the
snapshot of a counter that a slice sees belong to the same moment of the location:

    with hl.sliced(server) as s:
        requests = s.batch(incoming, nondet("answer whatever arrived"))
        count = s.snapshot(counter, nondet("any recent count is a fine answer"))
        seen = s.state(lambda tick: tick.singleton(0))      # carried from slice to slice
        seen.set(seen.value.zip(requests.count()).map(lambda p: p[0] + p[1]))
        answers = s.unslice(requests.cross_singleton(count))  # back at the top level

Each read is a method named after how it slices (``batch`` for streams, ``snapshot`` for
singletons, ``atomic`` for a collection in an atomic section), and each takes the ``nondet``
token that says why the divergence is acceptable, exactly as the operator it stands for.
``state``/``state_null`` are ``Tick.cycle_with_initial``/``Tick.cycle`` with a handle that
must be ``set`` before the block ends; ``unslice`` is ``all_ticks`` for streams and ``latest``
for singletons (``unslice_atomic``: the atomic variants). Nothing here is a new operator: a
region builds the same nodes as the explicit calls, so the simulator, the runtime and the
checkers treat it exactly as they treat those calls.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Generic, TypeVar, overload

from ..ir.node import AtomicInfo, Node, TickInfo
from ..types.errors import CycleError, LocationError, UsageError
from ..types.markers import Bounded, ExactlyOnce, TotalOrder, Unbounded
from ..types.nondet import NonDet
from ..types.site import Site, caller_site
from ._access import flow_of, info_of, node_of
from ._typevars import B2, K2, O2, R2, T2, TL, U, V2
from .collection import Live, check_nondet
from .cycles import TickCycle
from .location import Atomic, Tick, TopLevel

if TYPE_CHECKING:
    from .keyed_singleton import KeyedSingleton
    from .keyed_stream import KeyedStream
    from .singleton import Optional, Singleton
    from .stream import Stream

__all__ = ["Slice", "SliceState", "sliced"]

S = TypeVar("S")


class SliceState(Generic[S]):
    """State carried from one slice to the next: ``value`` is what the previous slice ``set``
    (or the initial value in the first slice); ``set(next)`` once, before the region ends."""

    __slots__ = ("value", "site", "is_set", "_cycle")

    def __init__(self, value: S, cycle: TickCycle[Any], site: Site) -> None:
        self.value = value
        self.site = site  # where the region made it
        self.is_set = False
        self._cycle = cycle

    def set(self, next_value: S) -> None:
        """What the next slice sees as ``value`` (a collection of the same kind in this region)."""
        self._cycle.complete_next_tick(next_value)
        self.is_set = True


class Slice(Generic[TL]):
    """One sliced region of a location (made by ``sliced(loc)``); see the module docstring."""

    __slots__ = ("tick", "_info", "_reads", "_states", "_site", "_open")

    def __init__(self, tick: Tick[TL], site: Site) -> None:
        self.tick = tick
        self._info: TickInfo = info_of(tick)
        self._reads = 0
        self._states: list[SliceState[Any]] = []
        self._site = site
        self._open = False

    def __enter__(self) -> Slice[TL]:
        self._open = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._open = False
        if exc_type is not None:
            return
        for st in self._states:
            if not st.is_set:
                raise CycleError(
                    "HL401",
                    f"the state made at {st.site} in the sliced region at {self._site} was never set",
                    site=st.site,
                    fix="Call state.set(next_value) in the region: what the next slice starts from "
                    "(state.set(state.value) keeps it unchanged).",
                )
        if self._reads == 0:
            raise UsageError(
                "HL501",
                f"the sliced region at {self._site} reads no collection",
                site=self._site,
                fix="Read at least one collection with s.batch(...), s.snapshot(...) or s.atomic(...); "
                "a region is for computing on slices of live collections.",
            )

    # ---- reads --------------------------------------------------------------------------

    @overload
    def batch(self, coll: Stream[T2, TL, B2, O2, R2], nondet: NonDet) -> Stream[T2, Tick[TL], Bounded, O2, R2]: ...
    @overload
    def batch(
        self, coll: KeyedStream[K2, V2, TL, B2, O2, R2], nondet: NonDet
    ) -> KeyedStream[K2, V2, Tick[TL], Bounded, O2, R2]: ...
    def batch(self, coll: Any, nondet: Any) -> Any:
        """The elements of a top-level stream that arrived by this slice (``Stream.batch``)."""
        self._read(coll, ("stream", "keyed_stream"), "batch")
        return coll.batch(self.tick, nondet)

    @overload
    def snapshot(self, coll: Singleton[T2, TL, B2], nondet: NonDet) -> Singleton[T2, Tick[TL], Bounded]: ...
    @overload
    def snapshot(self, coll: Optional[T2, TL, B2], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]: ...
    @overload
    def snapshot(
        self, coll: KeyedSingleton[K2, V2, TL, B2], nondet: NonDet
    ) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]: ...
    def snapshot(self, coll: Any, nondet: Any) -> Any:
        """A version of a top-level singleton as this slice sees it (``snapshot``)."""
        self._read(coll, ("singleton", "optional", "keyed_singleton"), "snapshot")
        return coll.snapshot(self.tick, nondet)

    @overload
    def atomic(self, coll: Stream[T2, Atomic[Tick[TL]], B2, O2, R2], nondet: NonDet) -> Stream[T2, Tick[TL], Bounded, O2, R2]: ...
    @overload
    def atomic(
        self, coll: KeyedStream[K2, V2, Atomic[Tick[TL]], B2, O2, R2], nondet: NonDet
    ) -> KeyedStream[K2, V2, Tick[TL], Bounded, O2, R2]: ...
    @overload
    def atomic(self, coll: Singleton[T2, Atomic[Tick[TL]], B2], nondet: NonDet) -> Singleton[T2, Tick[TL], Bounded]: ...
    @overload
    def atomic(self, coll: Optional[T2, Atomic[Tick[TL]], B2], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]: ...
    @overload
    def atomic(
        self, coll: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B2], nondet: NonDet
    ) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]: ...
    def atomic(self, coll: Any, nondet: Any) -> Any:
        """A collection of an atomic section, read consistently with it: ``batch_atomic`` for
        streams, ``snapshot_atomic`` for singletons. Once an output derived from an atomic input
        has left with ``end_atomic()``, every later atomic read reflects that input.

        A section made by an argument-free ``atomic()`` joins this region's tick on its first
        read; one already read at another tick cannot (HL202).
        """
        self._read(coll, ("stream", "keyed_stream", "singleton", "optional", "keyed_singleton"), "atomic")
        token = check_nondet(nondet, "atomic")
        self._adopt(node_of(coll))
        if node_of(coll).kind in ("stream", "keyed_stream"):
            return coll.batch_atomic(token)
        return coll.snapshot_atomic(token)

    # ---- state carried between slices ----------------------------------------------------

    @overload
    def state(self, initial: Callable[[Tick[TL]], Singleton[U, Tick[TL], Bounded]]) -> SliceState[Singleton[U, Tick[TL], Bounded]]: ...
    @overload
    def state(
        self, initial: Callable[[Tick[TL]], Stream[U, Tick[TL], Bounded, O2, R2]]
    ) -> SliceState[Stream[U, Tick[TL], Bounded, O2, R2]]: ...
    def state(self, initial: Any) -> Any:
        """State that starts as ``initial(tick)`` (a singleton or stream built in this region's
        tick) and then holds what the previous slice ``set`` (``Tick.cycle_with_initial``)."""
        site = caller_site()
        if not callable(initial):
            raise UsageError("HL501", f"`state` expects a function of the tick, e.g. lambda tick: tick.singleton(0), got {initial!r}", site=site)
        tick: Any = self.tick  # the overloads of cycle_with_initial are re-checked by the call
        pair: tuple[TickCycle[Any], Any] = tick.cycle_with_initial(initial(self.tick))
        return self._keep(SliceState(pair[1], pair[0], site))

    def state_null(self, of: type[U]) -> SliceState[Stream[U, Tick[TL], Bounded, TotalOrder, ExactlyOnce]]:
        """State that is empty in the first slice and then holds what the previous slice
        ``set`` (``Tick.cycle``): a stream, so ``.first()``/``.last()`` give an optional view."""
        site = caller_site()
        handle, value = self.tick.cycle(of)
        return self._keep(SliceState(value, handle, site))

    # ---- back to the top level -----------------------------------------------------------

    @overload
    def unslice(self, coll: Stream[T2, Tick[TL], B2, O2, R2]) -> Stream[T2, TL, Unbounded, O2, R2]: ...
    @overload
    def unslice(self, coll: KeyedStream[K2, V2, Tick[TL], B2, O2, R2]) -> KeyedStream[K2, V2, TL, Unbounded, O2, R2]: ...
    @overload
    def unslice(self, coll: Singleton[T2, Tick[TL], B2]) -> Singleton[T2, TL, Unbounded]: ...
    @overload
    def unslice(self, coll: Optional[T2, Tick[TL], B2]) -> Optional[T2, TL, Unbounded]: ...
    @overload
    def unslice(self, coll: KeyedSingleton[K2, V2, Tick[TL], B2]) -> KeyedSingleton[K2, V2, TL, Unbounded]: ...
    def unslice(self, coll: Any) -> Any:
        """A result of the region at the top level: every slice's elements (``all_ticks``) for a
        stream, the latest slice's value (``latest``) for a singleton."""
        self._mine(coll, "unslice")
        return coll.all_ticks() if node_of(coll).kind in ("stream", "keyed_stream") else coll.latest()

    @overload
    def unslice_atomic(self, coll: Stream[T2, Tick[TL], B2, O2, R2]) -> Stream[T2, Atomic[Tick[TL]], Unbounded, O2, R2]: ...
    @overload
    def unslice_atomic(
        self, coll: KeyedStream[K2, V2, Tick[TL], B2, O2, R2]
    ) -> KeyedStream[K2, V2, Atomic[Tick[TL]], Unbounded, O2, R2]: ...
    @overload
    def unslice_atomic(self, coll: Singleton[T2, Tick[TL], B2]) -> Singleton[T2, Atomic[Tick[TL]], Unbounded]: ...
    @overload
    def unslice_atomic(self, coll: Optional[T2, Tick[TL], B2]) -> Optional[T2, Atomic[Tick[TL]], Unbounded]: ...
    def unslice_atomic(self, coll: Any) -> Any:
        """Like ``unslice``, but into this region's atomic section (``all_ticks_atomic`` /
        ``latest_atomic``): computed within the slice, released with ``end_atomic()``."""
        self._mine(coll, "unslice_atomic")
        kind = node_of(coll).kind
        if kind == "keyed_singleton":
            raise UsageError("HL501", "`unslice_atomic` takes a stream, keyed stream, singleton or optional", site=caller_site())
        return coll.all_ticks_atomic() if kind in ("stream", "keyed_stream") else coll.latest_atomic()

    # ---- checks ---------------------------------------------------------------------------

    def _keep(self, st: SliceState[S]) -> SliceState[S]:
        self._states.append(st)
        return st

    def _read(self, coll: object, kinds: tuple[str, ...], method: str) -> None:
        if not isinstance(coll, Live) or node_of(coll).kind not in kinds:
            raise UsageError(
                "HL501",
                f"`{method}` in a sliced region reads a {' or '.join(k.replace('_', ' ') for k in kinds)}, got {coll!r}",
                site=caller_site(),
                fix="Streams are read with s.batch(...), singletons with s.snapshot(...), "
                "collections of an atomic section with s.atomic(...).",
            )
        if flow_of(coll) is not flow_of(self.tick):
            raise LocationError("HL201", f"`{method}` reads a collection of another FlowBuilder", site=caller_site())
        self._reads += 1

    def _mine(self, coll: object, method: str) -> None:
        if not isinstance(coll, Live) or node_of(coll).scope is not self._info:
            where = node_of(coll).scope if isinstance(coll, Live) else type(coll).__name__
            raise LocationError(
                "HL202",
                f"`{method}` takes a collection computed in this region's tick ({self._info}), got one at {where}",
                site=caller_site(),
                needed=f"a collection in {self._info}",
                present=str(where),
                fix="Unslice what the region computed from its reads (s.batch/s.snapshot/s.atomic/s.state).",
            )

    def _adopt(self, n: Node) -> None:
        """Bring an atomic section into this region's tick: HL109 outside a section, and HL202
        for a section tied to another tick (given explicitly, or already read there)."""
        scope = n.scope
        if not isinstance(scope, AtomicInfo):
            raise LocationError(
                "HL109",
                f"`atomic` in a sliced region reads a collection of an atomic section, but this one is at {scope}",
                site=caller_site(),
                needed="a collection in Atomic[Tick[...]] (made with .atomic())",
                present=n.type_str(),
                fix="Enter the section first (x.atomic()), or read the collection with s.batch/s.snapshot.",
            )
        mine = self._info
        if scope.tick is mine:
            return
        graph = flow_of(self.tick).graph
        theirs = scope.tick
        used = any(m.scope is theirs for m in graph.nodes)
        if not theirs.implicit or used or theirs.outer is not mine.outer:
            raise LocationError(
                "HL202",
                f"this atomic section belongs to {theirs} (made at {theirs.site}), but the sliced region reads at {mine}",
                site=caller_site(),
                needed=f"an atomic section of {mine}, or one made by an argument-free .atomic() not yet read elsewhere",
                present=f"{n.type_str()} (built by {n.describe()})",
                fix="Enter the section with .atomic() (no tick) and read it only in this region, "
                "or pass this region's tick: .atomic(s.tick).",
            )
        target = mine.atomic_scope()
        for m in graph.nodes:
            if m.scope is scope:
                m.scope = target


@overload
def sliced(at: TL) -> Slice[TL]: ...
@overload
def sliced(at: Tick[TL]) -> Slice[TL]: ...
def sliced(at: Any) -> Any:
    """A sliced region of ``at`` (a process or cluster: a new tick; or an existing ``Tick``)."""
    site = caller_site()
    if isinstance(at, TopLevel):
        return Slice(at.tick(), site)
    if isinstance(at, Tick):
        tick: Tick[Any] = at  # pyright: ignore[reportUnknownVariableType]
        return Slice(tick, site)
    raise LocationError("HL204", f"`sliced` needs a Process, Cluster or Tick, got {type(at).__name__}", site=site)
