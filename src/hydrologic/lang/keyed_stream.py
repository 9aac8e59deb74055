"""``KeyedStream[K, V, L, B, O, R]``: independent sub-streams per key ("GROUP BY").

O and R hold *within* each key; there is never an order across keys, so flattening with
``entries()``/``values()`` yields NoOrder. Aggregations are per key and give a KeyedSingleton.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, overload

from ..types.generate import Continue, Generate, Return, Yield
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, NoOrder, TotalOrder, Unbounded, min_order, min_retries, Monotonic
from ..types.nondet import NonDet, Proof
from ._typevars import A, B, B2, CO, K, L, O, O2, O3, R, R2, R3, TL, U, V, V2, K2, W, Tag, Tag2
from ._guards import (
    HL103_NoOrder_input_needs_commutative_proof,
    HL104_AtLeastOnce_input_needs_idempotent_proof,
    HL304_needs_a_proof_token_not_a_str,
    Refused,
)
from .collection import Live, check_callable, check_nondet
from .channel import FAIL_STOP, Channel
from .location import Atomic, Cluster, MemberId, Process, Tick

if TYPE_CHECKING:
    from .keyed_singleton import KeyedSingleton
    from .singleton import Optional, Singleton
    from .stream import Stream

__all__ = ["KeyedStream"]


class KeyedStream(Live, Generic[K, V, L, B, O, R], kind="keyed_stream"):
    """Values grouped by key; O and R are per-key guarantees."""

    __slots__ = ()

    def map(self, f: Callable[[V], U]) -> KeyedStream[K, U, L, B, O, R]:
        """Apply ``f`` to each value; keys are unchanged."""
        return self._derive("keyed_map", params={"f": check_callable(f, "map")})

    def map_with_key(self, f: Callable[[tuple[K, V]], U]) -> KeyedStream[K, U, L, B, O, R]:
        """Apply ``f`` to each (key, value) pair, keeping the key."""
        return self._derive("keyed_map_with_key", params={"f": check_callable(f, "map_with_key")})

    def filter(self, f: Callable[[V], bool]) -> KeyedStream[K, V, L, B, O, R]:
        """Keep values for which ``f`` is true."""
        return self._derive("keyed_filter", params={"f": check_callable(f, "filter")})

    def filter_with_key(self, f: Callable[[tuple[K, V]], bool]) -> KeyedStream[K, V, L, B, O, R]:
        return self._derive("filter", params={"f": check_callable(f, "filter_with_key")})

    def inspect(self, f: Callable[[V], object]) -> KeyedStream[K, V, L, B, O, R]:
        """Call ``f`` on each value for debugging (``inspect_with_key`` gets the key too)."""
        return self._derive("inspect", params={"f": _lift_inspect(check_callable(f, "inspect"))})

    def entries(self) -> Stream[tuple[K, V], L, B, NoOrder, R]:
        """All (key, value) pairs, interleaved across keys in no particular order."""
        return self._derive("cast", kind="stream", order=NoOrder, params={"method": "entries"})

    def values(self) -> Stream[V, L, B, NoOrder, R]:
        """All values, interleaved across keys in no particular order."""
        return self._derive("values", kind="stream", order=NoOrder)

    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Proof,
        idempotent: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Proof | None = None,
        idempotent: Proof,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, NoOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Proof,
        idempotent: Proof,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    # --- monotonicity: with monotone=proof(...), each key's accumulator is declared to only grow
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        monotone: Proof,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, Monotonic]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        monotone: Proof,
        commutative: Proof,
        idempotent: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, Monotonic]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        monotone: Proof,
        commutative: Proof | None = None,
        idempotent: Proof,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, Monotonic]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, NoOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        monotone: Proof,
        commutative: Proof,
        idempotent: Proof,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, Monotonic]: ...
    # Guards (lang/_guards.py): reached only when the proof the input needs is missing.
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], HL103_NoOrder_input_needs_commutative_proof],
        f: Callable[[Any, V2], Any],
        *,
        idempotent: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], HL104_AtLeastOnce_input_needs_idempotent_proof],
        f: Callable[[Any, V2], Any],
        *,
        commutative: Proof | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    # Guards: a proof written as a plain string (HL304).
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, O, R],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Refused[HL304_needs_a_proof_token_not_a_str],
        idempotent: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    @overload
    def fold(
        self: KeyedStream[K2, V2, L, B, O, R],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
        *,
        commutative: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
        idempotent: Refused[HL304_needs_a_proof_token_not_a_str],
        durable: str | None = None,
    ) -> KeyedSingleton[K2, A, L, B]: ...
    def fold(
        self, init: Any, f: Any, *, commutative: Any = None, idempotent: Any = None, durable: Any = None, monotone: Any = None
    ) -> Any:
        """Per-key ``acc = f(acc, v)`` from ``init()``; proofs as for ``Stream.fold``.

        ``monotone=proof("why")`` declares that ``f`` never makes a key's accumulator smaller:
        the result is ``Monotonic`` and offers ``threshold_greater_or_equal[_uniform]``.

        ``durable="name"`` keeps every key's accumulator across a crash of the process: each tick
        writes only the keys it changed, and a restarted instance recovers them all. In a durable
        fold an accumulator of ``None`` deletes the key (from the keyed singleton and from disk;
        its next value starts again from ``init()``), which is how a log drops compacted entries.
        """
        fns = {"init": init, "f": f}
        return self._aggregate("fold", "keyed_fold", "keyed_singleton", fns, commutative, idempotent, durable, monotone=monotone)

    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, NoOrder, AtLeastOnce],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof,
        idempotent: Proof,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    # Guards (lang/_guards.py): reached only when the proof the input needs is missing.
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        f: Callable[[V2, V2], HL103_NoOrder_input_needs_commutative_proof],
        *,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        f: Callable[[V2, V2], HL104_AtLeastOnce_input_needs_idempotent_proof],
        *,
        commutative: Proof | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    # Guards: a proof written as a plain string (HL304).
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, O, R],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Refused[HL304_needs_a_proof_token_not_a_str],
        idempotent: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce(
        self: KeyedStream[K2, V2, L, B, O, R],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
        idempotent: Refused[HL304_needs_a_proof_token_not_a_str],
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    def reduce(self, f: Any, *, commutative: Any = None, idempotent: Any = None) -> Any:
        """Per-key reduce; keys appear once they have a value."""
        return self._aggregate("reduce", "keyed_reduce", "keyed_singleton", {"f": f}, commutative, idempotent)

    def first(self: KeyedStream[K2, V2, L, B, TotalOrder, R]) -> KeyedSingleton[K2, V2, L, B]:
        """The first value of each key."""
        self._need_total_order("first")
        return self._derive("keyed_first", kind="keyed_singleton")

    def last(self: KeyedStream[K2, V2, L, B, TotalOrder, R]) -> KeyedSingleton[K2, V2, L, B]:
        """The latest value of each key."""
        self._need_total_order("last")
        return self._derive("keyed_last", kind="keyed_singleton")

    @overload
    def value_counts(self: KeyedStream[K2, V2, L, Bounded, O, ExactlyOnce]) -> KeyedSingleton[K2, int, L, Bounded]: ...
    @overload
    def value_counts(self: KeyedStream[K2, V2, L, B, O, ExactlyOnce]) -> KeyedSingleton[K2, int, L, Monotonic]: ...
    def value_counts(self: Any) -> Any:
        """How many values each key has; over a growing stream each count only grows (``Monotonic``)."""
        self._need_exactly_once("value_counts")
        return self._derive("keyed_count", kind="keyed_singleton", bound=Bounded if self._node.bound is Bounded else Monotonic)

    def assume_ordering(self, nondet: NonDet) -> KeyedStream[K, V, L, B, TotalOrder, R]:
        token = check_nondet(nondet, "assume_ordering")
        return self._derive("assume_ordering", order=TotalOrder, nondet=token)

    def assume_retries(self, nondet: NonDet) -> KeyedStream[K, V, L, B, O, ExactlyOnce]:
        token = check_nondet(nondet, "assume_retries")
        return self._derive("assume_retries", retries=ExactlyOnce, nondet=token)

    @overload
    def weaken_consistency(self: KeyedStream[K2, V2, Cluster[Tag, Any], B2, O2, R2]) -> KeyedStream[K2, V2, Cluster[Tag], B2, O2, R2]: ...
    @overload
    def weaken_consistency(self) -> KeyedStream[K, V, L, B, O, R]: ...
    def weaken_consistency(self) -> Any:
        """The same keyed stream, typed ``Cluster[Tag, NoConsistency]`` (free); see
        ``Stream.weaken_consistency``."""
        return self._weaken_consistency()

    def weaken_ordering(self) -> KeyedStream[K, V, L, B, NoOrder, R]:
        return self._derive("cast", order=NoOrder, params={"method": "weaken_ordering"})

    def weaken_retries(self) -> KeyedStream[K, V, L, B, O, AtLeastOnce]:
        return self._derive("cast", retries=AtLeastOnce, params={"method": "weaken_retries"})

    @overload
    def filter_key_not_in(self: KeyedStream[K, V, L, B, O, R], keys: Stream[K, L, Bounded, NoOrder, AtLeastOnce]) -> KeyedStream[K, V, L, B, O, R]: ...
    @overload
    def filter_key_not_in(self: KeyedStream[K, V, Cluster[Tag, Any], B, O, R], keys: Stream[K, Cluster[Tag, Any], Bounded, NoOrder, AtLeastOnce]) -> KeyedStream[K, V, Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_key_not_in(self: KeyedStream[K, V, Any, B, O, R], keys: Any) -> Any:
        """Drop the groups whose key is in the bounded ``keys``."""
        from .stream import Stream

        self._same_location(keys, "filter_key_not_in", Stream)
        keys._need_bounded("filter_key_not_in", "the keys to remove (right side)")
        return self._derive("anti_join", inputs=[self, keys])

    @overload
    def batch(self: KeyedStream[K2, V2, TL, B, O, R], tick: Tick[TL], nondet: NonDet) -> KeyedStream[K2, V2, Tick[TL], Bounded, O, R]: ...
    @overload
    def batch(self: KeyedStream[K2, V2, Cluster[Tag, Any], B, O, R], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> KeyedStream[K2, V2, Tick[Cluster[Tag]], Bounded, O, R]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def batch(self, tick: Any, nondet: NonDet) -> Any:
        """The values that arrived by this tick, as a bounded batch (a nondet site)."""
        return self._into_tick("batch", tick, nondet)

    def all_ticks(self: KeyedStream[K2, V2, Tick[TL], B, O, R]) -> KeyedStream[K2, V2, TL, Unbounded, O, R]:
        return self._leave_tick("all_ticks")

    def defer_tick(self: KeyedStream[K2, V2, Tick[TL], B, O, R]) -> KeyedStream[K2, V2, Tick[TL], B, O, R]:
        self._need_in_tick("defer_tick")
        return self._derive("defer_tick", params={"deferred": (0,)})

    def atomic(self: KeyedStream[K2, V2, TL, B, O, R], tick: Tick[TL] | None = None) -> KeyedStream[K2, V2, Atomic[Tick[TL]], B, O, R]:
        """Enter ``tick``'s atomic section, or one with a tick of its own (see ``Stream.atomic``)."""
        return self._derive("atomic", scope=self._atomic(tick, "atomic"))

    def end_atomic(self: KeyedStream[K2, V2, Atomic[Tick[TL]], B, O, R]) -> KeyedStream[K2, V2, TL, B, O, R]:
        return self._derive("end_atomic", scope=self._need_atomic("end_atomic").outer)

    # --- sliced regions, stateful ticks and atomic reads
    def batch_atomic(self: KeyedStream[K2, V2, Atomic[Tick[TL]], B, O, R], nondet: NonDet) -> KeyedStream[K2, V2, Tick[TL], Bounded, O, R]:
        """The entries that entered the atomic section by this tick (see ``Stream.batch_atomic``)."""
        return self._batch_atomic("batch_atomic", nondet)

    def all_ticks_atomic(self: KeyedStream[K2, V2, Tick[TL], B, O, R]) -> KeyedStream[K2, V2, Atomic[Tick[TL]], Unbounded, O, R]:
        """``all_ticks`` into the tick's atomic section (see ``Stream.all_ticks_atomic``)."""
        return self._leave_tick_atomic("all_ticks_atomic")

    @overload
    def across_ticks(
        self: KeyedStream[K2, V2, Tick[TL], B, O, R],
        f: Callable[[KeyedStream[K2, V2, Atomic[Tick[TL]], Unbounded, O, R]], KeyedSingleton[U, W, Atomic[Tick[TL]], B2]],
    ) -> KeyedSingleton[U, W, Tick[TL], Bounded]: ...
    @overload
    def across_ticks(
        self: KeyedStream[K2, V2, Tick[TL], B, O, R],
        f: Callable[[KeyedStream[K2, V2, Atomic[Tick[TL]], Unbounded, O, R]], KeyedStream[U, W, Atomic[Tick[TL]], B2, O2, R2]],
    ) -> KeyedStream[U, W, Tick[TL], Bounded, O2, R2]: ...
    def across_ticks(self, f: Any) -> Any:
        """Run ``f`` with top-level state over every tick's entries so far, and read its result
        back in this tick (see ``Stream.across_ticks``): e.g. per-key counts across ticks."""
        return self._across_ticks(f)

    @overload
    def demux(
        self: KeyedStream[MemberId[Tag2], V2, Process[Any], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[V2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    @overload
    def demux(
        self: KeyedStream[MemberId[Tag2], V2, Cluster[Tag], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], V2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    def demux(self, to: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send each value to the member named by its key (from a cluster: keyed by sender)."""
        return self._network("demux", to, None, channel)

    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------
    # A keyed stream runs as a stream of (key, value) pairs, so most of these are the stream
    # operators with the user's function lifted to the value.

    def location(self) -> L:
        """The location this keyed stream lives at (a Process, Cluster, Tick or atomic section)."""
        return self._location()

    def make_totally_ordered(self: KeyedStream[K2, V2, L, B, TotalOrder, R]) -> KeyedStream[K2, V2, L, B, TotalOrder, R]:
        """This keyed stream, already TotalOrder per key (checked); for code generic in the order."""
        self._need_total_order("make_totally_ordered")
        return self

    def make_exactly_once(self: KeyedStream[K2, V2, L, B, O, ExactlyOnce]) -> KeyedStream[K2, V2, L, B, O, ExactlyOnce]:
        """This keyed stream, already ExactlyOnce (checked); for code generic in the retries."""
        self._need_exactly_once("make_exactly_once")
        return self

    def make_bounded(self: KeyedStream[K2, V2, L, Bounded, O, R]) -> KeyedStream[K2, V2, L, Bounded, O, R]:
        """This keyed stream, already Bounded (checked); for code generic in the boundedness."""
        self._need_bounded("make_bounded")
        return self

    def keys(self) -> Stream[K, L, B, NoOrder, ExactlyOnce]:
        """The distinct keys, in no particular order."""
        ks = self._derive("map", kind="stream", order=NoOrder, params={"f": _key, "method": "keys"})
        return ks._derive("unique", retries=ExactlyOnce, params={"method": "keys"})

    def prefix_key(self, f: Callable[[tuple[K, V]], K2]) -> KeyedStream[tuple[K2, K], V, L, B, O, R]:
        """Key each value by ``(f((k, v)), k)``: a compound key that keeps every group (and its order)."""
        fn = check_callable(f, "prefix_key")
        return self._derive("map", params={"f": _lift_prefix(fn), "method": "prefix_key"})

    def drop_key_prefix(self: KeyedStream[tuple[Any, K2], V2, L, B, O, R]) -> KeyedStream[K2, V2, L, B, NoOrder, R]:
        """Key each value by the second part of its compound key; groups sharing it merge, so NoOrder."""
        return self._derive("map", order=NoOrder, params={"f": _drop_prefix, "method": "drop_key_prefix"})

    def filter_map(self, f: Callable[[V], U | None]) -> KeyedStream[K, U, L, B, O, R]:
        """``f(v)`` for each value where it is not None; keys unchanged."""
        fn = check_callable(f, "filter_map")
        return self._derive("filter_map", params={"f": _lift_filter_map(fn, False), "method": "filter_map"})

    def filter_map_with_key(self, f: Callable[[tuple[K, V]], U | None]) -> KeyedStream[K, U, L, B, O, R]:
        """``f((k, v))`` for each entry where it is not None, under the same key."""
        fn = check_callable(f, "filter_map_with_key")
        return self._derive("filter_map", params={"f": _lift_filter_map(fn, True), "method": "filter_map_with_key"})

    @overload
    def cross_singleton(self: KeyedStream[K, V, L, B, O, R], other: Singleton[U, L, Bounded] | Optional[U, L, Bounded]) -> KeyedStream[K, tuple[V, U], L, B, O, R]: ...
    @overload
    def cross_singleton(self: KeyedStream[K, V, Cluster[Tag, Any], B, O, R], other: Singleton[U, Cluster[Tag, Any], Bounded] | Optional[U, Cluster[Tag, Any], Bounded]) -> KeyedStream[K, tuple[V, U], Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def cross_singleton(self: KeyedStream[K, V, Any, B, O, R], other: Any) -> Any:
        """Pair each value with the bounded singleton's value: (k, (v, s)); nothing if the optional is empty."""
        from .singleton import Optional, Singleton

        self._same_location(other, "cross_singleton", (Singleton, Optional))
        other._need_bounded("cross_singleton", "the singleton (right side)")
        paired = self._derive("cross_singleton", inputs=[self, other])
        return paired._derive("map", params={"f": _regroup_pair, "method": "cross_singleton"})

    def flat_map_ordered(self, f: Callable[[V], Iterable[U]]) -> KeyedStream[K, U, L, B, O, R]:
        """Replace each value by the items of ``f(v)`` (iterated in a deterministic order), same key."""
        fn = check_callable(f, "flat_map_ordered")
        return self._derive("flat_map", params={"f": _lift_flat_map(fn), "method": "flat_map_ordered"})

    def flat_map_unordered(self, f: Callable[[V], Iterable[U]]) -> KeyedStream[K, U, L, B, NoOrder, R]:
        """Like ``flat_map_ordered`` for iterables with no deterministic order; NoOrder per key."""
        fn = check_callable(f, "flat_map_unordered")
        return self._derive("flat_map", order=NoOrder, params={"f": _lift_flat_map(fn), "method": "flat_map_unordered"})

    def flatten_ordered(self: KeyedStream[K2, Iterable[U], L, B, O, R]) -> KeyedStream[K2, U, L, B, O, R]:
        """Replace each value (an ordered iterable) by its items, same key."""
        return self._derive("flat_map", params={"f": _lift_flat_map(_identity), "method": "flatten_ordered"})

    def flatten_unordered(self: KeyedStream[K2, Iterable[U], L, B, O, R]) -> KeyedStream[K2, U, L, B, NoOrder, R]:
        """Replace each value (e.g. a set) by its items, same key; NoOrder per key."""
        return self._derive("flat_map", order=NoOrder, params={"f": _lift_flat_map(_identity), "method": "flatten_unordered"})

    def inspect_with_key(self, f: Callable[[tuple[K, V]], object]) -> KeyedStream[K, V, L, B, O, R]:
        """Call ``f`` on each (key, value) for debugging; the entries pass through unchanged."""
        return self._derive("inspect", params={"f": check_callable(f, "inspect_with_key"), "method": "inspect_with_key"})

    def generator(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], tuple[A, Generate[U]]],
    ) -> KeyedStream[K2, U, L, B, TotalOrder, ExactlyOnce]:
        """Per key, a state machine over the values (see ``Stream.generator``): each key's state
        starts as ``init()``; ``Return``/``Break`` end that key only."""
        self._need_total_order("generator")
        self._need_exactly_once("generator")
        return self._generate("generator", init, f)

    def scan(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], A],
    ) -> KeyedStream[K2, A, L, B, TotalOrder, ExactlyOnce]:
        """Per key, the running accumulator ``f(acc, v)`` after each value (as ``Stream.scan``).
        To stop a key early, use ``generator``."""
        self._need_total_order("scan")
        self._need_exactly_once("scan")
        return self._generate("scan", init, f, mode="scan")

    def enumerate(self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce]) -> KeyedStream[K2, tuple[int, V2], L, B, TotalOrder, ExactlyOnce]:
        """Per key, (index, value) with indices counting from 0 in each group."""
        self._need_total_order("enumerate")
        self._need_exactly_once("enumerate")
        return self._generate("enumerate", _zero, _enumerate_step, mode="enumerate")

    def fold_early_stop(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, V2], tuple[A, bool]],
    ) -> KeyedSingleton[K2, A, L, B]:
        """Per key, fold until ``f(acc, v)`` returns ``(acc, True)``: that accumulator is the key's
        result (released at once, even on an unbounded input) and later values are ignored."""
        self._need_total_order("fold_early_stop")
        self._need_exactly_once("fold_early_stop")
        fn = check_callable(f, "fold_early_stop")
        done = self._generate("fold_early_stop", init, _early_stop_step(fn))
        return done._derive("keyed_first", kind="keyed_singleton", params={"method": "fold_early_stop"})

    def _generate(self, method: str, init: object, f: object, mode: str = "generate") -> Any:
        fns = {"init": check_callable(init, method, "init"), "f": check_callable(f, method)}
        return self._derive("generator", params={**fns, "keyed": True, "mode": mode, "method": method})

    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, TotalOrder, ExactlyOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, NoOrder, AtLeastOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], V2],
        *,
        commutative: Proof,
        idempotent: Proof,
    ) -> KeyedSingleton[K2, V2, L, B]: ...
    # Guards (lang/_guards.py): reached only when the proof the input needs is missing.
    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, NoOrder, ExactlyOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], HL103_NoOrder_input_needs_commutative_proof],
        *,
        idempotent: Proof | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    @overload
    def reduce_watermark(
        self: KeyedStream[K2, V2, L, B, TotalOrder, AtLeastOnce],
        watermark: Singleton[K2, L, Any] | Optional[K2, L, Any],
        f: Callable[[V2, V2], HL104_AtLeastOnce_input_needs_idempotent_proof],
        *,
        commutative: Proof | None = None,
    ) -> KeyedSingleton[K2, Any, L, B]: ...
    def reduce_watermark(self, watermark: Any, f: Any, *, commutative: Any = None, idempotent: Any = None) -> Any:
        """Per-key reduce (proofs as for ``reduce``) that forgets every key below the watermark:
        their values are deleted, and later values for them ignored. ``watermark`` is a
        singleton or optional at the same location, read as it is when each tick runs (while it
        is absent nothing is dropped)."""
        from .singleton import Optional, Singleton

        self._same_location(watermark, "reduce_watermark", (Singleton, Optional))
        return self._aggregate(
            "reduce_watermark", "keyed_reduce_watermark", "keyed_singleton", {"f": f}, commutative, idempotent,
            inputs=[self, watermark],
        )  # fmt: skip

    @overload
    def join_keyed_stream(self: KeyedStream[K2, V2, L, B2, O2, R2], other: KeyedStream[K2, W, L, B2, O3, R3]) -> KeyedStream[K2, tuple[V2, W], L, B2, NoOrder, R2 | R3]: ...
    @overload
    def join_keyed_stream(self: KeyedStream[K2, V2, Cluster[Tag, Any], B2, O2, R2], other: KeyedStream[K2, W, Cluster[Tag, Any], B2, O3, R3]) -> KeyedStream[K2, tuple[V2, W], Cluster[Tag], B2, NoOrder, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def join_keyed_stream(self: KeyedStream[K2, V2, Any, B2, O2, R2], other: Any) -> Any:
        """Per shared key, every pair (v, w) of the two keyed streams' values; NoOrder."""
        on = self._same_location(other, "join_keyed_stream", KeyedStream)
        if self._node.bound is Bounded and on.bound is not Bounded:
            self._same_bound(other, "join_keyed_stream")
        assert self._node.retries and on.retries
        return self._derive(
            "join", inputs=[self, other], order=NoOrder, retries=min_retries(self._node.retries, on.retries),
            params={"method": "join_keyed_stream"},
        )  # fmt: skip

    def unique(self) -> KeyedStream[K, V, L, B, O, ExactlyOnce]:
        """Per key, each distinct value once (in order of first appearance)."""
        return self._derive("unique", retries=ExactlyOnce)

    def sort(self: KeyedStream[K2, V2, L, Bounded, O, R], key: Callable[[V2], Any] | None = None) -> KeyedStream[K2, V2, L, Bounded, TotalOrder, R]:
        """Sort each key's values (of a bounded keyed stream); TotalOrder per key."""
        self._need_bounded("sort")
        fn = _value if key is None else _lift_key(check_callable(key, "sort", "key"))
        return self._derive("sort", order=TotalOrder, params={"key": fn})

    @overload
    def chain(self: KeyedStream[K2, V2, L, Bounded, O2, R2], other: KeyedStream[K2, V2, L, B2, O3, R3]) -> KeyedStream[K2, V2, L, B2, O2 | O3, R2 | R3]: ...
    @overload
    def chain(self: KeyedStream[K2, V2, Cluster[Tag, Any], Bounded, O2, R2], other: KeyedStream[K2, V2, Cluster[Tag, Any], B2, O3, R3]) -> KeyedStream[K2, V2, Cluster[Tag], B2, O2 | O3, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def chain(self: KeyedStream[K2, V2, Any, Bounded, O2, R2], other: Any) -> Any:
        """Per key, all of ``self``'s values (which must be Bounded), then ``other``'s."""
        on = self._same_location(other, "chain", KeyedStream)
        self._need_bounded("chain", "the first keyed stream (self)")
        me = self._node
        assert me.order and on.order and me.retries and on.retries
        return self._derive(
            "chain", inputs=[self, other], bound=on.bound,
            order=min_order(me.order, on.order), retries=min_retries(me.retries, on.retries),
        )  # fmt: skip

    @overload
    def merge_unordered(
        self: KeyedStream[K2, V2, Process[Tag], B2, O2, R2], other: KeyedStream[K2, V2, Process[Tag], Unbounded, NoOrder, R3]
    ) -> KeyedStream[K2, V2, Process[Tag], Unbounded, NoOrder, R2 | R3]: ...
    @overload
    def merge_unordered(
        self: KeyedStream[K2, V2, Cluster[Tag], B2, O2, R2], other: KeyedStream[K2, V2, Cluster[Tag], Unbounded, NoOrder, R3]
    ) -> KeyedStream[K2, V2, Cluster[Tag], Unbounded, NoOrder, R2 | R3]: ...
    def merge_unordered(self, other: Any) -> Any:
        """Interleave two top-level keyed streams in arrival order; NoOrder per key."""
        self._need_top_level("merge_unordered")
        on = self._same_location(other, "merge_unordered", KeyedStream)
        assert self._node.retries and on.retries
        return self._derive(
            "merge", inputs=[self, other], bound=Unbounded, order=NoOrder, retries=min_retries(self._node.retries, on.retries)
        )

    @overload
    def join_keyed_singleton(self: KeyedStream[K, V, L, B, O, R], other: KeyedSingleton[K, W, L, Bounded]) -> KeyedStream[K, tuple[V, W], L, B, O, R]: ...
    @overload
    def join_keyed_singleton(self: KeyedStream[K, V, Cluster[Tag, Any], B, O, R], other: KeyedSingleton[K, W, Cluster[Tag, Any], Bounded]) -> KeyedStream[K, tuple[V, W], Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def join_keyed_singleton(self: KeyedStream[K, V, Any, B, O, R], other: Any) -> Any:
        """Pair each value with the bounded keyed singleton's value for its key: (k, (v, w));
        values whose key it lacks are dropped."""
        from .keyed_singleton import KeyedSingleton

        self._same_location(other, "join_keyed_singleton", KeyedSingleton)
        other._need_bounded("join_keyed_singleton", "the keyed singleton (right side)")
        return self._derive("ks_join_keyed_stream", inputs=[self, other], params={"method": "join_keyed_singleton"})

    @overload
    def get(self: KeyedStream[K, V, L, B, O, R], key: Singleton[K, L, Bounded] | Optional[K, L, Bounded]) -> Stream[V, L, B, O, R]: ...
    @overload
    def get(self: KeyedStream[K, V, Cluster[Tag, Any], B, O, R], key: Singleton[K, Cluster[Tag, Any], Bounded] | Optional[K, Cluster[Tag, Any], Bounded]) -> Stream[V, Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def get(self: KeyedStream[K, V, Any, B, O, R], key: Any) -> Any:
        """The values of the key held by the bounded singleton ``key`` (none while it is absent)."""
        from .singleton import Optional, Singleton

        self._same_location(key, "get", (Singleton, Optional))
        key._need_bounded("get", "the key (a singleton)")
        return self._derive("keyed_get", inputs=[self, key], kind="stream")

    @overload
    def lookup_keyed_stream(self: KeyedStream[K2, V2, L, Bounded, O, R2], other: KeyedStream[V2, W, L, Bounded, O3, R3]) -> KeyedStream[K2, tuple[V2, W | None], L, Bounded, NoOrder, R2 | R3]: ...
    @overload
    def lookup_keyed_stream(self: KeyedStream[K2, V2, Cluster[Tag, Any], Bounded, O, R2], other: KeyedStream[V2, W, Cluster[Tag, Any], Bounded, O3, R3]) -> KeyedStream[K2, tuple[V2, W | None], Cluster[Tag], Bounded, NoOrder, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def lookup_keyed_stream(self: KeyedStream[K2, V2, Any, Bounded, O, R2], other: Any) -> Any:
        """Look each value up as a key of the bounded ``other``: (k, (v, w)) for each of its values
        w, or (k, (v, None)) when it has none; NoOrder."""
        on = self._same_location(other, "lookup_keyed_stream", KeyedStream)
        self._need_bounded("lookup_keyed_stream")
        other._need_bounded("lookup_keyed_stream", "the keyed stream looked in (right side)")
        m = {"method": "lookup_keyed_stream"}
        inverted = self._derive("map", kind="stream", order=NoOrder, params={"f": _swap, **m})
        found = inverted._derive("join", inputs=[inverted, other], order=NoOrder, params=m)
        found = found._derive("map", params={"f": _found, **m})
        other_keys = other._derive("map", kind="stream", order=NoOrder, params={"f": _key, **m})
        missing = inverted._derive("anti_join", inputs=[inverted, other_keys], params=m)
        missing = missing._derive("map", params={"f": _not_found, **m})
        assert self._node.retries and on.retries
        return found._derive(
            "chain", inputs=[found, missing], kind="keyed_stream", order=NoOrder,
            retries=min_retries(self._node.retries, on.retries), params=m,
        )  # fmt: skip

    @overload
    def lookup_keyed_singleton(self: KeyedStream[K2, V2, L, Bounded, O, R2], other: KeyedSingleton[V2, W, L, Bounded]) -> KeyedStream[K2, tuple[V2, W | None], L, Bounded, NoOrder, R2]: ...
    @overload
    def lookup_keyed_singleton(self: KeyedStream[K2, V2, Cluster[Tag, Any], Bounded, O, R2], other: KeyedSingleton[V2, W, Cluster[Tag, Any], Bounded]) -> KeyedStream[K2, tuple[V2, W | None], Cluster[Tag], Bounded, NoOrder, R2]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def lookup_keyed_singleton(self: KeyedStream[K2, V2, Any, Bounded, O, R2], other: Any) -> Any:
        """Look each value up as a key of the bounded keyed singleton ``other``:
        (k, (v, other[v])) or (k, (v, None)) when it lacks the key; NoOrder."""
        from .keyed_singleton import KeyedSingleton

        self._same_location(other, "lookup_keyed_singleton", KeyedSingleton)
        other._need_bounded("lookup_keyed_singleton", "the keyed singleton looked in (right side)")
        looked_in: Any = other.into_keyed_stream()
        return self.lookup_keyed_stream(looked_in)


def _key(kv: Any) -> Any:
    return kv[0]


def _value(kv: Any) -> Any:
    return kv[1]


def _identity(x: Any) -> Any:
    return x


def _zero() -> int:
    return 0


def _swap(kv: Any) -> Any:
    return kv[1], kv[0]


def _found(e: Any) -> Any:
    v, (k, w) = e
    return k, (v, w)


def _not_found(e: Any) -> Any:
    return e[1], (e[0], None)


def _regroup_pair(e: Any) -> Any:
    (k, v), s = e
    return k, (v, s)


def _drop_prefix(e: Any) -> Any:
    return e[0][1], e[1]


def _enumerate_step(i: int, v: Any) -> tuple[int, Generate[Any]]:
    return i + 1, Yield((i, v))


def _lift_key(key: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda kv: key(kv[1])


def _lift_prefix(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda kv: ((f(kv), kv[0]), kv[1])


def _lift_flat_map(f: Callable[[Any], Iterable[Any]]) -> Callable[[Any], Iterable[Any]]:
    def each(kv: Any) -> Iterable[Any]:
        k = kv[0]
        return [(k, u) for u in f(kv[1])]

    return each


def _lift_filter_map(f: Callable[[Any], Any], with_key: bool) -> Callable[[Any], Any]:
    def each(kv: Any) -> Any:
        u = f(kv) if with_key else f(kv[1])
        return None if u is None else (kv[0], u)

    return each


def _early_stop_step(f: Callable[[Any, Any], tuple[Any, bool]]) -> Callable[[Any, Any], tuple[Any, Generate[Any]]]:
    def step(acc: Any, v: Any) -> tuple[Any, Generate[Any]]:
        acc, done = f(acc, v)
        return acc, (Return(acc) if done else Continue())

    return step


def _lift_inspect(f: Callable[[Any], object]) -> Callable[[Any], object]:
    return lambda kv: f(kv[1])
