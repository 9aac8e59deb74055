"""``KeyedStream[K, V, L, B, O, R]``: independent sub-streams per key ("GROUP BY").

O and R hold *within* each key; there is never an order across keys, so flattening with
``entries()``/``values()`` yields NoOrder. Aggregations are per key and give a KeyedSingleton.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Generic, overload

from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, Monotonic, NoOrder, TotalOrder, Unbounded
from ..types.nondet import NonDet, Proof
from ._typevars import A, B, B2, CO, K, L, O, O2, R, R2, TL, U, V, V2, W, K2, Tag, Tag2
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

    def inspect(self, f: Callable[[tuple[K, V]], object]) -> KeyedStream[K, V, L, B, O, R]:
        return self._derive("inspect", params={"f": check_callable(f, "inspect")})

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

    def weaken_ordering(self) -> KeyedStream[K, V, L, B, NoOrder, R]:
        return self._derive("cast", order=NoOrder, params={"method": "weaken_ordering"})

    def weaken_retries(self) -> KeyedStream[K, V, L, B, O, AtLeastOnce]:
        return self._derive("cast", retries=AtLeastOnce, params={"method": "weaken_retries"})

    def filter_key_not_in(self, keys: Stream[K, L, Bounded, NoOrder, AtLeastOnce]) -> KeyedStream[K, V, L, B, O, R]:
        """Drop the groups whose key is in the bounded ``keys``."""
        from .stream import Stream

        self._same_location(keys, "filter_key_not_in", Stream)
        keys._need_bounded("filter_key_not_in", "the keys to remove (right side)")
        return self._derive("anti_join", inputs=[self, keys])

    def batch(self: KeyedStream[K2, V2, TL, B, O, R], tick: Tick[TL], nondet: NonDet) -> KeyedStream[K2, V2, Tick[TL], Bounded, O, R]:
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
        self: KeyedStream[MemberId[Tag2], V2, Process[Any], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[V2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    @overload
    def demux(
        self: KeyedStream[MemberId[Tag2], V2, Cluster[Tag], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], V2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    def demux(self, to: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send each value to the member named by its key (from a cluster: keyed by sender)."""
        return self._network("demux", to, None, channel)
