"""``Singleton[T, L, B]`` (one value changing over time) and ``Optional[T, L, B]`` (maybe absent).

At the top level a singleton is live state (e.g. a running fold); read a consistent version of it
inside a tick with ``snapshot(tick, nondet)``. Inside a tick it is the value for that tick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, overload

from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, TotalOrder, Unbounded
from ..types.nondet import NonDet
from ..types.site import caller_site
from ._typevars import B, B2, B3, L, T, T2, TL, U, Tag
from . import timers
from .collection import Live, check_callable
from .location import Atomic, Cluster, Process, Tick

if TYPE_CHECKING:
    from .stream import Stream

__all__ = ["Singleton", "Optional"]


class _Scalar(Live):
    __slots__ = ()

    def _zip(self, other: object) -> Any:
        self._same_location(other, "zip", _Scalar)
        o: _Scalar = other  # type: ignore[assignment]
        optional = self._node.kind == "optional" or o._node.kind == "optional"
        bound = Bounded if (self._node.bound is Bounded and o._node.bound is Bounded) else Unbounded
        return self._derive("zip", inputs=[self, o], kind="optional" if optional else "singleton", bound=bound)

    def _into_stream(self) -> Any:
        self._need_bounded("into_stream")
        return self._derive("into_stream", kind="stream", order=TotalOrder, retries=ExactlyOnce)


class Singleton(_Scalar, Generic[T, L, B], kind="singleton"):
    """One value that changes over time (top level) or the value of this tick (in a tick)."""

    __slots__ = ()

    def map(self, f: Callable[[T], U]) -> Singleton[U, L, B]:
        return self._derive("singleton_map", params={"f": check_callable(f, "map")})

    def filter(self, f: Callable[[T], bool]) -> Optional[T, L, B]:
        return self._derive("singleton_filter", kind="optional", params={"f": check_callable(f, "filter")})

    def flat_map_ordered(self: Singleton[T2, L, Bounded], f: Callable[[T2], Iterable[U]]) -> Stream[U, L, Bounded, TotalOrder, ExactlyOnce]:
        """The items of ``f(value)`` as a bounded ordered stream."""
        self._need_bounded("flat_map_ordered")
        return self._derive("singleton_flat_map", kind="stream", order=TotalOrder, retries=ExactlyOnce, params={"f": check_callable(f, "flat_map_ordered")})

    @overload
    def zip(self: Singleton[T2, L, B2], other: Singleton[U, L, B3]) -> Singleton[tuple[T2, U], L, B2 | B3]: ...
    @overload
    def zip(self: Singleton[T2, L, B2], other: Optional[U, L, B3]) -> Optional[tuple[T2, U], L, B2 | B3]: ...
    def zip(self, other: Any) -> Any:
        """Pair with another singleton/optional at the same location (Bounded only if both are)."""
        return self._zip(other)

    def into_stream(self: Singleton[T2, L, Bounded]) -> Stream[T2, L, Bounded, TotalOrder, ExactlyOnce]:
        """A one-element bounded stream."""
        return self._into_stream()

    def snapshot(self: Singleton[T2, TL, B], tick: Tick[TL], nondet: NonDet) -> Singleton[T2, Tick[TL], Bounded]:
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

    def map(self, f: Callable[[T], U]) -> Optional[U, L, B]:
        return self._derive("singleton_map", params={"f": check_callable(f, "map")})

    def filter(self, f: Callable[[T], bool]) -> Optional[T, L, B]:
        return self._derive("singleton_filter", params={"f": check_callable(f, "filter")})

    def zip(
        self: Optional[T2, L, B2], other: Singleton[U, L, B3] | Optional[U, L, B3]
    ) -> Optional[tuple[T2, U], L, B2 | B3]:
        """Pair with another singleton/optional; absent while either is absent."""
        return self._zip(other)

    def into_stream(self: Optional[T2, L, Bounded]) -> Stream[T2, L, Bounded, TotalOrder, ExactlyOnce]:
        """A zero- or one-element bounded stream."""
        return self._into_stream()

    def unwrap_or(self: Optional[T2, L, B2], default: Singleton[T2, L, B3]) -> Singleton[T2, L, B2 | B3]:
        """The value, or the value of ``default`` (a singleton at the same location) when absent."""
        self._same_location(default, "unwrap_or", Singleton)
        bound = Bounded if (self._node.bound is Bounded and default._node.bound is Bounded) else Unbounded
        return self._derive("unwrap_or", inputs=[self, default], kind="singleton", bound=bound)

    def unwrap_or_value(self: Optional[T2, L, B2], default: T2) -> Singleton[T2, L, B2]:
        """The value, or the constant ``default`` when absent."""
        return self._derive("unwrap_or", kind="singleton", params={"default": default, "method": "unwrap_or_value"})

    def is_some(self) -> Singleton[bool, L, B]:
        return self._derive("is_some", kind="singleton")

    def is_none(self) -> Singleton[bool, L, B]:
        return self._derive("is_none", kind="singleton")

    def snapshot(self: Optional[T2, TL, B], tick: Tick[TL], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]:
        return self._into_tick("snapshot", tick, nondet)

    def snapshot_atomic(self: Optional[T2, Atomic[Tick[TL]], B], nondet: NonDet) -> Optional[T2, Tick[TL], Bounded]:
        return self._snapshot_atomic(nondet)

    def latest(self: Optional[T2, Tick[TL], B]) -> Optional[T2, TL, Unbounded]:
        return self._leave_tick("latest")

    def defer_tick(self: Optional[T2, Tick[TL], B]) -> Optional[T2, Tick[TL], B]:
        self._need_in_tick("defer_tick")
        return self._derive("defer_tick", params={"deferred": (0,)})

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
