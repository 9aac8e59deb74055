"""``KeyedSingleton[K, V, L, B]``: a live map with one value per key (e.g. per-key folds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, overload

from ..types.markers import AtLeastOnce, Bounded, EventualConsistency, ExactlyOnce, NoOrder, TotalOrder, Unbounded, Monotonic, forget_monotonic
from ..types.nondet import NonDet
from ._typevars import B, K, K2, L, O, R, T2, TL, U, V, V2, W, B2, Tag
from .collection import Live, check_callable, make_collection
from .location import Atomic, Cluster, Process, Tick

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

    @overload
    def snapshot(self: KeyedSingleton[K2, V2, TL, B], tick: Tick[TL], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]: ...
    @overload
    def snapshot(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], B], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def snapshot(self, tick: Any, nondet: NonDet) -> Any:
        """The map as of this tick; which version is seen is a nondet site."""
        return self._into_tick("snapshot", tick, nondet)

    def snapshot_atomic(self: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]:
        """The map in the atomic section's tick, reflecting every acknowledged atomic input."""
        return self._snapshot_atomic(nondet)

    def latest(self: KeyedSingleton[K2, V2, Tick[TL], B]) -> KeyedSingleton[K2, V2, TL, Unbounded]:
        return self._leave_tick("latest")

    @overload
    def join_keyed_stream(self: KeyedSingleton[K2, V2, L, Bounded], other: KeyedStream[K2, T2, L, B, O, R]) -> KeyedStream[K2, tuple[T2, V2], L, B, O, R]: ...
    @overload
    def join_keyed_stream(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], Bounded], other: KeyedStream[K2, T2, Cluster[Tag, Any], B, O, R]) -> KeyedStream[K2, tuple[T2, V2], Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def join_keyed_stream(self: KeyedSingleton[K2, V2, Any, Bounded], other: Any) -> Any:
        """For each (k, x) of ``other`` whose key is present, emit (k, (x, value)); self must be Bounded."""
        from .keyed_stream import KeyedStream

        self._same_location(other, "join_keyed_stream", KeyedStream)
        self._need_bounded("join_keyed_stream", "the keyed singleton (self)")
        return other._derive("ks_join_keyed_stream", inputs=[other, self])

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------
    # Bounded keyed singletons turn into keyed streams with one value per key and back
    # (``first()``), so the per-key combinators compose the keyed-stream ones.

    def location(self) -> L:
        """The location this keyed singleton lives at (a Process, Cluster, Tick or atomic section)."""
        return self._location()

    def map_with_key(self, f: Callable[[tuple[K, V]], U]) -> KeyedSingleton[K, U, L, B]:
        """``f((k, v))`` for each entry, keeping the keys."""
        return self._derive("ks_map_with_key", params={"f": check_callable(f, "map_with_key")})

    def filter_map(self, f: Callable[[V], U | None]) -> KeyedSingleton[K, U, L, B]:
        """``f(v)`` for each value, dropping the keys where it is None."""
        mapped = self._derive("ks_map", params={"f": check_callable(f, "filter_map"), "method": "filter_map"})
        return mapped._derive("ks_filter", params={"f": _not_none, "method": "filter_map"})

    def inspect(self, f: Callable[[V], object]) -> KeyedSingleton[K, V, L, B]:
        """Call ``f`` on each value for debugging; the map is unchanged."""
        return self._derive("ks_map", params={"f": _tap(check_callable(f, "inspect")), "method": "inspect"})

    def inspect_with_key(self, f: Callable[[tuple[K, V]], object]) -> KeyedSingleton[K, V, L, B]:
        """Call ``f`` on each (key, value) for debugging; the map is unchanged."""
        fn = _tap(check_callable(f, "inspect_with_key"))
        return self._derive("ks_map_with_key", params={"f": lambda kv: fn(kv)[1], "method": "inspect_with_key"})  # pyright: ignore[reportUnknownLambdaType]

    def into_singleton(self) -> Singleton[dict[K, V], L, B]:
        """The whole map as one singleton dict."""
        return self._derive("ks_into_singleton", kind="singleton")

    def key_count(self) -> Singleton[int, L, B]:
        """How many keys the map has."""
        whole = self._derive("ks_into_singleton", kind="singleton", params={"method": "key_count"})
        return whole._derive("singleton_map", params={"f": len, "method": "key_count"})

    def get_max_key(self) -> Optional[tuple[K, V], L, B]:
        """The (key, value) entry with the largest key; absent while the map is empty."""
        whole = self._derive("ks_into_singleton", kind="singleton", params={"method": "get_max_key"})
        return whole._derive("singleton_filter", kind="optional", params={"f": bool, "method": "get_max_key"})._derive(
            "singleton_map", params={"f": _max_key_entry, "method": "get_max_key"}
        )

    def make_bounded(self: KeyedSingleton[K2, V2, L, Bounded]) -> KeyedSingleton[K2, V2, L, Bounded]:
        """This keyed singleton, already Bounded (checked); for code generic in the boundedness."""
        self._need_bounded("make_bounded")
        return self

    def into_keyed_stream(self: KeyedSingleton[K2, V2, L, Bounded]) -> KeyedStream[K2, V2, L, Bounded, TotalOrder, ExactlyOnce]:
        """A bounded keyed stream holding each key's value as its only element."""
        self._need_bounded("into_keyed_stream")
        return self._as_keyed_stream("into_keyed_stream")

    def _as_keyed_stream(self, method: str) -> Any:
        # one element per key, so each group is trivially totally ordered and duplicate-free
        entries = self._derive("ks_entries", kind="stream", order=NoOrder, params={"method": method})
        return entries._derive("cast", kind="keyed_stream", order=TotalOrder, retries=ExactlyOnce, params={"method": method})

    def _from_keyed_stream(self, ks: Any, method: str) -> Any:
        # back from a keyed stream with (at most) one value per key
        ordered = ks._derive("cast", order=TotalOrder, params={"method": method})
        return ordered._derive("keyed_first", kind="keyed_singleton", params={"method": method})

    @overload
    def filter_key_not_in(self: KeyedSingleton[K2, V2, L, Bounded], keys: Stream[K2, L, Bounded, NoOrder, AtLeastOnce]) -> KeyedSingleton[K2, V2, L, Bounded]: ...
    @overload
    def filter_key_not_in(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], Bounded], keys: Stream[K2, Cluster[Tag, Any], Bounded, NoOrder, AtLeastOnce]) -> KeyedSingleton[K2, V2, Cluster[Tag], Bounded]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_key_not_in(self: KeyedSingleton[K2, V2, Any, Bounded], keys: Any) -> Any:
        """The entries whose key is not in the bounded stream ``keys``."""
        from .stream import Stream

        self._same_location(keys, "filter_key_not_in", Stream)
        self._need_bounded("filter_key_not_in")
        keys._need_bounded("filter_key_not_in", "the keys to remove (right side)")
        ks = self._as_keyed_stream("filter_key_not_in")
        kept = ks._derive("anti_join", inputs=[ks, keys], params={"method": "filter_key_not_in"})
        return self._from_keyed_stream(kept, "filter_key_not_in")

    @overload
    def join_keyed_singleton(self: KeyedSingleton[K2, V2, L, Bounded], other: KeyedSingleton[K2, W, L, Bounded]) -> KeyedSingleton[K2, tuple[V2, W], L, Bounded]: ...
    @overload
    def join_keyed_singleton(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], Bounded], other: KeyedSingleton[K2, W, Cluster[Tag, Any], Bounded]) -> KeyedSingleton[K2, tuple[V2, W], Cluster[Tag], Bounded]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def join_keyed_singleton(self: KeyedSingleton[K2, V2, Any, Bounded], other: Any) -> Any:
        """Per key present in both (bounded) maps, (self's value, other's value)."""
        self._same_location(other, "join_keyed_singleton", KeyedSingleton)
        self._need_bounded("join_keyed_singleton")
        other._need_bounded("join_keyed_singleton", "the other keyed singleton")
        ks = self._as_keyed_stream("join_keyed_singleton")
        joined = ks._derive("ks_join_keyed_stream", inputs=[ks, other], params={"method": "join_keyed_singleton"})
        return self._from_keyed_stream(joined, "join_keyed_singleton")

    @overload
    def lookup_keyed_singleton(self: KeyedSingleton[K2, V2, L, Bounded], other: KeyedSingleton[V2, W, L, Bounded]) -> KeyedSingleton[K2, tuple[V2, W | None], L, Bounded]: ...
    @overload
    def lookup_keyed_singleton(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], Bounded], other: KeyedSingleton[V2, W, Cluster[Tag, Any], Bounded]) -> KeyedSingleton[K2, tuple[V2, W | None], Cluster[Tag], Bounded]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def lookup_keyed_singleton(self: KeyedSingleton[K2, V2, Any, Bounded], other: Any) -> Any:
        """Look each value up as a key of ``other``: (v, other[v]), or (v, None) when it lacks it."""
        self._need_bounded("lookup_keyed_singleton")
        found: Any = self.into_keyed_stream().lookup_keyed_singleton(other)
        return self._from_keyed_stream(found, "lookup_keyed_singleton")

    @overload
    def lookup_keyed_stream(self: KeyedSingleton[K2, V2, L, Bounded], other: KeyedStream[V2, W, L, Bounded, O, R]) -> KeyedStream[K2, tuple[V2, W | None], L, Bounded, NoOrder, R]: ...
    @overload
    def lookup_keyed_stream(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], Bounded], other: KeyedStream[V2, W, Cluster[Tag, Any], Bounded, O, R]) -> KeyedStream[K2, tuple[V2, W | None], Cluster[Tag], Bounded, NoOrder, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def lookup_keyed_stream(self: KeyedSingleton[K2, V2, Any, Bounded], other: Any) -> Any:
        """Look each value up as a key of the bounded keyed stream ``other``: (k, (v, w)) for each
        of its values w, or (k, (v, None)) when it has none."""
        self._need_bounded("lookup_keyed_stream")
        found: Any = self.into_keyed_stream().lookup_keyed_stream(other)
        return found

    def defer_tick(self: KeyedSingleton[K2, V2, Tick[TL], B]) -> KeyedSingleton[K2, V2, Tick[TL], B]:
        """Last tick's map (empty in the first tick)."""
        self._need_in_tick("defer_tick")
        entries = self._derive("ks_entries", kind="stream", order=NoOrder, params={"method": "defer_tick"})
        last = entries._derive("defer_tick", params={"deferred": (0,)})
        return self._from_keyed_stream(last._derive("cast", kind="keyed_stream", params={"method": "defer_tick"}), "defer_tick")

    def _keyed_changes(self, method: str) -> Any:
        """The entries as they change, as a keyed stream: one key's changes are emitted in time
        order, so per key the change stream is ordered (``batch``, ``batch_atomic``)."""
        changes = self._derive("ks_entries", kind="stream", order=NoOrder, params={"method": method})
        return changes._derive("cast", kind="keyed_stream", order=TotalOrder, params={"method": method})

    @overload
    def batch(self: KeyedSingleton[K2, V2, TL, B], tick: Tick[TL], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]: ...
    @overload
    def batch(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], B], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[Cluster[Tag]], Bounded]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def batch(self, tick: Any, nondet: NonDet) -> Any:
        """The entries that changed since the previous batch, as a map in this tick (which
        changes a tick sees is a nondet site, as for ``KeyedStream.batch``)."""
        self._need_top_level("batch")
        batched = self._keyed_changes("batch")._into_tick("batch", tick, nondet)
        return batched._derive("keyed_last", kind="keyed_singleton", params={"method": "batch"})

    # --- sliced regions, stateful ticks and atomic reads
    def batch_atomic(self: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B], nondet: NonDet) -> KeyedSingleton[K2, V2, Tick[TL], Bounded]:
        """The entries of the atomic section that changed since the previous ``batch_atomic``, as
        a map in the section's tick (``batch`` for an atomic section: which changes the section
        has taken in by this tick is the nondet site, as for ``Stream.batch_atomic``)."""
        scope = self._need_atomic("batch_atomic")
        me = self._node
        if me.op == "scalar_atomic" and me.inputs[0].scope is scope.outer:
            # straight from atomic(): the map's changes are taken at the top level and enter the
            # section as a keyed stream does (``KeyedStream.atomic``), so which changes the section
            # has taken in by a tick (a prefix per key) is a decision the simulator explores
            outside: KeyedSingleton[Any, Any, Any, Any] = make_collection(self._flow, me.inputs[0])
            per_key = outside._keyed_changes("batch_atomic")._derive("atomic", scope=scope, params={"method": "batch_atomic"})
        else:  # derived inside the section: its changes are computed there, from what entered it
            per_key = self._keyed_changes("batch_atomic")
        batched = per_key._batch_atomic("batch_atomic", nondet)
        return batched._derive("keyed_last", kind="keyed_singleton", params={"method": "batch_atomic"})

    def atomic(self: KeyedSingleton[K2, V2, TL, B2], tick: Tick[TL] | None = None) -> KeyedSingleton[K2, V2, Atomic[Tick[TL]], B2]:
        """Enter an atomic section (see ``Singleton.atomic``); read it with ``snapshot_atomic``."""
        return self._scalar_atomic(tick)

    def end_atomic(self: KeyedSingleton[K2, V2, Atomic[Tick[TL]], B2]) -> KeyedSingleton[K2, V2, TL, B2]:
        """Leave the atomic section, back to the top level."""
        return self._scalar_end_atomic()

    # --- consistency across a cluster's members: ``Cluster[Tag, Con]`` in the type (mypy and
    # pyright check it), derived again from the graph and checked by the builder (HL112)
    @overload
    def weaken_consistency(self: KeyedSingleton[K2, V2, Cluster[Tag, Any], B2]) -> KeyedSingleton[K2, V2, Cluster[Tag], B2]: ...
    @overload
    def weaken_consistency(self) -> KeyedSingleton[K, V, L, B]: ...
    def weaken_consistency(self) -> Any:
        """The same keyed singleton, typed ``Cluster[Tag, NoConsistency]``: no longer counted as
        eventually consistent across its cluster (free), like Hydro's ``weaken_consistency()``.
        Elsewhere (a process, a tick) the type is unchanged."""
        return self._weaken_consistency()

    @overload
    def assert_has_consistency_of(
        self: KeyedSingleton[K2, V2, Cluster[Tag, Any], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> KeyedSingleton[K2, V2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def assert_has_consistency_of(
        self: KeyedSingleton[K2, V2, Process[Tag], B2], consistency: type[EventualConsistency], nondet: NonDet
    ) -> KeyedSingleton[K2, V2, Process[Tag], B2]: ...
    def assert_has_consistency_of(self, consistency: type[EventualConsistency], nondet: NonDet) -> Any:
        """Claim that every member of the cluster converges on the same value (``consistency`` is
        ``hl.EventualConsistency``) for a reason the builder cannot see; ``nondet`` says why. The
        result is typed ``Cluster[Tag, EventualConsistency]``. A nondet site the simulator
        checks once an execution settles (HL612).

        An escape hatch like ``assume_ordering``, at the top level only."""
        return self._assert_consistency(consistency, nondet)

    @overload
    def make_eventually_consistent(self: KeyedSingleton[K2, V2, Cluster[Tag, EventualConsistency], B2]) -> KeyedSingleton[K2, V2, Cluster[Tag, EventualConsistency], B2]: ...
    @overload
    def make_eventually_consistent(self: KeyedSingleton[K2, V2, Process[Tag], B2]) -> KeyedSingleton[K2, V2, Process[Tag], B2]: ...
    @overload
    def make_eventually_consistent(self: KeyedSingleton[K2, V2, Tick[Cluster[Tag, EventualConsistency]], B2]) -> KeyedSingleton[K2, V2, Tick[Cluster[Tag, EventualConsistency]], B2]: ...
    @overload
    def make_eventually_consistent(self: KeyedSingleton[K2, V2, Tick[Process[Tag]], B2]) -> KeyedSingleton[K2, V2, Tick[Process[Tag]], B2]: ...
    def make_eventually_consistent(self) -> Any:
        """This keyed singleton, required to be eventually consistent across its cluster: at steady
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


def _not_none(x: object) -> bool:
    return x is not None


def _tap(f: Callable[[Any], object]) -> Callable[[Any], Any]:
    def each(x: Any) -> Any:
        f(x)
        return x

    return each


def _max_key_entry(d: dict[Any, Any]) -> tuple[Any, Any]:
    k = max(d)
    return k, d[k]
