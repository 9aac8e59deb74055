"""``KeyedSingleton[K, V, L, B]``: a live map with one value per key (e.g. per-key folds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, overload

from ..types.markers import Bounded, ExactlyOnce, Monotonic, NoOrder, TotalOrder, Unbounded, forget_monotonic
from ..types.nondet import NonDet
from ._typevars import B, B2, K, K2, L, O, R, T2, TL, U, V, V2
from .collection import Live, check_callable
from .location import Atomic, Tick

if TYPE_CHECKING:
    from .keyed_stream import KeyedStream
    from .singleton import Optional, Singleton
    from .stream import Stream

__all__ = ["KeyedSingleton"]


class KeyedSingleton(Live, Generic[K, V, L, B], kind="keyed_singleton"):
    """One value per key. At the top level, ``entries()`` emits each entry when it changes."""

    __slots__ = ()

    # A plain map or filter may shrink a Monotonic value: Bounded stays Bounded, otherwise Unbounded.
    @overload
    def map(self: KeyedSingleton[K2, V2, L, Bounded], f: Callable[[V2], U]) -> KeyedSingleton[K2, U, L, Bounded]: ...
    @overload
    def map(self: KeyedSingleton[K2, V2, L, B2], f: Callable[[V2], U]) -> KeyedSingleton[K2, U, L, Unbounded]: ...
    def map(self, f: Any) -> Any:
        """``f(value)`` for each key (a ``Monotonic`` map is no longer monotone: ``f`` could shrink values)."""
        return self._derive("ks_map", bound=forget_monotonic(self._node.bound), params={"f": check_callable(f, "map")})

    @overload
    def filter(self: KeyedSingleton[K2, V2, L, Bounded], f: Callable[[V2], bool]) -> KeyedSingleton[K2, V2, L, Bounded]: ...
    @overload
    def filter(self: KeyedSingleton[K2, V2, L, B2], f: Callable[[V2], bool]) -> KeyedSingleton[K2, V2, L, Unbounded]: ...
    def filter(self, f: Any) -> Any:
        return self._derive("ks_filter", bound=forget_monotonic(self._node.bound), params={"f": check_callable(f, "filter")})

    def entries(self) -> Stream[tuple[K, V], L, B, NoOrder]:
        """(key, value) pairs: in a tick, all of them; at the top level, those that changed."""
        return self._derive("ks_entries", kind="stream", order=NoOrder, bound=forget_monotonic(self._node.bound))

    def keys(self) -> Stream[K, L, B, NoOrder]:
        return self._derive("ks_keys", kind="stream", order=NoOrder, bound=forget_monotonic(self._node.bound))

    def values(self) -> Stream[V, L, B, NoOrder]:
        return self._derive("ks_values", kind="stream", order=NoOrder, bound=forget_monotonic(self._node.bound))

    def get(self, key: object) -> Optional[V, L, B]:
        """The value at ``key`` (absent if missing)."""
        return self._derive("ks_get", kind="optional", params={"key": key})

    def snapshot(self: KeyedSingleton[K2, V2, TL, B], tick: Tick[TL], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]:
        """The map as of this tick; which version is seen is a nondet site."""
        return self._into_tick("snapshot", tick, nondet)

    def snapshot_atomic(self: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]:
        """The map in the atomic section's tick, reflecting every acknowledged atomic input."""
        return self._snapshot_atomic(nondet)

    def latest(self: KeyedSingleton[K2, V2, Tick[TL], B]) -> KeyedSingleton[K2, V2, TL, Unbounded]:
        return self._leave_tick("latest")

    def join_keyed_stream(
        self: KeyedSingleton[K2, V2, L, Bounded], other: KeyedStream[K2, T2, L, B, O, R]
    ) -> KeyedStream[K2, tuple[T2, V2], L, B, O, R]:
        """For each (k, x) of ``other`` whose key is present, emit (k, (x, value)); self must be Bounded."""
        from .keyed_stream import KeyedStream

        self._same_location(other, "join_keyed_stream", KeyedStream)
        self._need_bounded("join_keyed_stream", "the keyed singleton (self)")
        return other._derive("ks_join_keyed_stream", inputs=[other, self])

    # --- sliced regions, stateful ticks and atomic reads
    def atomic(self: KeyedSingleton[K2, V2, TL, B2], tick: Tick[TL] | None = None) -> KeyedSingleton[K2, V2, Atomic[Tick[TL]], B2]:
        """Enter an atomic section (see ``Singleton.atomic``); read it with ``snapshot_atomic``."""
        return self._scalar_atomic(tick)

    def end_atomic(self: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B2]) -> KeyedSingleton[K2, V2, TL, B2]:
        """Leave the atomic section, back to the top level."""
        return self._scalar_end_atomic()

    # --- monotonicity and thresholds
    @overload
    def threshold_greater_or_equal_uniform(
        self: KeyedSingleton[K2, V2, L, Bounded], threshold: Singleton[V2, L, Bounded]
    ) -> KeyedStream[K2, V2, L, Bounded, TotalOrder, ExactlyOnce]: ...
    @overload
    def threshold_greater_or_equal_uniform(
        self: KeyedSingleton[K2, V2, L, Monotonic], threshold: Singleton[V2, L, Bounded]
    ) -> KeyedStream[K2, V2, L, Unbounded, TotalOrder, ExactlyOnce]: ...
    def threshold_greater_or_equal_uniform(self, threshold: Any) -> Any:
        """``(key, threshold)`` once per key, when that key's value first reaches the threshold.

        No ``nondet``: each value of a ``Monotonic`` keyed singleton only grows, so each key's
        answer flips once (HL111 on a keyed singleton whose values may shrink).
        """
        from .singleton import Singleton

        return self._threshold(threshold, "threshold_greater_or_equal_uniform", Singleton, "keyed_stream", {"uniform": True})

    @overload
    def threshold_greater_or_equal(
        self: KeyedSingleton[K2, V2, L, Bounded], thresholds: KeyedSingleton[K2, V2, L, Bounded]
    ) -> KeyedStream[K2, V2, L, Bounded, TotalOrder, ExactlyOnce]: ...
    @overload
    def threshold_greater_or_equal(
        self: KeyedSingleton[K2, V2, L, Monotonic], thresholds: KeyedSingleton[K2, V2, L, Bounded]
    ) -> KeyedStream[K2, V2, L, Unbounded, TotalOrder, ExactlyOnce]: ...
    def threshold_greater_or_equal(self, thresholds: Any) -> Any:
        """``(key, its threshold)`` once per key, when the key's value first reaches the threshold
        ``thresholds`` holds for that key; keys with no threshold never fire."""
        return self._threshold(thresholds, "threshold_greater_or_equal", KeyedSingleton, "keyed_stream", {"uniform": False})


_unused = Any
