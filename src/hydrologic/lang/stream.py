"""``Stream[T, L, B, O, R]``: a growing sequence of elements, typed by its guarantees.

Every method is written twice over: its signature is the static rule (``self`` constrained to the
guarantees the operator needs, overloads choosing the output guarantees), and its body repeats the
rule against the markers on the graph node. The operator table in docs/reference.md lists both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable, Generic, Iterable, Literal, cast, overload

from ..types.errors import LocationError, UsageError
from ..types.markers import AtLeastOnce, Bounded, ExactlyOnce, Monotonic, NoOrder, TotalOrder, Unbounded, min_order, min_retries
from ..types.nondet import NonDet, Proof
from ..types.generate import Generate
from ..types.site import caller_site
from ._typevars import A, B, B2, CC, CO, K2, L, O, O2, O3, R, R2, R3, T, T2, TL, U, V2, W, Tag, Tag2
from ._access import info_of, node_of, register_port
from ._guards import (
    HL103_NoOrder_input_needs_commutative_proof,
    HL104_AtLeastOnce_input_needs_idempotent_proof,
    HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port,
    HL110_NoOrder_stream_cannot_feed_an_ordered_port,
    HL204_send_external_needs_flow_external_use_send_for_a_process,
    HL304_needs_a_proof_token_not_a_str,
    NotAClient,
    Refused,
)
from . import timers
from .collection import ExternalCodecLike, Live, check_callable, check_codec, check_nondet, check_output_contract
from .io import SimOutput
from .channel import FAIL_STOP, Channel
from .location import Atomic, Cluster, External, MemberId, Process, Tick

if TYPE_CHECKING:
    from .keyed_singleton import KeyedSingleton
    from .keyed_stream import KeyedStream
    from .singleton import Optional, Singleton

__all__ = ["Stream"]


class Stream(Live, Generic[T, L, B, O, R], kind="stream"):
    """A growing sequence of ``T`` at location ``L``; ``B``, ``O`` and ``R`` are its boundedness, order and retry guarantees."""

    __slots__ = ()

    # ---- element-wise (keep L, B, O, R) -------------------------------------------------

    def map(self, f: Callable[[T], U]) -> Stream[U, L, B, O, R]:
        """Apply ``f`` to each element."""
        return self._derive("map", params={"f": check_callable(f, "map")})

    def filter(self, f: Callable[[T], bool]) -> Stream[T, L, B, O, R]:
        """Keep the elements for which ``f`` is true."""
        return self._derive("filter", params={"f": check_callable(f, "filter")})

    def filter_map(self, f: Callable[[T], U | None]) -> Stream[U, L, B, O, R]:
        """Apply ``f`` and keep the results that are not ``None``."""
        return self._derive("filter_map", params={"f": check_callable(f, "filter_map")})

    def inspect(self, f: Callable[[T], object]) -> Stream[T, L, B, O, R]:
        """Call ``f`` on each element for debugging; the elements pass through unchanged."""
        return self._derive("inspect", params={"f": check_callable(f, "inspect")})

    def partition(self, f: Callable[[T], bool]) -> tuple[Stream[T, L, B, O, R], Stream[T, L, B, O, R]]:
        """Split into (elements where ``f`` is true, the rest), evaluating ``f`` once per element."""
        site = caller_site()
        both: Any = self._derive("partition", params={"f": check_callable(f, "partition")}, site=site)
        yes: Any = both._derive("partition_side", params={"side": 0}, site=site)
        no: Any = both._derive("partition_side", params={"side": 1}, site=site)
        return yes, no

    def flat_map_ordered(self, f: Callable[[T], Iterable[U]]) -> Stream[U, L, B, O, R]:
        """Replace each element by the items of ``f(x)``, in order (``f`` must iterate deterministically)."""
        return self._derive("flat_map", params={"f": check_callable(f, "flat_map_ordered"), "method": "flat_map_ordered"})

    def flat_map_unordered(self, f: Callable[[T], Iterable[U]]) -> Stream[U, L, B, NoOrder, R]:
        """Like ``flat_map_ordered`` for iterables with no deterministic order (sets); output is NoOrder."""
        return self._derive(
            "flat_map", order=NoOrder, params={"f": check_callable(f, "flat_map_unordered"), "method": "flat_map_unordered"}
        )

    # ---- order/duplicate-sensitive ------------------------------------------------------

    def enumerate(self: Stream[T2, L, B, TotalOrder, ExactlyOnce]) -> Stream[tuple[int, T2], L, B, TotalOrder, ExactlyOnce]:
        """Pair each element with its index (the index persists across ticks at the top level)."""
        self._need_total_order("enumerate")
        self._need_exactly_once("enumerate")
        return self._derive("enumerate")

    def scan(
        self: Stream[T2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        durable: str | None = None,
    ) -> Stream[A, L, B, TotalOrder, ExactlyOnce]:
        """Emit the running accumulator ``f(acc, x)`` after each element (e.g. running sums).

        ``durable="name"`` keeps the accumulator across a crash of the process: a restarted
        instance starts from the recovered value instead of ``init()`` (emitting nothing until the
        next element), and a message computed after a change leaves only once the change is on
        disk. The value must be picklable (see docs/storage.md). An accumulator that implements
        ``hydrologic.storage.IncrementalState`` is written as the records it reports changed,
        not whole, and rebuilt from them on a fresh ``init()`` value after a restart.
        """
        self._need_total_order("scan")
        self._need_exactly_once("scan")
        params = {"init": check_callable(init, "scan", "init"), "f": check_callable(f, "scan")}
        return self._derive("scan", params={**params, **self._durable(durable, "scan")})

    def collect_list(self: Stream[T2, L, B, TotalOrder, ExactlyOnce]) -> Singleton[list[T2], L, B]:
        """All elements so far, in order, as one list."""
        self._need_total_order("collect_list")
        self._need_exactly_once("collect_list")
        return self._derive("collect_list", kind="singleton")

    def for_each(self: Stream[T2, L, B, TotalOrder, ExactlyOnce], f: Callable[[T2], object]) -> None:
        """Run ``f`` on each element for its side effect (ordered and exactly once, so effects are deterministic)."""
        self._need_total_order("for_each")
        self._need_exactly_once("for_each")
        self._derive("for_each", kind="sink", params={"f": check_callable(f, "for_each")})

    def first(self: Stream[T2, L, B, TotalOrder, R]) -> Optional[T2, L, B]:
        """The first element, once there is one."""
        self._need_total_order("first")
        return self._derive("first", kind="optional")

    def last(self: Stream[T2, L, B, TotalOrder, R]) -> Optional[T2, L, B]:
        """The latest element."""
        self._need_total_order("last")
        return self._derive("last", kind="optional")

    @overload
    def count(self: Stream[T2, L, Bounded, O, ExactlyOnce]) -> Singleton[int, L, Bounded]: ...
    @overload
    def count(self: Stream[T2, L, B, O, ExactlyOnce]) -> Singleton[int, L, Monotonic]: ...
    def count(self: Any) -> Any:
        """How many elements (duplicates would over-count, so ExactlyOnce is required).

        Over a growing (top-level) stream the count only grows: it is ``Monotonic``, so it can be
        compared with ``threshold_greater_or_equal`` without a nondet.
        """
        self._need_exactly_once("count")
        return self._derive("count", kind="singleton", bound=Bounded if self._node.bound is Bounded else Monotonic)

    def max(self, key: Callable[[T], Any] | None = None) -> Optional[T, L, B]:
        """The greatest element (order- and duplicate-insensitive)."""
        return self._derive("max", kind="optional", params={"key": key and check_callable(key, "max", "key")})

    def min(self, key: Callable[[T], Any] | None = None) -> Optional[T, L, B]:
        """The least element (order- and duplicate-insensitive)."""
        return self._derive("min", kind="optional", params={"key": key and check_callable(key, "min", "key")})

    def unique(self) -> Stream[T, L, B, O, ExactlyOnce]:
        """Drop repeated elements (top level: ever seen; in a tick: seen in this tick)."""
        return self._derive("unique", retries=ExactlyOnce)

    @overload
    def fold(
        self: Stream[T2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
    ) -> Singleton[A, L, B]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Proof,
        idempotent: Proof | None = None,
    ) -> Singleton[A, L, B]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Proof | None = None,
        idempotent: Proof,
    ) -> Singleton[A, L, B]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, NoOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Proof,
        idempotent: Proof,
    ) -> Singleton[A, L, B]: ...
    # --- monotonicity: with monotone=proof(...), the accumulator is declared to only grow
    @overload
    def fold(
        self: Stream[T2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        monotone: Proof,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
    ) -> Singleton[A, L, Monotonic]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        monotone: Proof,
        commutative: Proof,
        idempotent: Proof | None = None,
    ) -> Singleton[A, L, Monotonic]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        monotone: Proof,
        commutative: Proof | None = None,
        idempotent: Proof,
    ) -> Singleton[A, L, Monotonic]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, NoOrder, AtLeastOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        monotone: Proof,
        commutative: Proof,
        idempotent: Proof,
    ) -> Singleton[A, L, Monotonic]: ...
    # Guards (lang/_guards.py): reached only when the proof the input needs is missing.
    @overload
    def fold(
        self: Stream[T2, L, B, NoOrder, ExactlyOnce],
        init: Callable[[], HL103_NoOrder_input_needs_commutative_proof],
        f: Callable[[Any, T2], Any],
        *,
        idempotent: Proof | None = None,
    ) -> Singleton[Any, L, B]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, TotalOrder, AtLeastOnce],
        init: Callable[[], HL104_AtLeastOnce_input_needs_idempotent_proof],
        f: Callable[[Any, T2], Any],
        *,
        commutative: Proof | None = None,
    ) -> Singleton[Any, L, B]: ...
    # Guards: a proof written as a plain string (HL304).
    @overload
    def fold(
        self: Stream[T2, L, B, O, R],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Refused[HL304_needs_a_proof_token_not_a_str],
        idempotent: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
    ) -> Singleton[A, L, B]: ...
    @overload
    def fold(
        self: Stream[T2, L, B, O, R],
        init: Callable[[], A],
        f: Callable[[A, T2], A],
        *,
        commutative: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
        idempotent: Refused[HL304_needs_a_proof_token_not_a_str],
    ) -> Singleton[A, L, B]: ...
    def fold(self, init: Any, f: Any, *, commutative: Any = None, idempotent: Any = None, monotone: Any = None) -> Any:
        """Aggregate with ``acc = f(acc, x)`` from ``init()``; ``commutative=`` is required on a ``NoOrder`` input and ``idempotent=`` on an ``AtLeastOnce`` one.

        ``monotone=proof("why")`` declares that ``f`` never makes the accumulator smaller (a
        max, a sum of non-negative amounts): the result is then ``Monotonic`` and can be read
        with ``threshold_greater_or_equal`` without a nondet. The claim is checked while the
        program runs: a threshold read that sees the value go down raises HL611.
        """
        return self._aggregate("fold", "fold", "singleton", {"init": init, "f": f}, commutative, idempotent, monotone=monotone)

    @overload
    def reduce(
        self: Stream[T2, L, B, TotalOrder, ExactlyOnce],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof | None = None,
    ) -> Optional[T2, L, B]: ...
    @overload
    def reduce(
        self: Stream[T2, L, B, NoOrder, ExactlyOnce],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Proof,
        idempotent: Proof | None = None,
    ) -> Optional[T2, L, B]: ...
    @overload
    def reduce(
        self: Stream[T2, L, B, TotalOrder, AtLeastOnce],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Proof | None = None,
        idempotent: Proof,
    ) -> Optional[T2, L, B]: ...
    @overload
    def reduce(
        self: Stream[T2, L, B, NoOrder, AtLeastOnce],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Proof,
        idempotent: Proof,
    ) -> Optional[T2, L, B]: ...
    # Guards (lang/_guards.py): reached only when the proof the input needs is missing.
    @overload
    def reduce(
        self: Stream[T2, L, B, NoOrder, ExactlyOnce],
        f: Callable[[T2, T2], HL103_NoOrder_input_needs_commutative_proof],
        *,
        idempotent: Proof | None = None,
    ) -> Optional[Any, L, B]: ...
    @overload
    def reduce(
        self: Stream[T2, L, B, TotalOrder, AtLeastOnce],
        f: Callable[[T2, T2], HL104_AtLeastOnce_input_needs_idempotent_proof],
        *,
        commutative: Proof | None = None,
    ) -> Optional[Any, L, B]: ...
    # Guards: a proof written as a plain string (HL304).
    @overload
    def reduce(
        self: Stream[T2, L, B, O, R],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Refused[HL304_needs_a_proof_token_not_a_str],
        idempotent: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
    ) -> Optional[T2, L, B]: ...
    @overload
    def reduce(
        self: Stream[T2, L, B, O, R],
        f: Callable[[T2, T2], T2],
        *,
        commutative: Proof | Refused[HL304_needs_a_proof_token_not_a_str] | None = None,
        idempotent: Refused[HL304_needs_a_proof_token_not_a_str],
    ) -> Optional[T2, L, B]: ...
    def reduce(self, f: Any, *, commutative: Any = None, idempotent: Any = None) -> Any:
        """Like ``fold`` seeded with the first element; absent until there is one."""
        return self._aggregate("reduce", "reduce", "optional", {"f": f}, commutative, idempotent)

    # ---- combining ----------------------------------------------------------------------

    # The "min" of two guarantees is written as a union (``R2 | R3``): because the markers form
    # a subclass lattice, ``ExactlyOnce | AtLeastOnce`` admits exactly what ``AtLeastOnce``
    # admits, while ``ExactlyOnce | ExactlyOnce`` stays ``ExactlyOnce``. A single signature (no
    # overloads) also keeps mypy from giving up with ``Any`` when overloads overlap.

    @overload
    def chain(self: Stream[T2, L, Bounded, O2, R2], other: Stream[T2, L, B2, O3, R3]) -> Stream[T2, L, B2, O2 | O3, R2 | R3]: ...
    @overload
    def chain(self: Stream[T2, Cluster[Tag, Any], Bounded, O2, R2], other: Stream[T2, Cluster[Tag, Any], B2, O3, R3]) -> Stream[T2, Cluster[Tag], B2, O2 | O3, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def chain(self: Stream[T2, Any, Bounded, O2, R2], other: Any) -> Any:
        """All of ``self`` (which must be Bounded), then ``other``; guarantees are the weaker of both."""
        on = self._same_location(other, "chain", Stream)
        self._need_bounded("chain", "the first stream (self)")
        me = self._node
        assert me.order and on.order and me.retries and on.retries
        return self._derive(
            "chain",
            inputs=[self, other],
            bound=on.bound,
            order=min_order(me.order, on.order),
            retries=min_retries(me.retries, on.retries),
        )

    @overload
    def merge_unordered(
        self: Stream[T2, Process[Tag], B2, O2, R2], other: Stream[T2, Process[Tag], Unbounded, NoOrder, R3]
    ) -> Stream[T2, Process[Tag], Unbounded, NoOrder, R2 | R3]: ...
    @overload
    def merge_unordered(
        self: Stream[T2, Cluster[Tag], B2, O2, R2], other: Stream[T2, Cluster[Tag], Unbounded, NoOrder, R3]
    ) -> Stream[T2, Cluster[Tag], Unbounded, NoOrder, R2 | R3]: ...
    def merge_unordered(self, other: Any) -> Any:
        """Interleave two top-level streams in arrival order; the result is NoOrder."""
        self._need_top_level("merge_unordered")
        on = self._same_location(other, "merge_unordered", Stream)
        assert self._node.retries and on.retries
        return self._derive(
            "merge", inputs=[self, other], bound=Unbounded, order=NoOrder, retries=min_retries(self._node.retries, on.retries)
        )

    @overload
    def merge_ordered(
        self: Stream[T2, Process[Tag], B2, TotalOrder, R2],
        other: Stream[T2, Process[Tag], Unbounded, TotalOrder, R3],
        nondet: NonDet,
    ) -> Stream[T2, Process[Tag], Unbounded, TotalOrder, R2 | R3]: ...
    @overload
    def merge_ordered(
        self: Stream[T2, Cluster[Tag], B2, TotalOrder, R2],
        other: Stream[T2, Cluster[Tag], Unbounded, TotalOrder, R3],
        nondet: NonDet,
    ) -> Stream[T2, Cluster[Tag], Unbounded, TotalOrder, R2 | R3]: ...
    def merge_ordered(self, other: Any, nondet: Any) -> Any:
        """Interleave two ordered top-level streams, keeping each one's order; the interleaving is a nondet site."""
        token = check_nondet(nondet, "merge_ordered")
        self._need_top_level("merge_ordered")
        on = self._same_location(other, "merge_ordered", Stream)
        self._need_total_order("merge_ordered")
        other._need_total_order("merge_ordered")
        assert self._node.retries and on.retries
        return self._derive(
            "merge",
            inputs=[self, other],
            bound=Unbounded,
            order=TotalOrder,
            retries=min_retries(self._node.retries, on.retries),
            nondet=token,
        )

    @overload
    def cross_product(self: Stream[T2, L, B2, O2, R2], other: Stream[U, L, B2, NoOrder, R3]) -> Stream[tuple[T2, U], L, B2, NoOrder, R2 | R3]: ...
    @overload
    def cross_product(self: Stream[T2, Cluster[Tag, Any], B2, O2, R2], other: Stream[U, Cluster[Tag, Any], B2, NoOrder, R3]) -> Stream[tuple[T2, U], Cluster[Tag], B2, NoOrder, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def cross_product(self: Stream[T2, Any, B2, O2, R2], other: Any) -> Any:
        """Every pair (x, y); NoOrder."""
        return self._binary_pairing("cross_product", other)

    @overload
    def join(self: Stream[tuple[K2, V2], L, B2, O2, R2], other: Stream[tuple[K2, W], L, B2, NoOrder, R3]) -> Stream[tuple[K2, tuple[V2, W]], L, B2, NoOrder, R2 | R3]: ...
    @overload
    def join(self: Stream[tuple[K2, V2], Cluster[Tag, Any], B2, O2, R2], other: Stream[tuple[K2, W], Cluster[Tag, Any], B2, NoOrder, R3]) -> Stream[tuple[K2, tuple[V2, W]], Cluster[Tag], B2, NoOrder, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def join(self: Stream[tuple[K2, V2], Any, B2, O2, R2], other: Any) -> Any:
        """Equi-join on the first tuple field: (k, (v, w)); NoOrder."""
        return self._binary_pairing("join", other)

    def _binary_pairing(self, op: str, other: Any) -> Any:
        on = self._same_location(other, op, Stream)
        if self._node.bound is Bounded and on.bound is not Bounded:
            self._same_bound(other, op)
        assert self._node.retries and on.retries
        return self._derive(
            op, inputs=[self, other], order=NoOrder, retries=min_retries(self._node.retries, on.retries)
        )

    @overload
    def cross_singleton(self: Stream[T, L, B, O, R], other: Singleton[U, L, Bounded] | Optional[U, L, Bounded]) -> Stream[tuple[T, U], L, B, O, R]: ...
    @overload
    def cross_singleton(self: Stream[T, Cluster[Tag, Any], B, O, R], other: Singleton[U, Cluster[Tag, Any], Bounded] | Optional[U, Cluster[Tag, Any], Bounded]) -> Stream[tuple[T, U], Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def cross_singleton(self: Stream[T, Any, B, O, R], other: Any) -> Any:
        """Pair each element with the (bounded) singleton's value; nothing if the optional is empty."""
        from .singleton import Optional, Singleton

        on = self._same_location(other, "cross_singleton", (Singleton, Optional))
        other._need_bounded("cross_singleton", "the singleton (right side)")
        del on
        return self._derive("cross_singleton", inputs=[self, other])

    @overload
    def anti_join(self: Stream[tuple[K2, V2], L, B, O, R], other: Stream[K2, L, Bounded, NoOrder, AtLeastOnce]) -> Stream[tuple[K2, V2], L, B, O, R]: ...
    @overload
    def anti_join(self: Stream[tuple[K2, V2], Cluster[Tag, Any], B, O, R], other: Stream[K2, Cluster[Tag, Any], Bounded, NoOrder, AtLeastOnce]) -> Stream[tuple[K2, V2], Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def anti_join(self: Stream[tuple[K2, V2], Any, B, O, R], other: Any) -> Any:
        """Keep pairs whose key is not in the bounded ``other``."""
        self._same_location(other, "anti_join", Stream)
        other._need_bounded("anti_join", "the keys to remove (right side)")
        return self._derive("anti_join", inputs=[self, other])

    @overload
    def filter_not_in(self: Stream[T2, L, B, O, R], other: Stream[T2, L, Bounded, NoOrder, AtLeastOnce]) -> Stream[T2, L, B, O, R]: ...
    @overload
    def filter_not_in(self: Stream[T2, Cluster[Tag, Any], B, O, R], other: Stream[T2, Cluster[Tag, Any], Bounded, NoOrder, AtLeastOnce]) -> Stream[T2, Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_not_in(self: Stream[T2, Any, B, O, R], other: Any) -> Any:
        """Keep elements not in the bounded ``other`` (set difference)."""
        self._same_location(other, "filter_not_in", Stream)
        other._need_bounded("filter_not_in", "the elements to remove (right side)")
        return self._derive("filter_not_in", inputs=[self, other])

    def sort(self: Stream[T2, L, Bounded, O, R], key: Callable[[T2], Any] | None = None) -> Stream[T2, L, Bounded, TotalOrder, R]:
        """Sort a bounded stream; the result is TotalOrder whatever the input order was."""
        self._need_bounded("sort")
        return self._derive("sort", order=TotalOrder, params={"key": key and check_callable(key, "sort", "key")})

    # ---- guarantee conversion -----------------------------------------------------------

    def assume_ordering(self, nondet: NonDet) -> Stream[T, L, B, TotalOrder, R]:
        """Claim an order that is not guaranteed; a nondet site (the simulator explores permutations)."""
        token = check_nondet(nondet, "assume_ordering")
        return self._derive("assume_ordering", order=TotalOrder, nondet=token)

    def assume_retries(self, nondet: NonDet) -> Stream[T, L, B, O, ExactlyOnce]:
        """Claim exactly-once delivery that is not guaranteed; a nondet site."""
        token = check_nondet(nondet, "assume_retries")
        return self._derive("assume_retries", retries=ExactlyOnce, nondet=token)

    @overload
    def weaken_consistency(self: Stream[T2, Cluster[Tag, Any], B2, O2, R2]) -> Stream[T2, Cluster[Tag], B2, O2, R2]: ...
    @overload
    def weaken_consistency(self) -> Stream[T, L, B, O, R]: ...
    def weaken_consistency(self) -> Any:
        """The same stream, typed ``Cluster[Tag, NoConsistency]`` (free). Combining collections
        of one cluster binds the location from ``self`` first, so ``consistent.chain(per_member)``
        needs this (or ``per_member`` first): the result of a mix is never consistent."""
        return self._weaken_consistency()

    def weaken_ordering(self) -> Stream[T, L, B, NoOrder, R]:
        """Forget the order guarantee (free)."""
        return self._derive("cast", order=NoOrder, params={"method": "weaken_ordering"})

    def weaken_retries(self) -> Stream[T, L, B, O, AtLeastOnce]:
        """Forget the exactly-once guarantee (free)."""
        return self._derive("cast", retries=AtLeastOnce, params={"method": "weaken_retries"})

    def into_keyed(self: Stream[tuple[K2, V2], L, B, O, R]) -> KeyedStream[K2, V2, L, B, O, R]:
        """View a stream of (key, value) pairs as a keyed stream; order is then only per key."""
        return self._derive("cast", kind="keyed_stream", params={"method": "into_keyed"})

    # ---- ticks --------------------------------------------------------------------------

    @overload
    def batch(self: Stream[T2, TL, B, O, R], tick: Tick[TL], nondet: NonDet) -> Stream[T2, Tick[TL], Bounded, O, R]: ...
    @overload
    def batch(self: Stream[T2, Cluster[Tag, Any], B, O, R], tick: Tick[Cluster[Tag, Any]], nondet: NonDet) -> Stream[T2, Tick[Cluster[Tag]], Bounded, O, R]: ...  # type: ignore[overload-cannot-match]  # pyright: ignore[reportOverlappingOverload]  # reached when self's cluster is typed consistent: the first binds TL from self
    def batch(self, tick: Any, nondet: NonDet) -> Any:
        """The elements that arrived by this tick, as a bounded batch (which ones is a nondet site)."""
        return self._into_tick("batch", tick, nondet)

    def all_ticks(self: Stream[T2, Tick[TL], B, O, R]) -> Stream[T2, TL, Unbounded, O, R]:
        """Concatenate the per-tick batches back into a top-level stream."""
        return self._leave_tick("all_ticks")

    def defer_tick(self: Stream[T2, Tick[TL], B, O, R]) -> Stream[T2, Tick[TL], B, O, R]:
        """This tick's batch, delivered in the next tick."""
        self._need_in_tick("defer_tick")
        return self._derive("defer_tick", params={"deferred": (0,)})

    def atomic(self: Stream[T2, TL, B, O, R], tick: Tick[TL] | None = None) -> Stream[T2, Atomic[Tick[TL]], B, O, R]:
        """Enter ``tick``'s atomic section: state derived from here is visible to every
        ``snapshot_atomic`` taken after an output derived from the same input was released.

        Without ``tick``, the section gets a tick of its own, which the first ``sliced`` region
        that reads the section adopts (``batch_atomic``/``snapshot_atomic`` read it directly)."""
        scope = self._atomic(tick, "atomic")
        return self._derive("atomic", scope=scope)

    def end_atomic(self: Stream[T2, Atomic[Tick[TL]], B, O, R]) -> Stream[T2, TL, B, O, R]:
        """Leave the atomic section (e.g. to acknowledge the inputs that entered it)."""
        scope = self._need_atomic("end_atomic")
        return self._derive("end_atomic", scope=scope.outer)

    # ---- network ------------------------------------------------------------------------

    # `channel=` chooses the edge's fault semantics (lang/channel.py); the received order is the
    # weaker of the sent stream's and the channel's (written as a marker union, `O | CO`).

    @overload
    def send(
        self: Stream[T2, Process[Any], B, O, R], to: Process[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[T2, Process[Tag2], Unbounded, O | CO, R]: ...
    @overload
    def send(
        self: Stream[T2, Cluster[Tag], B, O, R], to: Process[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], T2, Process[Tag2], Unbounded, O | CO, R]: ...
    def send(self, to: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send to a process over a FIFO channel; from a cluster, the result is keyed by sender."""
        return self._network("send", to, None, channel)

    @overload
    def demux(
        self: Stream[tuple[MemberId[Tag2], T2], Process[Any], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[T2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    @overload
    def demux(
        self: Stream[tuple[MemberId[Tag2], T2], Cluster[Tag], B, O, R], to: Cluster[Tag2], *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], T2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    def demux(self, to: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send each (member, value) to that member of the cluster."""
        return self._network("demux", to, None, channel)

    @overload
    def broadcast(
        self: Stream[T2, Process[Any], B, O, R], to: Cluster[Tag2], nondet: NonDet, *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[T2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    @overload
    def broadcast(
        self: Stream[T2, Cluster[Tag], B, O, R], to: Cluster[Tag2], nondet: NonDet, *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], T2, Cluster[Tag2], Unbounded, O | CO, R]: ...
    def broadcast(self, to: Any, nondet: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send every element to every member (membership is a nondet site)."""
        return self._network("broadcast", to, check_nondet(nondet, "broadcast"), channel)

    @overload
    def broadcast_closed(
        self: Stream[T2, Process[Any], B, O, R], to: Cluster[Tag2, Any], *, channel: Channel[CO, CC] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[T2, Cluster[Tag2, CC], Unbounded, O | CO, R]: ...
    @overload
    def broadcast_closed(
        self: Stream[T2, Cluster[Tag], B, O, R], to: Cluster[Tag2, Any], *, channel: Channel[CO, CC] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], T2, Cluster[Tag2, CC], Unbounded, O | CO, R]: ...
    def broadcast_closed(self, to: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Send every element to every member of a cluster whose membership never changes: the
        members it was deployed with. Not a nondet site (unlike ``broadcast``, which sends to the
        members of the moment), and what it delivers is eventually consistent across the members
        (``Cluster[Tag, EventualConsistency]``) unless the channel is lossy: every member gets
        every element. Deployments refuse to add or remove members of a cluster that a
        ``broadcast_closed`` targets, and the simulator never makes them join or leave."""
        return self._network("broadcast", to, None, channel, closed=True)

    @overload
    def round_robin(
        self: Stream[T2, Process[Any], B, TotalOrder, ExactlyOnce], to: Cluster[Tag2], nondet: NonDet, *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> Stream[T2, Cluster[Tag2], Unbounded, TotalOrder | CO, ExactlyOnce]: ...
    @overload
    def round_robin(
        self: Stream[T2, Cluster[Tag], B, TotalOrder, ExactlyOnce], to: Cluster[Tag2], nondet: NonDet, *, channel: Channel[CO, Any] = ...  # pyright: ignore[reportInvalidTypeVarUse]
    ) -> KeyedStream[MemberId[Tag], T2, Cluster[Tag2], Unbounded, TotalOrder | CO, ExactlyOnce]: ...
    def round_robin(self, to: Any, nondet: Any, *, channel: Any = FAIL_STOP) -> Any:
        """Spread elements over the members in turn (which member gets which is a nondet site)."""
        token = check_nondet(nondet, "round_robin")
        self._need_total_order("round_robin")
        self._need_exactly_once("round_robin")
        return self._network("round_robin", to, token, channel)

    @overload
    def send_external(
        self: Stream[T2, TL, B, TotalOrder, ExactlyOnce],
        external: External[Any],
        *,
        name: str,
        ordered: bool,  # a TotalOrder stream may feed a port either way
        delivery: Literal["at_most_once", "exactly_once"],
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    @overload
    def send_external(
        self: Stream[T2, TL, B, TotalOrder, R],
        external: External[Any],
        *,
        name: str,
        ordered: bool,  # a TotalOrder stream may feed a port either way
        delivery: Literal["at_least_once"] = ...,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    @overload
    def send_external(
        self: Stream[T2, TL, B, O, ExactlyOnce],
        external: External[Any],
        *,
        name: str,
        ordered: Literal[False] = ...,
        delivery: Literal["at_most_once", "exactly_once"],
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    @overload
    def send_external(
        self: Stream[T2, TL, B, O, R],
        external: External[Any],
        *,
        name: str,
        ordered: Literal[False] = ...,
        delivery: Literal["at_least_once"] = ...,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    # Guards (lang/_guards.py): reached only when the stream lacks the declared contract's guarantee.
    @overload
    def send_external(
        self: Stream[T2, TL, B, NoOrder, R],
        external: External[Any],
        *,
        name: str,
        ordered: Refused[HL110_NoOrder_stream_cannot_feed_an_ordered_port],
        delivery: str = ...,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    @overload
    def send_external(
        self: Stream[T2, TL, B, O, AtLeastOnce],
        external: External[Any],
        *,
        name: str,
        ordered: bool = ...,
        delivery: Refused[HL110_AtLeastOnce_stream_cannot_feed_a_no_duplicates_port],
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    @overload
    def send_external(
        self,
        external: NotAClient[HL204_send_external_needs_flow_external_use_send_for_a_process],
        *,
        name: str,
        ordered: bool = ...,
        delivery: str = ...,
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None: ...
    def send_external(
        self,
        external: Any,
        *,
        name: str,
        ordered: bool | Refused[Any] = False,
        delivery: str | Refused[Any] = "at_least_once",
        codec: str | type[ExternalCodecLike] | ExternalCodecLike = "msgpack",
    ) -> None:
        """Deliver each element to a client outside the program.

        ``ordered=True`` and ``delivery="at_most_once"``/``"exactly_once"`` declare the contract the
        client relies on (elements in a deterministic order; no duplicates). The contract is
        checked statically and at build time (HL110), naming the path that breaks it.
        """
        self._need_top_level("send_external")
        if not isinstance(external, External):
            raise LocationError(
                "HL204",
                f"`send_external` needs an External, got {type(external).__name__}",
                site=caller_site(),
                needed="an External location (a client outside the program: flow.external(Tag))",
                present=repr(cast(object, external)) if isinstance(external, (Process, Cluster)) else type(external).__name__,
                fix="s.send(process) for a process of the program; s.send_external(flow.external(Client), name=...) for a client",
            )
        if not isinstance(delivery, str) or delivery not in ("at_least_once", "at_most_once", "exactly_once"):
            raise UsageError(
                "HL501",
                f"`send_external`: delivery must be at_least_once, at_most_once or exactly_once, got {delivery!r}",
                site=caller_site(),
            )
        if not isinstance(ordered, bool):
            raise UsageError("HL501", f"`send_external`: ordered must be True or False, got {ordered!r}", site=caller_site())
        codec = check_codec(codec, "send_external")
        check_output_contract(self, "send_external", name, ordered, delivery != "at_least_once")
        register_port(self._flow, name)
        ext: External[Any] = external  # pyright: ignore[reportUnknownVariableType]
        self._derive(
            "send_external",
            kind="sink",
            params={
                "name": name,
                "external": info_of(ext),
                "codec": codec,
                "contract": {"ordered": bool(ordered), "delivery": delivery},
            },
        )

    # --- sliced regions, stateful ticks and atomic reads
    def batch_atomic(self: Stream[T2, Atomic[Tick[TL]], B, O, R], nondet: NonDet) -> Stream[T2, Tick[TL], Bounded, O, R]:
        """The elements that entered the atomic section by this tick of the section's tick, as a
        bounded batch (which arrived inputs the section has taken in is the nondet site)."""
        return self._batch_atomic("batch_atomic", nondet)

    def all_ticks_atomic(self: Stream[T2, Tick[TL], B, O, R]) -> Stream[T2, Atomic[Tick[TL]], Unbounded, O, R]:
        """Like ``all_ticks``, but into the tick's atomic section: what is derived from it is
        computed within the same tick (``end_atomic()`` then releases it)."""
        return self._leave_tick_atomic("all_ticks_atomic")

    @overload
    def across_ticks(
        self: Stream[T2, Tick[TL], B, O, R],
        f: Callable[[Stream[T2, Atomic[Tick[TL]], Unbounded, O, R]], Singleton[U, Atomic[Tick[TL]], B2]],
    ) -> Singleton[U, Tick[TL], Bounded]: ...
    @overload
    def across_ticks(
        self: Stream[T2, Tick[TL], B, O, R],
        f: Callable[[Stream[T2, Atomic[Tick[TL]], Unbounded, O, R]], Optional[U, Atomic[Tick[TL]], B2]],
    ) -> Optional[U, Tick[TL], Bounded]: ...
    @overload
    def across_ticks(
        self: Stream[T2, Tick[TL], B, O, R],
        f: Callable[[Stream[T2, Atomic[Tick[TL]], Unbounded, O, R]], Stream[U, Atomic[Tick[TL]], B2, O2, R2]],
    ) -> Stream[U, Tick[TL], Bounded, O2, R2]: ...
    def across_ticks(self, f: Any) -> Any:
        """Run ``f`` in stateful mode: on every tick's elements so far, with top-level state
        (a ``fold`` in ``f`` keeps its accumulator across ticks), and read its result back in
        this tick. Batches ``[1, 2, 3, 4]`` then ``[5, 6, 7]`` counted this way give 4, then 7.

        No nondet: ``f`` runs within the tick that fed it, so the tick reads exactly the state
        after its own elements (the section's reads below are not decision points)."""
        return self._across_ticks(f)

    def sim_output(self) -> SimOutput[T]:
        """An output a test can observe (in-process runs and the simulator)."""
        coll: Any = self._derive("sim_output", kind="sink")
        return SimOutput(node_of(coll))


    # --- keyed-stream algebra and small combinators (Hydro parity) ------------------------

    def location(self) -> L:
        """The location this stream lives at (a Process, Cluster, Tick or atomic section)."""
        return self._location()

    def flatten_ordered(self: Stream[Iterable[U], L, B, O, R]) -> Stream[U, L, B, O, R]:
        """Replace each element (an iterable with a deterministic order) by its items."""
        return self._derive("flat_map", params={"f": _identity, "method": "flatten_ordered"})

    def flatten_unordered(self: Stream[Iterable[U], L, B, O, R]) -> Stream[U, L, B, NoOrder, R]:
        """Like ``flatten_ordered`` for iterables with no deterministic order (sets); NoOrder."""
        return self._derive("flat_map", order=NoOrder, params={"f": _identity, "method": "flatten_unordered"})

    @overload
    def filter_if(self: Stream[T, L, B, O, R], cond: Singleton[bool, L, Bounded]) -> Stream[T, L, B, O, R]: ...
    @overload
    def filter_if(self: Stream[T, Cluster[Tag, Any], B, O, R], cond: Singleton[bool, Cluster[Tag, Any], Bounded]) -> Stream[T, Cluster[Tag], B, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def filter_if(self: Stream[T, Any, B, O, R], cond: Any) -> Any:
        """The elements while the bounded bool singleton ``cond`` is true; nothing while it is false.

        Hydro's ``filter_if_some(o)`` / ``filter_if_none(o)`` are ``filter_if(o.is_some())`` /
        ``filter_if(o.is_none())``.
        """
        from .singleton import Singleton

        self._same_location(cond, "filter_if", Singleton)
        cond._need_bounded("filter_if", "the condition (a bool singleton)")
        paired = self._derive("cross_singleton", inputs=[self, cond], params={"method": "filter_if"})
        kept = paired._derive("filter", params={"f": _second_true, "method": "filter_if"})
        return kept._derive("map", params={"f": _first, "method": "filter_if"})

    def is_empty(self: Stream[T2, L, Bounded, O, R]) -> Singleton[bool, L, Bounded]:
        """Whether this bounded stream has no elements."""
        self._need_bounded("is_empty")
        n = self._derive("count", kind="singleton", params={"method": "is_empty"})
        return n._derive("singleton_map", params={"f": _is_zero, "method": "is_empty"})

    def keys(self: Stream[tuple[K2, V2], L, B, O, R]) -> Stream[K2, L, B, O, ExactlyOnce]:
        """The distinct keys of a stream of (key, value) pairs, in order of first appearance."""
        ks = self._derive("map", params={"f": _first, "method": "keys"})
        return ks._derive("unique", retries=ExactlyOnce, params={"method": "keys"})

    def make_totally_ordered(self: Stream[T2, L, B, TotalOrder, R]) -> Stream[T2, L, B, TotalOrder, R]:
        """This stream, which is already TotalOrder (checked); for code generic in the order."""
        self._need_total_order("make_totally_ordered")
        return self

    def make_exactly_once(self: Stream[T2, L, B, O, ExactlyOnce]) -> Stream[T2, L, B, O, ExactlyOnce]:
        """This stream, which is already ExactlyOnce (checked); for code generic in the retries."""
        self._need_exactly_once("make_exactly_once")
        return self

    def make_bounded(self: Stream[T2, L, Bounded, O, R]) -> Stream[T2, L, Bounded, O, R]:
        """This stream, which is already Bounded (checked); for code generic in the boundedness."""
        self._need_bounded("make_bounded")
        return self

    def generator(
        self: Stream[T2, L, B, TotalOrder, ExactlyOnce],
        init: Callable[[], A],
        f: Callable[[A, T2], tuple[A, Generate[U]]],
    ) -> Stream[U, L, B, TotalOrder, ExactlyOnce]:
        """Run a state machine over the elements: ``f(state, x)`` returns the new state and one of
        ``Yield(y)`` (emit y), ``Return(y)`` (emit y, then ignore the rest), ``Continue()`` (emit
        nothing) or ``Break()`` (emit nothing, ignore the rest). The state starts as ``init()``."""
        self._need_total_order("generator")
        self._need_exactly_once("generator")
        fns = {"init": check_callable(init, "generator", "init"), "f": check_callable(f, "generator")}
        return self._derive("generator", params={**fns, "keyed": False})

    @overload
    def cross_product_nested_loop(self: Stream[T2, L, B, O2, R2], other: Stream[U, L, Bounded, O3, R3]) -> Stream[tuple[T2, U], L, B, O2 | O3, R2 | R3]: ...
    @overload
    def cross_product_nested_loop(self: Stream[T2, Cluster[Tag, Any], B, O2, R2], other: Stream[U, Cluster[Tag, Any], Bounded, O3, R3]) -> Stream[tuple[T2, U], Cluster[Tag], B, O2 | O3, R2 | R3]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def cross_product_nested_loop(self: Stream[T2, Any, B, O2, R2], other: Any) -> Any:
        """Every pair (x, y), for each x of ``self`` in order, each y of the bounded ``other`` in
        order: ordered when both inputs are (``cross_product`` is NoOrder)."""
        on = self._same_location(other, "cross_product_nested_loop", Stream)
        other._need_bounded("cross_product_nested_loop", "the inner stream (other)")
        me = self._node
        assert me.order and on.order and me.retries and on.retries
        return self._derive(
            "cross_product",
            inputs=[self, other],
            order=min_order(me.order, on.order),
            retries=min_retries(me.retries, on.retries),
            params={"method": "cross_product_nested_loop"},
        )

    @overload
    def repeat_with_keys(self: Stream[T2, L, Bounded, O, R], keys: KeyedSingleton[K2, Any, L, Bounded]) -> KeyedStream[K2, T2, L, Bounded, O, R]: ...
    @overload
    def repeat_with_keys(self: Stream[T2, Cluster[Tag, Any], Bounded, O, R], keys: KeyedSingleton[K2, Any, Cluster[Tag, Any], Bounded]) -> KeyedStream[K2, T2, Cluster[Tag], Bounded, O, R]: ...  # pyright: ignore[reportOverlappingOverload]  # a consistent self with a per-member other
    def repeat_with_keys(self: Stream[T2, Any, Bounded, O, R], keys: Any) -> Any:
        """This bounded stream repeated under every key of the bounded keyed singleton ``keys``
        (each key's values keep this stream's order)."""
        from .keyed_singleton import KeyedSingleton

        self._same_location(keys, "repeat_with_keys", KeyedSingleton)
        self._need_bounded("repeat_with_keys")
        keys._need_bounded("repeat_with_keys", "the keyed singleton")
        ks = keys._derive("ks_keys", kind="stream", order=NoOrder, params={"method": "repeat_with_keys"})
        me = self._node
        return ks._derive(
            "cross_product", inputs=[ks, self], kind="keyed_stream", order=me.order, retries=me.retries,
            params={"method": "repeat_with_keys"},
        )  # fmt: skip


    # --- async user functions -----------------------------------------------------------
    # Awaitables (usually the coroutines of an `async def` function mapped over the stream) are
    # run by the driver's async host (runtime/ops/asyncs.py); docs/async.md has the semantics.

    @overload
    def resolve_futures(
        self: Stream[Awaitable[T2], Process[Tag], B, O, R], *, max_in_flight: int = 64
    ) -> Stream[T2, Process[Tag], Unbounded, NoOrder, R]: ...
    @overload
    def resolve_futures(
        self: Stream[Awaitable[T2], Cluster[Tag], B, O, R], *, max_in_flight: int = 64
    ) -> Stream[T2, Cluster[Tag], Unbounded, NoOrder, R]: ...
    def resolve_futures(self, *, max_in_flight: int = 64) -> Any:
        """The result of each awaitable, emitted as it completes: NoOrder, since a later call
        may finish first (the simulator explores which in-flight one completes next).

        At most ``max_in_flight`` run at a time; the rest wait in arrival order. An awaitable
        that raises stops the location like any user function (HL601).
        """
        return self._resolve("resolve_futures", max_in_flight, ordered=False)

    @overload
    def resolve_futures_ordered(
        self: Stream[Awaitable[T2], Process[Tag], B, O, R], *, max_in_flight: int = 64
    ) -> Stream[T2, Process[Tag], Unbounded, O, R]: ...
    @overload
    def resolve_futures_ordered(
        self: Stream[Awaitable[T2], Cluster[Tag], B, O, R], *, max_in_flight: int = 64
    ) -> Stream[T2, Cluster[Tag], Unbounded, O, R]: ...
    def resolve_futures_ordered(self, *, max_in_flight: int = 64) -> Any:
        """The result of each awaitable, in input order (a result waits for those before it);
        the calls still run concurrently, at most ``max_in_flight`` at a time."""
        return self._resolve("resolve_futures_ordered", max_in_flight, ordered=True)

    def resolve_futures_blocking(
        self: Stream[Awaitable[T2], L, B, O, R], *, max_in_flight: int = 64
    ) -> Stream[T2, L, B, O, R]:
        """The results of each batch of awaitables, in input order, awaited before the tick goes
        on: deterministic and valid inside a tick, but the location waits for the slowest call."""
        limit = _check_limit(max_in_flight, "resolve_futures_blocking")
        return self._derive("resolve_futures_blocking", params={"max_in_flight": limit})

    def _resolve(self, method: str, max_in_flight: object, *, ordered: bool) -> Any:
        limit = _check_limit(max_in_flight, method)
        self._need_top_level(method)
        return self._derive(
            "resolve_futures",
            bound=Unbounded,
            order=None if ordered else NoOrder,
            params={"max_in_flight": limit, "ordered": ordered, "method": method},
        )

    def dest_sink(self: Stream[T2, L, B, TotalOrder, ExactlyOnce], f: Callable[[T2], Awaitable[object]]) -> None:
        """Await ``f(x)`` for each element, one at a time and in order (an async ``for_each``:
        e.g. writing to a database or a socket). Needs a TotalOrder, ExactlyOnce stream."""
        self._need_total_order("dest_sink")
        self._need_exactly_once("dest_sink")
        self._derive("dest_sink", kind="sink", params={"f": check_callable(f, "dest_sink")})

    # --- timers -------------------------------------------------------------------------

    @overload
    def sample_every(
        self: Stream[T2, Process[Tag], B, O, R], seconds: float, nondet: NonDet
    ) -> Stream[T2, Process[Tag], Unbounded, O, AtLeastOnce]: ...
    @overload
    def sample_every(
        self: Stream[T2, Cluster[Tag], B, O, R], seconds: float, nondet: NonDet
    ) -> Stream[T2, Cluster[Tag], Unbounded, O, AtLeastOnce]: ...
    def sample_every(self, seconds: float, nondet: NonDet) -> Any:
        """A sample of the stream about every ``seconds``: the elements that arrive in a tick
        where the timer fired; the others are dropped. When it fires and which elements a tick
        sees are nondet sites (the simulator fires timers when the test calls ``advance_time``).
        AtLeastOnce, as in Hydro: a sample is not promised to be free of repeats."""
        return timers.sample_every(self, seconds, nondet)

    @overload
    def timeout(self: Stream[T2, Process[Tag], B, O, R], seconds: float, nondet: NonDet) -> Optional[None, Process[Tag], Unbounded]: ...
    @overload
    def timeout(self: Stream[T2, Cluster[Tag], B, O, R], seconds: float, nondet: NonDet) -> Optional[None, Cluster[Tag], Unbounded]: ...
    def timeout(self, seconds: float, nondet: NonDet) -> Any:
        """Present (holding ``None``) while no element has arrived for ``seconds``; absent
        before the first element and again after each new one. The time comes from a timer
        firing four times per ``seconds``, so a timeout is reported between ``seconds`` and
        1.5 x ``seconds`` after the last element, never early. When the timer fires relative
        to the elements is the nondet site."""
        return timers.timeout(self, seconds, nondet)


def _identity(x: Any) -> Any:
    return x


def _first(pair: Any) -> Any:
    return pair[0]


def _second_true(pair: Any) -> bool:
    return bool(pair[1])


def _is_zero(n: int) -> bool:
    return n == 0


def _check_limit(max_in_flight: object, method: str) -> int:
    if type(max_in_flight) is not int or max_in_flight < 1:
        raise UsageError(
            "HL501",
            f"`{method}`: max_in_flight must be a positive int, got {max_in_flight!r}",
            fix="pass how many calls may run at once, e.g. max_in_flight=16",
            site=caller_site(),
        )
    return max_in_flight
