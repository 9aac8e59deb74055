"""Every operator of the graph, declared once: the one table the other layers derive theirs from.

A node's ``op`` is a string, and before this table existed each layer kept its own string-keyed
facts about it (the user-facing method name, which inputs block, which ops the simulator hooks,
which folds it checks for commutativity), with nothing checking that they agreed. Now each
operator is one ``OpSpec`` below, the way Hydro's ``HydroNode`` enum declares every node kind once
with its doc, and:

- ``ir`` derives the method names shown in errors and the blocking inputs of the cycle check;
- the simulator's plan derives which nodes are inboxes, hooks, next-tick edges and claimed folds
  from ``sim`` roles (``SimRole``);
- the runtime's operator registry must implement exactly these names (checked on import of
  ``hydrologic.runtime.ops`` and by the tests), and ``docs/reference.md`` must document each
  spec's methods (checked by the tests);
- the graph refuses a node whose op is not declared here, or which carries a ``nondet`` token
  where the spec says no decision is made (``check_node``).

Adding an operator: one ``OpSpec`` here, the user method in ``lang``, the batch implementation in
``runtime/ops/<family>.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Family", "Need", "SimRole", "OpSpec", "OP_SPECS", "spec_of", "ops_with", "blocking_inputs", "check_node"]


class Family(enum.Enum):
    """Where the operator's batch implementation lives (``runtime/ops/<family>.py``)."""

    SOURCE = "sources"
    ELEMENTWISE = "elementwise"
    STATEFUL = "stateful"
    COMBINE = "combine"  # stateless operators over two inputs (chain, merge, sort, lookups)
    AGGREGATE = "aggregates"
    SCALAR = "scalar"
    NEXT_TICK = "next_tick"
    SINK = "sinks"
    # --- keyed-stream algebra (Hydro parity)
    GENERATOR = "generators"

    ASYNC = "asyncs"  # user coroutines: run by the driver's async host (``runtime/ops/asyncs.py``)
    TIMERS = "timers"  # operators driven by the clock: timeout, spin


class Need(enum.Enum):
    """A guarantee the op demands of an input in at least one of its typed forms.

    The typed overloads in ``lang`` say exactly when (``fold`` needs ``TotalOrder`` unless given a
    ``commutative=`` proof, ``round_robin`` only for an ordered cluster, ...); the tests check this
    summary against every overload in ``docs/reference.md``, in both directions.
    """

    TOTAL_ORDER = "TotalOrder"  # waived by a commutative= proof where the op takes one
    EXACTLY_ONCE = "ExactlyOnce"  # waived by an idempotent= proof where the op takes one
    BOUNDED = "Bounded"  # the input named by ``bounded_inputs``
    TICK = "Tick"  # built inside a tick (batch/snapshot targets, defer_tick, all_ticks)
    TOP_LEVEL = "TopLevel"  # built outside any tick (network edges, merges)
    MONOTONIC = "Monotonic"  # the input named first only grows (threshold reads)


class SimRole(enum.Flag):
    """What the simulator must do with a node of this op beyond running it.

    ``PLAIN`` ops are deterministic functions of their inputs and need nothing; every other role
    names a place where the simulator delivers outside data or makes (or checks) a decision.
    """

    PLAIN = 0
    INBOX = enum.auto()  # elements arrive from outside the location's graph (tests, clients, peers, timers)
    CONST_SOURCE = enum.auto()  # emits the same data every tick: a tick holding one always has work
    BATCH = enum.auto()  # decision: which arrived elements this tick sees
    SNAPSHOT = enum.auto()  # decision: which version of a top-level value this tick sees
    ATOMIC_ENTRY = enum.auto()  # released like a batch when its tick takes snapshot_atomic
    ATOMIC_SNAPSHOT = enum.auto()  # pulls its atomic section into the tick
    ORDERING = enum.auto()  # decision: the order assume_ordering / merge_ordered releases
    NEXT_TICK = enum.auto()  # carries data to the next tick of the same location
    CLAIMED_FOLD = enum.auto()  # commutative=/idempotent= proofs are tested, not trusted


@dataclass(frozen=True)
class OpSpec:
    """One operator: everything the IR, passes, simulator and runtime ask about it."""

    name: str  # the IR op (``Node.op``)
    methods: tuple[str, ...]  # the user-facing methods that build it; the first names it in messages
    family: Family
    doc: str  # one line: what it computes
    sim: SimRole
    blocking: tuple[int, ...] = ()  # inputs that must be complete for this tick before it emits
    needs: frozenset[Need] = frozenset()
    nondet: str | None = None  # what a nondet token at this op decides; None: it takes none

    @property
    def method(self) -> str:
        return self.methods[0]


def _spec(
    name: str,
    methods: str | tuple[str, ...],
    family: Family,
    doc: str,
    sim: SimRole = SimRole.PLAIN,
    *,
    blocking: tuple[int, ...] = (),
    needs: tuple[Need, ...] = (),
    nondet: str | None = None,
) -> OpSpec:
    ms = (methods,) if isinstance(methods, str) else methods
    return OpSpec(name, ms, family, doc, sim, blocking, frozenset(needs), nondet)


F, R, N = Family, SimRole, Need
_ORDER_ONCE = (N.TOTAL_ORDER, N.EXACTLY_ONCE)
_FOLD = R.CLAIMED_FOLD
_EXTERNAL = "which elements arrive at this location and when"

_SPECS: tuple[OpSpec, ...] = (
    # ---- sources --------------------------------------------------------------------------
    _spec("source_iter", "source_iter", F.SOURCE, "a fixed collection of items", R.CONST_SOURCE),
    _spec("singleton", "singleton", F.SOURCE, "a constant value", R.CONST_SOURCE),
    _spec("optional_first_tick", "optional_first_tick", F.SOURCE, "a value in the first tick only", R.CONST_SOURCE),
    _spec("none", "none", F.SOURCE, "an Optional that is always empty", R.CONST_SOURCE),
    _spec("self_id", "self_id", F.SOURCE, "this cluster member's id", R.PLAIN),
    _spec("cluster_members", "cluster_members", F.SOURCE, "the member ids of a cluster", R.PLAIN),
    _spec("peer_liveness", "peer_liveness", F.SOURCE, "up/down/restarted events of a peer location's members", R.INBOX),
    _spec("sim_input", "sim_input", F.SOURCE, "elements a test feeds in", R.INBOX),
    _spec("source_external", "source_external", F.SOURCE, "elements an External client sends", R.INBOX),
    _spec("source_external_bidi", "source_external_bidi", F.SOURCE, "requests of a two-way External port", R.INBOX),
    _spec("external_membership", ("external_membership", "membership"), F.SOURCE, "connect/disconnect events of a two-way port", R.INBOX),
    _spec("source_interval", ("source_interval", "source_interval_delayed"), F.SOURCE, "a tick of the wall clock every period", R.INBOX, nondet="how many periods have elapsed when the location next runs"),
    _spec(
        "network",
        ("send", "demux", "broadcast", "broadcast_closed", "round_robin"),
        F.SOURCE,
        "elements sent from another location",
        R.INBOX,
        needs=(N.TOP_LEVEL, N.TOTAL_ORDER, N.EXACTLY_ONCE),
        nondet="which cluster member receives each element (round_robin)",
    ),
    # ---- element-wise ---------------------------------------------------------------------
    _spec("map", "map", F.ELEMENTWISE, "f(x) for each element"),
    _spec("filter", ("filter", "filter_with_key"), F.ELEMENTWISE, "the elements for which f is true"),
    _spec("filter_map", "filter_map", F.ELEMENTWISE, "f(x) for each element where it is not None"),
    _spec("inspect", "inspect", F.ELEMENTWISE, "the input unchanged, calling f on each element"),
    _spec("flat_map", ("flat_map_ordered", "flat_map_unordered"), F.ELEMENTWISE, "the items of f(x) for each element"),
    _spec("partition", "partition", F.ELEMENTWISE, "splits by a predicate (the true side)"),
    _spec("partition_side", "partition", F.ELEMENTWISE, "the false side of a partition"),
    _spec(
        "cast",
        ("weaken_ordering", "weaken_retries", "into_keyed", "entries", "weaken_consistency", "make_eventually_consistent"),
        F.ELEMENTWISE,
        "the input under a weaker or re-shaped type; no data changes",
    ),
    _spec(
        "assume_ordering",
        "assume_ordering",
        F.ELEMENTWISE,
        "the input, declared totally ordered",
        R.ORDERING,
        nondet="the order in which the elements are released",
    ),
    _spec("assume_retries", "assume_retries", F.ELEMENTWISE, "the input, declared free of duplicates", nondet="whether duplicates are seen"),
    _spec("all_ticks", "all_ticks", F.ELEMENTWISE, "every tick's elements, at the top level", needs=(N.TICK,)),
    _spec("forward_ref", "forward_ref", F.ELEMENTWISE, "the stream completed later by a cycle's complete()"),
    _spec("atomic", "atomic", F.ELEMENTWISE, "the input, in a section synchronous with a tick", R.ATOMIC_ENTRY),
    _spec("end_atomic", "end_atomic", F.ELEMENTWISE, "the atomic section's output, back at the top level"),
    _spec(
        "batch",
        "batch",
        F.ELEMENTWISE,
        "the elements that arrived since the last tick",
        R.BATCH,
        needs=(N.TOP_LEVEL,),
        nondet="which arrived elements this tick sees",
    ),
    _spec("values", "values", F.ELEMENTWISE, "a keyed stream's values"),
    _spec("keyed_map", "map", F.ELEMENTWISE, "f(v) for each value, keeping keys"),
    _spec("keyed_map_with_key", "map_with_key", F.ELEMENTWISE, "f((k, v)) for each entry, keeping keys"),
    _spec("keyed_filter", "filter", F.ELEMENTWISE, "the entries whose value passes f"),
    # ---- stateful streaming ---------------------------------------------------------------
    _spec("enumerate", "enumerate", F.STATEFUL, "(index, element) pairs", needs=_ORDER_ONCE),
    _spec("scan", "scan", F.STATEFUL, "every intermediate accumulator", needs=_ORDER_ONCE),
    _spec("unique", "unique", F.STATEFUL, "each distinct element once"),
    _spec("join", "join", F.STATEFUL, "pairs of entries with equal keys"),
    _spec("cross_product", "cross_product", F.STATEFUL, "every pair of elements of both inputs"),
    _spec("anti_join", ("anti_join", "filter_key_not_in"), F.STATEFUL, "entries whose key is not in the right input", blocking=(1,), needs=(N.BOUNDED,)),
    _spec("filter_not_in", "filter_not_in", F.STATEFUL, "elements not in the right input", blocking=(1,), needs=(N.BOUNDED,)),
    _spec("chain", "chain", F.COMBINE, "the first input's elements, then the second's", blocking=(0,), needs=(N.BOUNDED,)),
    _spec(
        "merge",
        ("merge_unordered", "merge_ordered"),
        F.COMBINE,
        "the elements of both inputs",
        R.ORDERING,
        needs=(N.TOP_LEVEL, N.TOTAL_ORDER),
        nondet="how the two ordered inputs interleave (merge_ordered)",
    ),
    _spec("sort", "sort", F.COMBINE, "the elements in sorted order", blocking=(0,), needs=(N.BOUNDED,)),
    _spec("cross_singleton", "cross_singleton", F.COMBINE, "each element paired with the singleton's value", blocking=(1,), needs=(N.BOUNDED,)),
    _spec("ks_join_keyed_stream", "join_keyed_stream", F.COMBINE, "each keyed-stream entry paired with the keyed singleton's value", blocking=(1,), needs=(N.BOUNDED,)),
    # ---- aggregations ---------------------------------------------------------------------
    _spec("fold", "fold", F.AGGREGATE, "the accumulator over all elements", _FOLD, blocking=(0,), needs=_ORDER_ONCE),
    _spec("reduce", "reduce", F.AGGREGATE, "the elements combined pairwise", _FOLD, blocking=(0,), needs=_ORDER_ONCE),
    # count/value_counts: their Bounded form keeps a Bounded count; over a growing input the count is Monotonic
    _spec("count", "count", F.AGGREGATE, "the number of elements", blocking=(0,), needs=(N.EXACTLY_ONCE, N.BOUNDED)),
    _spec("first", "first", F.AGGREGATE, "the first element", blocking=(0,), needs=(N.TOTAL_ORDER,)),
    _spec("last", "last", F.AGGREGATE, "the last element", blocking=(0,), needs=(N.TOTAL_ORDER,)),
    _spec("max", "max", F.AGGREGATE, "the largest element", blocking=(0,)),
    _spec("min", "min", F.AGGREGATE, "the smallest element", blocking=(0,)),
    _spec("collect_list", "collect_list", F.AGGREGATE, "all elements as a list", blocking=(0,), needs=_ORDER_ONCE),
    _spec("keyed_fold", "fold", F.AGGREGATE, "the accumulator per key", _FOLD, blocking=(0,), needs=_ORDER_ONCE),
    _spec("keyed_reduce", "reduce", F.AGGREGATE, "the values per key combined pairwise", _FOLD, blocking=(0,), needs=_ORDER_ONCE),
    _spec("keyed_count", "value_counts", F.AGGREGATE, "the number of values per key", blocking=(0,), needs=(N.EXACTLY_ONCE, N.BOUNDED)),
    _spec("keyed_first", "first", F.AGGREGATE, "the first value per key", blocking=(0,), needs=(N.TOTAL_ORDER,)),
    _spec("keyed_last", "last", F.AGGREGATE, "the last value per key", blocking=(0,), needs=(N.TOTAL_ORDER,)),
    # ---- scalar ---------------------------------------------------------------------------
    # map/filter on scalars: the Bounded form keeps a Bounded result; any other bound gives Unbounded
    _spec("singleton_map", "map", F.SCALAR, "f(value)", needs=(N.BOUNDED,)),
    _spec("singleton_filter", "filter", F.SCALAR, "the value if f(value), else nothing", needs=(N.BOUNDED,)),
    _spec("singleton_flat_map", ("flat_map_ordered", "flat_map_unordered", "flatten_ordered", "flatten_unordered"), F.SCALAR, "the items of f(value) as a stream", needs=(N.BOUNDED,)),
    _spec("zip", "zip", F.SCALAR, "both values as a pair"),
    _spec("unwrap_or", ("unwrap_or", "unwrap_or_value"), F.SCALAR, "the value, or the default when absent"),
    _spec("is_some", "is_some", F.SCALAR, "whether the Optional holds a value"),
    _spec("is_none", "is_none", F.SCALAR, "whether the Optional is empty"),
    _spec("ks_get", "get", F.SCALAR, "one key's value"),
    _spec("ks_map", "map", F.SCALAR, "f(v) for each key's value", needs=(N.BOUNDED,)),
    _spec("ks_filter", "filter", F.SCALAR, "the keys whose value passes f", needs=(N.BOUNDED,)),
    _spec("ks_entries", "entries", F.SCALAR, "(key, value) pairs as a stream"),
    _spec("ks_keys", "keys", F.SCALAR, "the keys as a stream"),
    _spec("ks_values", "values", F.SCALAR, "the values as a stream"),
    _spec(
        "snapshot",
        "snapshot",
        F.SCALAR,
        "the top-level value as this tick sees it",
        R.SNAPSHOT,
        needs=(N.TOP_LEVEL,),
        nondet="which version of the value this tick sees",
    ),
    _spec(
        "snapshot_atomic",
        "snapshot_atomic",
        F.SCALAR,
        "the atomic section's value, consistent with the tick",
        R.ATOMIC_SNAPSHOT,
        nondet="which version of the value this tick sees",
    ),
    _spec("latest", "latest", F.SCALAR, "the last value a tick computed, at the top level", needs=(N.TICK,)),
    _spec("into_stream", "into_stream", F.SCALAR, "the value as a one-element stream", needs=(N.BOUNDED,)),
    # ---- next tick ------------------------------------------------------------------------
    _spec("defer_tick", "defer_tick", F.NEXT_TICK, "this tick's data, in the next tick", R.NEXT_TICK, needs=(N.TICK,)),
    _spec("cycle", "cycle", F.NEXT_TICK, "what the cycle's complete() got last tick", R.NEXT_TICK),
    _spec(
        "cycle_with_initial",
        "cycle_with_initial",
        F.NEXT_TICK,
        "the initial value in the first tick, then last tick's",
        R.NEXT_TICK | R.CONST_SOURCE,
        needs=(N.BOUNDED,),
    ),
    # ---- sinks ----------------------------------------------------------------------------
    _spec("for_each", "for_each", F.SINK, "calls f on each element", needs=_ORDER_ONCE),
    _spec("sim_output", "sim_output", F.SINK, "elements a test reads"),
    _spec("send_external", "send_external", F.SINK, "elements sent to an External client", needs=_ORDER_ONCE),
    _spec("send_external_bidi", ("send_external_bidi", "complete"), F.SINK, "replies on a two-way External port", needs=_ORDER_ONCE),
    # --- cluster membership
    _spec(
        "cluster_membership",
        "source_cluster_members",
        F.SOURCE,
        "joined/left events of a cluster's members, as they join, leave and restart",
        R.INBOX,
    ),
    # --- keyed-stream algebra and small combinators (Hydro parity); the rest compose the ops above
    _spec("generator", "generator", F.GENERATOR, "what a state machine emits per element (per key for a keyed stream)", needs=_ORDER_ONCE),
    _spec("keyed_get", "get", F.COMBINE, "the values of the key a singleton holds", blocking=(1,), needs=(N.BOUNDED,)),
    _spec(
        "keyed_reduce_watermark",
        "reduce_watermark",
        F.AGGREGATE,
        "the values per key combined pairwise, keys below the watermark dropped",
        _FOLD,
        blocking=(0,),
        needs=_ORDER_ONCE,
    ),
    _spec("ks_map_with_key", "map_with_key", F.SCALAR, "f((k, v)) for each key's value"),
    _spec("ks_into_singleton", "into_singleton", F.SCALAR, "the whole map as one dict"),
    # --- sliced regions, stateful ticks, atomic and monotone reads
    _spec(
        "batch_atomic",
        "batch_atomic",
        F.ELEMENTWISE,
        "the elements that entered the atomic section in this tick",
        R.ATOMIC_SNAPSHOT,
        nondet="which inputs that arrived the atomic section has taken in by this tick",
    ),
    _spec("all_ticks_atomic", "all_ticks_atomic", F.ELEMENTWISE, "every tick's elements, in the tick's atomic section", needs=(N.TICK,)),
    _spec("latest_atomic", "latest_atomic", F.SCALAR, "the last value a tick computed, in the tick's atomic section", needs=(N.TICK,)),
    _spec(
        "clone_into_tick",
        "clone_into_tick",
        F.SCALAR,
        "a bounded top-level value, the same in every tick (one version, so no nondet)",
        needs=(N.BOUNDED, N.TOP_LEVEL),
    ),
    _spec("scalar_atomic", ("atomic", "end_atomic"), F.SCALAR, "the value, entering or leaving an atomic section"),
    _spec(
        "assert_consistency",
        "assert_has_consistency_of",
        F.SCALAR,
        "the value, claimed eventually consistent across the cluster's members",
        nondet="whether every member converges on the same value (the simulator checks it once an execution settles)",
    ),
    _spec(
        "threshold",
        ("threshold_greater_or_equal", "threshold_greater_or_equal_uniform"),
        F.STATEFUL,
        "each threshold once, when the monotone value first reaches it",
        blocking=(0, 1),
        needs=(N.MONOTONIC, N.BOUNDED),
    ),

    # --- async user functions --------------------------------------------------------------
    _spec(
        "resolve_futures",
        ("resolve_futures", "resolve_futures_ordered"),
        F.ASYNC,
        "the results of awaitables, as they complete (or in input order)",
        R.INBOX,
        needs=(N.TOP_LEVEL,),
    ),
    _spec("resolve_futures_blocking", "resolve_futures_blocking", F.ASYNC, "the results of awaitables, each batch awaited before the tick goes on"),
    _spec("source_stream", "source_stream", F.ASYNC, "the items of an async iterator", R.INBOX),
    _spec("dest_sink", "dest_sink", F.ASYNC, "awaits an async function on each element, in order", needs=_ORDER_ONCE),
    # --- timers (sample_every and sample_eager are built from source_interval, batch and snapshot)
    _spec("timeout", "timeout", F.TIMERS, "present once no element arrived for the duration, as the timer tells", needs=(N.TOP_LEVEL,)),
    _spec("spin", "spin", F.TIMERS, "None each time the location runs; deployed, it runs continuously", R.INBOX),
)

OP_SPECS: dict[str, OpSpec] = {s.name: s for s in _SPECS}
assert len(OP_SPECS) == len(_SPECS), "an op is declared twice"


class UnknownOpError(LookupError):
    """A node names an op this table does not declare: a bug in hydrologic, not in a program."""


def spec_of(op: str) -> OpSpec:
    try:
        return OP_SPECS[op]
    except KeyError:
        raise UnknownOpError(f"op {op!r} is not declared in hydrologic.ir.ops") from None


def ops_with(role: SimRole) -> frozenset[str]:
    """The ops whose simulator roles include ``role``."""
    return frozenset(s.name for s in _SPECS if role in s.sim)


def blocking_inputs(op: str) -> tuple[int, ...]:
    return spec_of(op).blocking


def check_node(op: str, has_nondet: bool) -> OpSpec:
    """Refuse a node the table does not describe: an undeclared op, or a decision it cannot make."""
    spec = spec_of(op)
    if has_nondet and spec.nondet is None:
        raise UnknownOpError(f"op {op!r} got a nondet token, but its spec says it makes no decision")
    return spec
