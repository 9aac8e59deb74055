"""``Singleton[T, L, B]`` (one value changing over time) and ``Optional[T, L, B]`` (maybe absent).

At the top level a singleton is live state (e.g. a running fold); read a consistent version of it
inside a tick with ``snapshot(tick, nondet)``. Inside a tick it is the value for that tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Iterable, overload

from ..types.markers import Bounded, EventualConsistency, ExactlyOnce, NoOrder, TotalOrder, Unbounded, Monotonic, forget_monotonic, min_bound, AtLeastOnce
from ..types.nondet import NonDet, Proof
from ..types.site import caller_site
from ._typevars import B, B2, B3, L, T, T2, TL, U, Tag
from .collection import Live, check_callable, check_proof
from .location import Atomic, Tick, Cluster, Process
from . import timers

if TYPE_CHECKING:
    from .stream import Stream

__all__ = ["Singleton", "Optional"]


class _Scalar(Live):
    __slots__ = ()

    def _zip(self, other: object) -> Any:
        self._same_location(other, "zip", _Scalar)
        o: _Scalar = other  # type: ignore[assignment]
        optional = self._node.kind == "optional" or o._node.kind == "optional"
        # a pair of monotone values grows in Python's (lexicographic) tuple order, so zip keeps Monotonic
        assert self._node.bound is not None and o._node.bound is not None
        bound = min_bound(self._node.bound, o._node.bound)
        return self._derive("zip", inputs=[self, o], kind="optional" if optional else "singleton", bound=bound)

    def _map(self, f: object, order_preserving: object) -> Any:
        """``map``: a monotone input stays monotone only with an ``order_preserving`` proof."""
        fn = check_callable(f, "map")
        if order_preserving is None:
            return self._derive("singleton_map", bound=forget_monotonic(self._node.bound), params={"f": fn})
        token = check_proof(order_preserving, "map", "order_preserving")
        return self._derive("singleton_map", params={"f": fn}, proofs={"order_preserving": token})

    def _into_stream(self) -> Any:
        self._need_bounded("into_stream")
        return self._derive("into_stream", kind="stream", order=TotalOrder, retries=ExactlyOnce)

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def _filter_if(self, cond: object) -> Any:
        """The value while the bool singleton ``cond`` is true, as an Optional."""
        self._same_location(cond, "filter_if", Singleton)
        both = self._zip(cond)
        kept = both._derive("singleton_filter", kind="optional", params={"f": _second_true, "method": "filter_if"})
        return kept._derive("singleton_map", params={"f": _first, "method": "filter_if"})

    def _filter_map(self, f: object) -> Any:
        fn = check_callable(f, "filter_map")
        mapped = self._derive("singleton_map", params={"f": fn, "method": "filter_map"})
        return mapped._derive("singleton_filter", kind="optional", params={"f": _not_none, "method": "filter_map"})

    def _flat_map(self, f: object, method: str, ordered: bool) -> Any:
        self._need_bounded(method)
        order = TotalOrder if ordered else NoOrder
        fn = check_callable(f, method)
        return self._derive("singleton_flat_map", kind="stream", order=order, retries=ExactlyOnce, params={"f": fn, "method": method})

    def _combine(self, other: object, method: str, f: Callable[[Any], Any]) -> Any:
        self._same_location(other, method, Singleton)
        return self._zip(other)._derive("singleton_map", params={"f": f, "method": method})


class Singleton(_Scalar, Generic[T, L, B], kind="singleton"):
    """One value that changes over time (top level) or the value of this tick (in a tick)."""

    __slots__ = ()

    # A plain map or filter may shrink a Monotonic value: the result keeps Bounded and is
    # otherwise Unbounded (the Bounded overloads choose the output; they are not a requirement).
    @overload
    def map(self: Singleton[T2, L, Bounded], f: Callable[[T2], U]) -> Singleton[U, L, Bounded]: ...
    @overload
    def map(self: Singleton[T2, L, B2], f: Callable[[T2], U], *, order_preserving: Proof) -> Singleton[U, L, B2]: ...
    @overload
    def map(self: Singleton[T2, L, B2], f: Callable[[T2], U]) -> Singleton[U, L, Unbounded]: ...
    def map(self, f: Any, *, order_preserving: Any = None) -> Any:
        """``f(value)``, recomputed as the value changes.

        A ``Monotonic`` value stays monotone only with ``order_preserving=proof("why a <= b
        implies f(a) <= f(b)")``; without it the result is ``Unbounded`` (``f`` could make it shrink).
        """
        return self._map(f, order_preserving)

    @overload
    def filter(self: Singleton[T2, L, Bounded], f: Callable[[T2], bool]) -> Optional[T2, L, Bounded]: ...
    @overload
    def filter(self: Singleton[T2, L, B2], f: Callable[[T2], bool]) -> Optional[T2, L, Unbounded]: ...
    def filter(self, f: Any) -> Any:
        return self._derive(
            "singleton_filter", kind="optional", bound=forget_monotonic(self._node.bound), params={"f": check_callable(f, "filter")}
        )

    def flat_map_ordered(self: Singleton[T2, L, Bounded], f: Callable[[T2], Iterable[U]]) -> Stream[U, L, Bounded, TotalOrder, ExactlyOnce]:
        """The items of ``f(value)`` as a bounded ordered stream."""
        self._need_bounded("flat_map_ordered")
        return self._derive("singleton_flat_map", kind="stream", order=TotalOrder, retries=ExactlyOnce, params={"f": check_callable(f, "flat_map_ordered")})

    @overload
    def zip(self: Singleton[T2, L, B2], other: Singleton[U, L, B3]) -> Singleton[tuple[T2, U], L, B2 | B3]: ...
    @overload
    def zip(self: Singleton[T2, L, B2], other: Optional[U, L, B3]) -> Optional[tuple[T2, U], L, B2 | B3]: ...
    @overload
    def zip(self: Singleton[T2, Cluster[Tag, Any], B2], other: Singleton[U, Cluster[Tag, Any], B3]) -> Singleton[tuple[T2, U], Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    @overload
    def zip(self: Singleton[T2, Cluster[Tag, Any], B2], other: Optional[U, Cluster[Tag, Any], B3]) -> Optional[tuple[T2, U], Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def zip(self, other: Any) -> Any:
        """Pair with another singleton/optional at the same location (Bounded only if both are)."""
        return self._zip(other)

    def into_stream(self: Singleton[T2, L, Bounded]) -> Stream[T2, L, Bounded, TotalOrder, ExactlyOnce]:
        """A one-element bounded stream."""
        return self._into_stream()

    @overload
    def snapshot(self: Singleton[T2, TL, B], tick: Tick[TL], nondet: NonDet) -> Singleton[T2, Tick[TL], Bounded]: ...
    @overload
    def snapshot(self: Singleton[T2, Cluster[Tag, Any], B], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> Singleton[T2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def snapshot(self, tick: Any, nondet: NonDet) -> Any:
        """The value as of this tick; which version is seen is a nondet site."""
        return self._into_tick("snapshot", tick, nondet)

    def snapshot_atomic(self: Singleton[T2, Atomic[Tick[TL]], B], nondet: NonDet) -> Singleton[T2, Tick[TL], Bounded]:
        """The value in the atomic section's tick; reflects every input whose derived output has
        been released (read-after-write). Which later inputs it also reflects is a nondet site."""
        return self._snapshot_atomic(nondet)

    def latest(self: Singleton[T2, Tick[TL], B]) -> Singleton[T2, TL, Unbounded]:
        """Leave the tick: a top-level singleton replaced by each tick's value."""
        return self._leave_tick("latest")

    def defer_tick(self: Singleton[T2, Tick[TL], B]) -> Optional[T2, Tick[TL], B]:
        """Last tick's value (absent in the first tick)."""
        self._need_in_tick("defer_tick")
        return self._derive("defer_tick", kind="optional", params={"deferred": (0,)})

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def location(self) -> L:
        """The location this singleton lives at (a Process, Cluster, Tick or atomic section)."""
        return self._location()

    def flat_map_unordered(self: Singleton[T2, L, Bounded], f: Callable[[T2], Iterable[U]]) -> Stream[U, L, Bounded, NoOrder, ExactlyOnce]:
        """The items of ``f(value)`` (an iterable with no deterministic order) as a NoOrder stream."""
        return self._flat_map(f, "flat_map_unordered", ordered=False)

    def flatten_ordered(self: Singleton[Iterable[U], L, Bounded]) -> Stream[U, L, Bounded, TotalOrder, ExactlyOnce]:
        """The items of the value (an ordered iterable) as a bounded ordered stream."""
        return self._flat_map(_identity, "flatten_ordered", ordered=True)

    def flatten_unordered(self: Singleton[Iterable[U], L, Bounded]) -> Stream[U, L, Bounded, NoOrder, ExactlyOnce]:
        """The items of the value (e.g. a set) as a bounded NoOrder stream."""
        return self._flat_map(_identity, "flatten_unordered", ordered=False)

    def filter_map(self, f: Callable[[T], U | None]) -> Optional[U, L, B]:
        """``f(value)`` when it is not None, else absent."""
        return self._filter_map(f)

    @overload
    def filter_if(self: Singleton[T2, L, B2], cond: Singleton[bool, L, B3]) -> Optional[T2, L, B2 | B3]: ...
    @overload
    def filter_if(self: Singleton[T2, Cluster[Tag, Any], B2], cond: Singleton[bool, Cluster[Tag, Any], B3]) -> Optional[T2, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_if(self: Singleton[T2, Any, B2], cond: Any) -> Any:
        """The value while ``cond`` is true, else absent (Hydro's ``filter_if_some(o)`` is
        ``filter_if(o.is_some())``)."""
        return self._filter_if(cond)

    @overload
    def equals(self: Singleton[T2, L, B2], other: Singleton[T2, L, B3]) -> Singleton[bool, L, B2 | B3]: ...
    @overload
    def equals(self: Singleton[T2, Cluster[Tag, Any], B2], other: Singleton[T2, Cluster[Tag, Any], B3]) -> Singleton[bool, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def equals(self: Singleton[T2, Any, B2], other: Any) -> Any:
        """Whether the two values are equal."""
        return self._combine(other, "equals", _equal_pair)

    @overload
    def and_(self: Singleton[bool, L, B2], other: Singleton[bool, L, B3]) -> Singleton[bool, L, B2 | B3]: ...
    @overload
    def and_(self: Singleton[bool, Cluster[Tag, Any], B2], other: Singleton[bool, Cluster[Tag, Any], B3]) -> Singleton[bool, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def and_(self: Singleton[bool, Any, B2], other: Any) -> Any:
        """Logical and of two bool singletons (``and`` is a Python keyword)."""
        return self._combine(other, "and_", _and_pair)

    @overload
    def or_(self: Singleton[bool, L, B2], other: Singleton[bool, L, B3]) -> Singleton[bool, L, B2 | B3]: ...
    @overload
    def or_(self: Singleton[bool, Cluster[Tag, Any], B2], other: Singleton[bool, Cluster[Tag, Any], B3]) -> Singleton[bool, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def or_(self: Singleton[bool, Any, B2], other: Any) -> Any:
        """Logical or of two bool singletons (``or`` is a Python keyword)."""
        return self._combine(other, "or_", _or_pair)

    def into_optional(self: Singleton[T2 | None, L, B]) -> Optional[T2, L, B]:
        """A singleton whose value may be None, as an Optional absent exactly when it is None."""
        return self._derive("singleton_filter", kind="optional", params={"f": _not_none, "method": "into_optional"})

    def make_bounded(self: Singleton[T2, L, Bounded]) -> Singleton[T2, L, Bounded]:
        """This singleton, which is already Bounded (checked); for code generic in the boundedness."""
        self._need_bounded("make_bounded")
        return self

    def all_ticks(self: Singleton[T2, Tick[TL], B]) -> Stream[T2, TL, Unbounded, TotalOrder, ExactlyOnce]:
        """Each tick's value as one element of a top-level stream."""
        self._need_in_tick("all_ticks")
        return self._into_stream()._leave_tick("all_ticks")


    # --- sliced regions, stateful ticks and atomic reads
    @overload
    def clone_into_tick(self: Singleton[T2, TL, Bounded], tick: Tick[TL]) -> Singleton[T2, Tick[TL], Bounded]: ...
    @overload
    def clone_into_tick(self: Singleton[T2, Cluster[Tag, Any], Bounded], tick: Tick[Cluster[Tag, Any]]) -> Singleton[T2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def clone_into_tick(self, tick: Any) -> Any:
        """This bounded top-level value in every tick of ``tick``. Unlike ``snapshot`` it needs no
        nondet: a Bounded value has one version, so every tick sees the same."""
        return self._clone_into_tick(tick)

    def atomic(self: Singleton[T2, TL, B2], tick: Tick[TL] | None = None) -> Singleton[T2, Atomic[Tick[TL]], B2]:
        """Enter an atomic section: every ``snapshot_atomic`` of it in one tick sees one version,
        computed before anything derived from it leaves with ``end_atomic`` (see ``Stream.atomic``)."""
        return self._scalar_atomic(tick)

    def end_atomic(self: Singleton[T2, Atomic[Tick[TL]], B2]) -> Singleton[T2, TL, B2]:
        """Leave the atomic section, back to the top level."""
        return self._scalar_end_atomic()

    def latest_atomic(self: Singleton[T2, Tick[TL], B]) -> Singleton[T2, Atomic[Tick[TL]], Unbounded]:
        """Like ``latest``, into the tick's atomic section (synchronous with the tick)."""
        return self._leave_tick_atomic("latest_atomic")

    def all_ticks_atomic(self: Singleton[T2, Tick[TL], B]) -> Stream[T2, Atomic[Tick[TL]], Unbounded, TotalOrder, ExactlyOnce]:
        """Like ``all_ticks`` (each tick's value as one element), but into the tick's atomic
        section: what is derived from it is computed within the same tick (``end_atomic()`` then
        releases it)."""
        tick = self._need_in_tick("all_ticks_atomic")
        one = self._into_stream()
        return one._derive("all_ticks_atomic", scope=tick.atomic_scope(), bound=Unbounded, params={"method": "all_ticks_atomic"})

    def resolve_future_blocking(self: Singleton[Awaitable[T2], L, Bounded]) -> Singleton[T2, L, Bounded]:
        """The result of awaiting the value (an awaitable), before the tick goes on: the
        singleton form of ``Stream.resolve_futures_blocking`` (deterministic, no nondet site; the
        location waits for the call). Needs a Bounded singleton, e.g. one inside a tick."""
        self._need_bounded("resolve_future_blocking")
        one = self._into_stream()
        done = one._derive("resolve_futures_blocking", params={"max_in_flight": 1, "method": "resolve_future_blocking"})
        return done._derive(
            "fold", kind="singleton", params={"init": _none, "f": _take_second, "method": "resolve_future_blocking"}
        )

    # --- consistency across a cluster's members: ``Cluster[Tag, Con]`` in the type (mypy and
    # pyright check it), derived again from the graph and checked by the builder (HL112)
    @overload
    def weaken_consistency(self: Singleton[T2, Cluster[Tag, Any], B2]) -> Singleton[T2, Cluster[Tag], B2]: ...
    @overload
    def weaken_consistency(self) -> Singleton[T, L, B]: ...
    def weaken_consistency(self) -> Any:
        """The same singleton, typed ``Cluster[Tag, NoConsistency]``: no longer counted as
        eventually consistent across its cluster (free), like Hydro's ``weaken_consistency()``.
        Elsewhere (a process, a tick) the type is unchanged."""
        return self._weaken_consistency()

    @overload
    def assert_has_consistency_of(
        self: Singleton[T2, Cluster[Tag, Any], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> Singleton[T2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def assert_has_consistency_of(
        self: Singleton[T2, Process[Tag], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> Singleton[T2, Process[Tag], B2]: ...
    def assert_has_consistency_of(self, consistency: type[EventualConsistency], nondet: NonDet) -> Any:
        """Claim that every member of the cluster converges on the same value (``consistency`` is
        ``hl.EventualConsistency``) for a reason the builder cannot see; ``nondet`` says why. The
        result is typed ``Cluster[Tag, EventualConsistency]``. A nondet site the simulator
        checks once an execution settles (HL612).

        An escape hatch like ``assume_ordering``, at the top level only."""
        return self._assert_consistency(consistency, nondet)

    @overload
    def make_eventually_consistent(self: Singleton[T2, Cluster[Tag, EventualConsistency], B2]) -> Singleton[T2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def make_eventually_consistent(self: Singleton[T2, Process[Tag], B2]) -> Singleton[T2, Process[Tag], B2]: ...
    @overload
    def make_eventually_consistent(self: Singleton[T2, Tick[Cluster[Tag, EventualConsistency]], B2]) -> Singleton[T2, Tick[Cluster[Tag, EventualConsistency]], B2]: ...
    @overload
    def make_eventually_consistent(self: Singleton[T2, Tick[Process[Tag]], B2]) -> Singleton[T2, Tick[Process[Tag]], B2]: ...
    def make_eventually_consistent(self) -> Any:
        """This singleton, required to be eventually consistent across its cluster: at steady
        state every member holds the same value. mypy and pyright require its type to say so
        (``Cluster[Tag, EventualConsistency]``), and the builder checks the graph again (HL112,
        naming where the members' values could first differ), once every cycle is complete.

        Consistent: constants, what ``broadcast_closed`` delivers over a fail-stop channel, and
        what deterministic operators derive from those only. Not: per-member inputs, ``demux``,
        ``round_robin``, ``broadcast`` (it reaches the members of the moment), nondet sites
        (``batch``, ``snapshot``, ...), lossy channels, ``weaken_consistency()``. On a process it
        always holds."""
        return self._require_consistency()

    # --- monotonicity and thresholds
    @overload
    def ignore_monotonic(self: Singleton[T2, L, Bounded]) -> Singleton[T2, L, Bounded]: ...
    @overload
    def ignore_monotonic(self: Singleton[T2, L, B2]) -> Singleton[T2, L, Unbounded]: ...
    def ignore_monotonic(self) -> Any:
        """The same value, typed without the ``Monotonic`` promise (free)."""
        return self._derive("cast", bound=forget_monotonic(self._node.bound), params={"method": "ignore_monotonic"})

    @overload
    def threshold_greater_or_equal(
        self: Singleton[T2, L, Bounded], threshold: Singleton[T2, L, Bounded]
    ) -> Stream[T2, L, Bounded, TotalOrder, ExactlyOnce]: ...
    @overload
    def threshold_greater_or_equal(
        self: Singleton[T2, L, Monotonic], threshold: Singleton[T2, L, Bounded]
    ) -> Stream[T2, L, Unbounded, TotalOrder, ExactlyOnce]: ...
    def threshold_greater_or_equal(self, threshold: Any) -> Any:
        """The threshold's value, emitted once, when this value first reaches it (``>=``).

        Needs no ``nondet``: a ``Monotonic`` value only grows, so "has it reached t?" flips from
        false to true once and stays true, whenever the location happens to look. That is why
        only monotone (or bounded) singletons offer it (HL111): on a value that can shrink, the
        answer would depend on when it was read.
        """
        return self._threshold(threshold, "threshold_greater_or_equal", Singleton, "stream", {})

    # --- timers -------------------------------------------------------------------------

    @overload
    def sample_every(
        self: Singleton[T2, Process[Tag], B], seconds: float, nondet: NonDet
    ) -> Stream[T2, Process[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    @overload
    def sample_every(
        self: Singleton[T2, Cluster[Tag], B], seconds: float, nondet: NonDet
    ) -> Stream[T2, Cluster[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    def sample_every(self, seconds: float, nondet: NonDet) -> Any:
        """The value about every ``seconds``, as a stream: a sample in each tick where the timer
        fired. Which version each sample sees and when the timer fires are nondet sites."""
        return timers.sample_every(self, seconds, nondet)

    @overload
    def sample_eager(self: Singleton[T2, Process[Tag], B], nondet: NonDet) -> Stream[T2, Process[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    @overload
    def sample_eager(self: Singleton[T2, Cluster[Tag], B], nondet: NonDet) -> Stream[T2, Cluster[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    def sample_eager(self, nondet: NonDet) -> Any:
        """The value sampled as often as the location runs (a sample per tick of a tick of its
        own); repeats are possible (AtLeastOnce) and which versions are seen is a nondet site."""
        return timers.sample_eager(self, nondet)


class Optional(_Scalar, Generic[T, L, B], kind="optional"):
    """A value that may be absent."""

    __slots__ = ()

    @overload
    def map(self: Optional[T2, L, Bounded], f: Callable[[T2], U]) -> Optional[U, L, Bounded]: ...
    @overload
    def map(self: Optional[T2, L, B2], f: Callable[[T2], U], *, order_preserving: Proof) -> Optional[U, L, B2]: ...
    @overload
    def map(self: Optional[T2, L, B2], f: Callable[[T2], U]) -> Optional[U, L, Unbounded]: ...
    def map(self, f: Any, *, order_preserving: Any = None) -> Any:
        """``f(value)`` while present (see ``Singleton.map`` for ``order_preserving``)."""
        return self._map(f, order_preserving)

    @overload
    def filter(self: Optional[T2, L, Bounded], f: Callable[[T2], bool]) -> Optional[T2, L, Bounded]: ...
    @overload
    def filter(self: Optional[T2, L, B2], f: Callable[[T2], bool]) -> Optional[T2, L, Unbounded]: ...
    def filter(self, f: Any) -> Any:
        return self._derive("singleton_filter", bound=forget_monotonic(self._node.bound), params={"f": check_callable(f, "filter")})

    @overload
    def zip(self: Optional[T2, L, B2], other: Singleton[U, L, B3] | Optional[U, L, B3]) -> Optional[tuple[T2, U], L, B2 | B3]: ...
    @overload
    def zip(self: Optional[T2, Cluster[Tag, Any], B2], other: Singleton[U, Cluster[Tag, Any], B3] | Optional[U, Cluster[Tag, Any], B3]) -> Optional[tuple[T2, U], Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def zip(self: Optional[T2, Any, B2], other: Any) -> Any:
        """Pair with another singleton/optional; absent while either is absent."""
        return self._zip(other)

    def into_stream(self: Optional[T2, L, Bounded]) -> Stream[T2, L, Bounded, TotalOrder, ExactlyOnce]:
        """A zero- or one-element bounded stream."""
        return self._into_stream()

    @overload
    def unwrap_or(self: Optional[T2, L, B2], default: Singleton[T2, L, B3]) -> Singleton[T2, L, B2 | B3]: ...
    @overload
    def unwrap_or(self: Optional[T2, Cluster[Tag, Any], B2], default: Singleton[T2, Cluster[Tag, Any], B3]) -> Singleton[T2, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def unwrap_or(self: Optional[T2, Any, B2], default: Any) -> Any:
        """The value, or the value of ``default`` (a singleton at the same location) when absent."""
        self._same_location(default, "unwrap_or", Singleton)
        assert self._node.bound is not None and default._node.bound is not None
        bound = min_bound(self._node.bound, default._node.bound)
        return self._derive("unwrap_or", inputs=[self, default], kind="singleton", bound=bound)

    def unwrap_or_value(self: Optional[T2, L, B2], default: T2) -> Singleton[T2, L, B2]:
        """The value, or the constant ``default`` when absent."""
        return self._derive("unwrap_or", kind="singleton", params={"default": default, "method": "unwrap_or_value"})

    def is_some(self) -> Singleton[bool, L, B]:
        return self._derive("is_some", kind="singleton")

    def is_none(self) -> Singleton[bool, L, B]:
        return self._derive("is_none", kind="singleton")

    @overload
    def snapshot(self: Optional[T2, TL, B], tick: Tick[TL], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]: ...
    @overload
    def snapshot(self: Optional[T2, Cluster[Tag, Any], B], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> Optional[T2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def snapshot(self, tick: Any, nondet: NonDet) -> Any:
        return self._into_tick("snapshot", tick, nondet)

    def snapshot_atomic(self: Optional[T2, Atomic[Tick[TL]], B], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]:
        return self._snapshot_atomic(nondet)

    def latest(self: Optional[T2, Tick[TL], B]) -> Optional[T2, TL, Unbounded]:
        return self._leave_tick("latest")

    def defer_tick(self: Optional[T2, Tick[TL], B]) -> Optional[T2, Tick[TL], B]:
        self._need_in_tick("defer_tick")
        return self._derive("defer_tick", params={"deferred": (0,)})

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def location(self) -> L:
        """The location this optional lives at (a Process, Cluster, Tick or atomic section)."""
        return self._location()

    def flat_map_ordered(self: Optional[T2, L, Bounded], f: Callable[[T2], Iterable[U]]) -> Stream[U, L, Bounded, TotalOrder, ExactlyOnce]:
        """The items of ``f(value)`` as a bounded ordered stream (empty when absent)."""
        return self._flat_map(f, "flat_map_ordered", ordered=True)

    def flat_map_unordered(self: Optional[T2, L, Bounded], f: Callable[[T2], Iterable[U]]) -> Stream[U, L, Bounded, NoOrder, ExactlyOnce]:
        """The items of ``f(value)`` as a bounded NoOrder stream (empty when absent)."""
        return self._flat_map(f, "flat_map_unordered", ordered=False)

    def flatten_ordered(self: Optional[Iterable[U], L, Bounded]) -> Stream[U, L, Bounded, TotalOrder, ExactlyOnce]:
        """The items of the value as a bounded ordered stream (empty when absent)."""
        return self._flat_map(_identity, "flatten_ordered", ordered=True)

    def flatten_unordered(self: Optional[Iterable[U], L, Bounded]) -> Stream[U, L, Bounded, NoOrder, ExactlyOnce]:
        """The items of the value as a bounded NoOrder stream (empty when absent)."""
        return self._flat_map(_identity, "flatten_unordered", ordered=False)

    def filter_map(self, f: Callable[[T], U | None]) -> Optional[U, L, B]:
        """``f(value)`` when present and not None, else absent."""
        return self._filter_map(f)

    @overload
    def filter_if(self: Optional[T2, L, B2], cond: Singleton[bool, L, B3]) -> Optional[T2, L, B2 | B3]: ...
    @overload
    def filter_if(self: Optional[T2, Cluster[Tag, Any], B2], cond: Singleton[bool, Cluster[Tag, Any], B3]) -> Optional[T2, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_if(self: Optional[T2, Any, B2], cond: Any) -> Any:
        """The value while ``cond`` is true, else absent (Hydro's ``filter_if_some(o)`` is
        ``filter_if(o.is_some())``)."""
        return self._filter_if(cond)

    @overload
    def or_(self: Optional[T2, L, B2], other: Optional[T2, L, B3]) -> Optional[T2, L, B2 | B3]: ...
    @overload
    def or_(self: Optional[T2, Cluster[Tag, Any], B2], other: Optional[T2, Cluster[Tag, Any], B3]) -> Optional[T2, Cluster[Tag], B2 | B3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def or_(self: Optional[T2, Any, B2], other: Any) -> Any:
        """This value when present, else ``other``'s (``or`` is a Python keyword)."""
        self._same_location(other, "or_", Optional)
        bound = Bounded if (self._node.bound is Bounded and other._node.bound is Bounded) else Unbounded
        return self._derive("unwrap_or", inputs=[self, other], bound=bound, params={"method": "or_"})

    def into_singleton(self: Optional[T2, L, B]) -> Singleton[T2 | None, L, B]:
        """A singleton holding the value, or None while absent."""
        return self._derive("unwrap_or", kind="singleton", params={"default": None, "method": "into_singleton"})

    def make_bounded(self: Optional[T2, L, Bounded]) -> Optional[T2, L, Bounded]:
        """This optional, which is already Bounded (checked); for code generic in the boundedness."""
        self._need_bounded("make_bounded")
        return self

    # --- sliced regions, stateful ticks and atomic reads
    @overload
    def clone_into_tick(self: Optional[T2, TL, Bounded], tick: Tick[TL]) -> Optional[T2, Tick[TL], Bounded]: ...
    @overload
    def clone_into_tick(self: Optional[T2, Cluster[Tag, Any], Bounded], tick: Tick[Cluster[Tag, Any]]) -> Optional[T2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def clone_into_tick(self, tick: Any) -> Any:
        """This bounded top-level optional in every tick of ``tick`` (one version: no nondet)."""
        return self._clone_into_tick(tick)

    def latest_atomic(self: Optional[T2, Tick[TL], B]) -> Optional[T2, Atomic[Tick[TL]], Unbounded]:
        """Like ``latest``, into the tick's atomic section (synchronous with the tick)."""
        return self._leave_tick_atomic("latest_atomic")

    # --- consistency across a cluster's members: ``Cluster[Tag, Con]`` in the type (mypy and
    # pyright check it), derived again from the graph and checked by the builder (HL112)
    @overload
    def weaken_consistency(self: Optional[T2, Cluster[Tag, Any], B2]) -> Optional[T2, Cluster[Tag], B2]: ...
    @overload
    def weaken_consistency(self) -> Optional[T, L, B]: ...
    def weaken_consistency(self) -> Any:
        """The same optional, typed ``Cluster[Tag, NoConsistency]``: no longer counted as
        eventually consistent across its cluster (free), like Hydro's ``weaken_consistency()``.
        Elsewhere (a process, a tick) the type is unchanged."""
        return self._weaken_consistency()

    @overload
    def assert_has_consistency_of(
        self: Optional[T2, Cluster[Tag, Any], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> Optional[T2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def assert_has_consistency_of(
        self: Optional[T2, Process[Tag], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> Optional[T2, Process[Tag], B2]: ...
    def assert_has_consistency_of(self, consistency: type[EventualConsistency], nondet: NonDet) -> Any:
        """Claim that every member of the cluster converges on the same value (``consistency`` is
        ``hl.EventualConsistency``) for a reason the builder cannot see; ``nondet`` says why. The
        result is typed ``Cluster[Tag, EventualConsistency]``. A nondet site the simulator
        checks once an execution settles (HL612).

        An escape hatch like ``assume_ordering``, at the top level only."""
        return self._assert_consistency(consistency, nondet)

    @overload
    def make_eventually_consistent(self: Optional[T2, Cluster[Tag, EventualConsistency], B2]) -> Optional[T2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def make_eventually_consistent(self: Optional[T2, Process[Tag], B2]) -> Optional[T2, Process[Tag], B2]: ...
    @overload
    def make_eventually_consistent(self: Optional[T2, Tick[Cluster[Tag, EventualConsistency]], B2]) -> Optional[T2, Tick[Cluster[Tag, EventualConsistency]], B2]: ...
    @overload
    def make_eventually_consistent(self: Optional[T2, Tick[Process[Tag]], B2]) -> Optional[T2, Tick[Process[Tag]], B2]: ...
    def make_eventually_consistent(self) -> Any:
        """This optional, required to be eventually consistent across its cluster: at steady
        state every member holds the same value. mypy and pyright require its type to say so
        (``Cluster[Tag, EventualConsistency]``), and the builder checks the graph again (HL112,
        naming where the members' values could first differ), once every cycle is complete.

        Consistent: constants, what ``broadcast_closed`` delivers over a fail-stop channel, and
        what deterministic operators derive from those only. Not: per-member inputs, ``demux``,
        ``round_robin``, ``broadcast`` (it reaches the members of the moment), nondet sites
        (``batch``, ``snapshot``, ...), lossy channels, ``weaken_consistency()``. On a process it
        always holds."""
        return self._require_consistency()

    # --- timers -------------------------------------------------------------------------

    @overload
    def sample_every(
        self: Optional[T2, Process[Tag], B], seconds: float, nondet: NonDet
    ) -> Stream[T2, Process[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    @overload
    def sample_every(
        self: Optional[T2, Cluster[Tag], B], seconds: float, nondet: NonDet
    ) -> Stream[T2, Cluster[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    def sample_every(self, seconds: float, nondet: NonDet) -> Any:
        """The value about every ``seconds`` (no sample while absent); see ``Singleton.sample_every``."""
        return timers.sample_every(self, seconds, nondet)

    @overload
    def sample_eager(self: Optional[T2, Process[Tag], B], nondet: NonDet) -> Stream[T2, Process[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    @overload
    def sample_eager(self: Optional[T2, Cluster[Tag], B], nondet: NonDet) -> Stream[T2, Cluster[Tag], Unbounded, TotalOrder, AtLeastOnce]: ...
    def sample_eager(self, nondet: NonDet) -> Any:
        """The value as often as the location runs (no sample while absent); see ``Singleton.sample_eager``."""
        return timers.sample_eager(self, nondet)


_ = caller_site


def _none() -> None:
    return None


def _take_second(_acc: Any, x: Any) -> Any:
    return x


def _identity(x: Any) -> Any:
    return x


def _first(pair: Any) -> Any:
    return pair[0]


def _second_true(pair: Any) -> bool:
    return bool(pair[1])


def _not_none(x: object) -> bool:
    return x is not None


def _equal_pair(pair: Any) -> bool:
    return bool(pair[0] == pair[1])


def _and_pair(pair: Any) -> bool:
    return bool(pair[0] and pair[1])


def _or_pair(pair: Any) -> bool:
    return bool(pair[0] or pair[1])
