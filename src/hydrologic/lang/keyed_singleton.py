"""``KeyedSingleton[K, V, L, B]``: a live map with one value per key (e.g. per-key folds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic

from ..types.markers import Bounded, NoOrder, Unbounded
from ..types.nondet import NonDet
from ._typevars import B, K, K2, L, O, R, T2, TL, U, V, V2
from .collection import Live, check_callable
from .location import Atomic, Tick

if TYPE_CHECKING:
    from .keyed_stream import KeyedStream
    from .singleton import Optional
    from .stream import Stream

__all__ = ["KeyedSingleton"]


class KeyedSingleton(Live, Generic[K, V, L, B], kind="keyed_singleton"):
    """One value per key. At the top level, ``entries()`` emits each entry when it changes."""

    __slots__ = ()

    def map(self, f: Callable[[V], U]) -> KeyedSingleton[K, U, L, B]:
        return self._derive("ks_map", params={"f": check_callable(f, "map")})

    def filter(self, f: Callable[[V], bool]) -> KeyedSingleton[K, V, L, B]:
        return self._derive("ks_filter", params={"f": check_callable(f, "filter")})

    def entries(self) -> Stream[tuple[K, V], L, B, NoOrder]:
        """(key, value) pairs: in a tick, all of them; at the top level, those that changed."""
        return self._derive("ks_entries", kind="stream", order=NoOrder)

    def keys(self) -> Stream[K, L, B, NoOrder]:
        return self._derive("ks_keys", kind="stream", order=NoOrder)

    def values(self) -> Stream[V, L, B, NoOrder]:
        return self._derive("ks_values", kind="stream", order=NoOrder)

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


_unused = Any
