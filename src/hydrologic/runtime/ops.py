"""Batch operators: one class per IR op, each processing a whole delta list per call.

The runtime hands an operator the elements that arrived on each stream input since its last run
(a Python list) and the producer of each scalar input (to read ``.value``). Operators use the
builtins (``map``, ``filter``, ``functools.reduce``, comprehensions) on whole batches, so the
per-element cost is that of a hand-written loop; the per-tick overhead is one method call per
node. State scoping follows SPEC §7: an operator at the top level keeps its state forever, one
inside a tick resets in ``end_tick``.
"""

from __future__ import annotations

import functools
import itertools
import operator
from typing import Any, Callable, Collection, Iterable, TypeVar

from ..ir.node import Node
from ..lang.location import MemberId

__all__ = ["ABSENT", "Op", "OP_CLASSES", "RuntimeContext"]


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


class RuntimeContext:
    """What an operator may ask of the location running it."""

    def __init__(self, member: int | None, cluster_sizes: dict[int, int]) -> None:
        self.member = member
        self.cluster_sizes = cluster_sizes


class Op:
    """Base operator. ``scalar`` ops expose ``value``; stream ops return a delta list from ``run``."""

    scalar = False
    user_fn = False
    # Consumers read this operator's state directly instead of receiving delta lists.
    by_reference = False
    # Element-wise and stateless: ``pipe`` can stand in for ``run``, so the scheduler may fuse
    # a chain of such operators into their consumer and skip the intermediate lists.
    fusable = False
    # Inputs that ``run`` accepts as any iterable (e.g. a lazy fused pipeline), not only a list.
    lazy_inputs: tuple[int, ...] = ()

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        self.node = node
        self.ctx = ctx
        self.in_tick = node.in_tick
        self.value: Any = ABSENT
        self.first = True  # no tick has completed yet

    def run(self, ins: list[Any]) -> Any:
        raise NotImplementedError

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        """``run`` for one stream input, as a lazy iterator (only for ``fusable`` operators)."""
        raise NotImplementedError

    def end_tick(self) -> None:
        self.first = False

    # Keyed scalars: the keys touched since ``cursor`` (a position this op hands out), in the
    # order they were first touched, so flattening is the same on every run (no hash-seed
    # order), and the new cursor. ``None`` means "unknown: treat every key as touched".
    def touched_since(self, cursor: int) -> tuple[Collection[Any] | None, int]:
        return None, cursor


OP_CLASSES: dict[str, type[Op]] = {}


_OpClass = TypeVar("_OpClass", bound="type[Op]")


def op(*names: str) -> Callable[[_OpClass], _OpClass]:
    def deco(cls: _OpClass) -> _OpClass:
        for n in names:
            OP_CLASSES[n] = cls
        return cls

    return deco


# ---- sources --------------------------------------------------------------------------------


@op("source_iter")
class SourceIter(Op):
    """Emits its items once at the top level (Bounded), or every tick inside a tick."""

    def run(self, ins: list[Any]) -> list[Any]:
        if self.in_tick or self.first:
            return self.node.params["items"]
        return []


@op("sim_input", "source_external", "source_interval", "network", "source_external_bidi", "external_membership")
class Inbox(Op):
    """Elements delivered from outside the location's graph (tests, clients, timers, peers)."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.pending: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        out, self.pending = self.pending, []
        return out


@op("singleton")
class ConstSingleton(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.value = node.params["value"]

    def run(self, ins: list[Any]) -> None:
        return None


@op("optional_first_tick")
class OptionalFirstTick(Op):
    scalar = True

    def run(self, ins: list[Any]) -> None:
        self.value = self.node.params["value"] if self.first else ABSENT


@op("none")
class NoneOptional(Op):
    scalar = True

    def run(self, ins: list[Any]) -> None:
        return None


@op("self_id")
class SelfId(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.value = MemberId(ctx.member if ctx.member is not None else 0)

    def run(self, ins: list[Any]) -> None:
        return None


@op("cluster_members")
class ClusterMembers(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        n = ctx.cluster_sizes.get(node.params["cluster"].id, 0)
        members: list[MemberId[Any]] = [MemberId(i) for i in range(n)]
        self.value = tuple(members)

    def run(self, ins: list[Any]) -> None:
        return None


# ---- element-wise ---------------------------------------------------------------------------


class _Fn(Op):
    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.f: Callable[..., Any] = node.params["f"]


_not_none: Callable[[Any], bool] = functools.partial(operator.is_not, None)
_second: Callable[[Any], Any] = operator.itemgetter(1)


@op("map")
class Map(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        return list(map(self.f, ins[0]))

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return map(self.f, xs)


@op("filter")
class Filter(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        return list(filter(self.f, ins[0]))

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return filter(self.f, xs)


@op("filter_map")
class FilterMap(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        return [y for y in map(self.f, ins[0]) if y is not None]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return filter(_not_none, map(self.f, xs))


@op("inspect")
class Inspect(_Fn):
    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        for x in ins[0]:
            f(x)
        return ins[0]


@op("flat_map")
class FlatMap(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        return [y for x in ins[0] for y in f(x)]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return itertools.chain.from_iterable(map(self.f, xs))


@op("partition")
class Partition(_Fn):
    """Evaluates the predicate once per element; its two sides read ``halves`` after each run."""

    by_reference = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.halves: tuple[list[Any], list[Any]] = ([], [])

    def run(self, ins: list[Any]) -> None:
        f = self.f
        yes: list[Any] = []
        no: list[Any] = []
        for x in ins[0]:
            (yes if f(x) else no).append(x)
        self.halves = (yes, no)


@op("partition_side")
class PartitionSide(Op):
    def run(self, ins: list[Any]) -> list[Any]:
        return ins[0].halves[self.node.params["side"]]


@op("cast", "assume_ordering", "assume_retries", "all_ticks", "forward_ref", "atomic", "end_atomic")
class PassThrough(Op):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        return ins[0] if ins else []

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return xs


@op("batch")
class Batch(Op):
    """Releases what arrived since the last tick. ``release`` is the simulator's choice point."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.pending: list[Any] = []
        self.release: Callable[[Batch, list[Any]], list[Any]] | None = None

    def run(self, ins: list[Any]) -> list[Any]:
        if self.release is None:
            if self.pending:
                out = self.pending + ins[0]
                self.pending = []
                return out
            return ins[0]
        self.pending.extend(ins[0])
        return self.release(self, self.pending)


@op("values")
class Values(Op):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        return [v for _, v in ins[0]]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        return map(_second, xs)


@op("keyed_map")
class KeyedMap(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        return [(k, f(v)) for k, v in ins[0]]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        f = self.f
        return ((k, f(v)) for k, v in xs)


@op("keyed_map_with_key")
class KeyedMapWithKey(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        return [(kv[0], f(kv)) for kv in ins[0]]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        f = self.f
        return ((kv[0], f(kv)) for kv in xs)


@op("keyed_filter")
class KeyedFilter(_Fn):
    fusable = True

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        return [kv for kv in ins[0] if f(kv[1])]

    def pipe(self, xs: Iterable[Any]) -> Iterable[Any]:
        f = self.f
        return (kv for kv in xs if f(kv[1]))


# ---- stateful streaming (state persists at the top level, resets in a tick) ----------------


class _Stateful(Op):
    def reset(self) -> None:
        raise NotImplementedError

    def end_tick(self) -> None:
        super().end_tick()
        if self.in_tick:
            self.reset()


@op("enumerate")
class Enumerate(_Stateful):
    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.reset()

    def reset(self) -> None:
        self.i = 0

    def run(self, ins: list[Any]) -> list[Any]:
        xs: list[Any] = ins[0]
        out: list[Any] = list(enumerate(xs, self.i))
        self.i += len(xs)
        return out


@op("scan")
class Scan(_Stateful):
    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.f: Callable[[Any, Any], Any] = node.params["f"]
        self.init: Callable[[], Any] = node.params["init"]
        self.acc: Any = ABSENT

    def reset(self) -> None:
        self.acc = ABSENT

    def run(self, ins: list[Any]) -> list[Any]:
        xs = ins[0]
        if not xs:
            return []
        acc = self.init() if self.acc is ABSENT else self.acc
        f = self.f
        out: list[Any] = []
        append = out.append
        for x in xs:
            acc = f(acc, x)
            append(acc)
        self.acc = acc
        return out


@op("unique")
class Unique(_Stateful):
    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.seen: set[Any] = set()

    def reset(self) -> None:
        self.seen = set()

    def run(self, ins: list[Any]) -> list[Any]:
        seen = self.seen
        out: list[Any] = []
        for x in ins[0]:
            if x not in seen:
                seen.add(x)
                out.append(x)
        return out


@op("join")
class Join(_Stateful):
    """Symmetric hash join over deltas: each new element meets everything seen on the other side."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.reset()

    def reset(self) -> None:
        self.left: dict[Any, list[Any]] = {}
        self.right: dict[Any, list[Any]] = {}

    def run(self, ins: list[Any]) -> list[Any]:
        dl, dr = ins[0], ins[1]
        out: list[Any] = []
        left, right = self.left, self.right
        for k, v in dl:
            left.setdefault(k, []).append(v)
            for w in right.get(k, ()):
                out.append((k, (v, w)))
        for k, w in dr:
            right.setdefault(k, []).append(w)
            for v in left.get(k, ()):
                out.append((k, (v, w)))
        return out


@op("cross_product")
class CrossProduct(_Stateful):
    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.reset()

    def reset(self) -> None:
        self.left: list[Any] = []
        self.right: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        dl, dr = ins[0], ins[1]
        out = [(x, y) for x in dl for y in self.right]
        self.left.extend(dl)
        self.right.extend(dr)
        out.extend((x, y) for x in self.left for y in dr)
        return out


@op("anti_join", "filter_not_in")
class AntiJoin(_Stateful):
    """Filters the left side by a bounded right side (complete before this runs; see strata)."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.by_key = node.op == "anti_join"
        self.neg: set[Any] = set()

    def reset(self) -> None:
        self.neg = set()

    def run(self, ins: list[Any]) -> list[Any]:
        neg = self.neg
        neg.update(ins[1])
        if self.by_key:
            return [kv for kv in ins[0] if kv[0] not in neg]
        return [x for x in ins[0] if x not in neg]


@op("chain")
class Chain(Op):
    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("merge")
class Merge(Op):
    """Arrival-order interleave; batches from both sides this tick, left first (merge_ordered's
    interleaving choice point lives in the simulator)."""

    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("sort")
class Sort(Op):
    user_fn = True

    def run(self, ins: list[Any]) -> list[Any]:
        return sorted(ins[0], key=self.node.params["key"])


@op("cross_singleton")
class CrossSingleton(Op):
    def run(self, ins: list[Any]) -> list[Any]:
        v = ins[1].value
        if v is ABSENT:
            return []
        return [(x, v) for x in ins[0]]


@op("ks_join_keyed_stream")
class KsJoinKeyedStream(Op):
    def run(self, ins: list[Any]) -> list[Any]:
        d: dict[Any, Any] = ins[1].value
        return [(k, (x, d[k])) for k, x in ins[0] if k in d]


# ---- aggregations to scalars ------------------------------------------------------------------


class _Agg(_Stateful):
    """A stream aggregation. At the top level ``value`` grows with each delta; in a tick it is
    recomputed from the (complete) batch each tick."""

    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.reset()

    def reset(self) -> None:
        self.value = self.empty()

    def empty(self) -> Any:
        return ABSENT

    def run(self, ins: list[Any]) -> None:
        xs = ins[0]
        if xs:
            self.value = self.step(self.value, xs)

    def step(self, acc: Any, xs: list[Any]) -> Any:
        raise NotImplementedError


@op("fold")
class Fold(_Agg):
    user_fn = True
    lazy_inputs = (0,)  # functools.reduce takes any iterable; an empty one leaves acc as is

    def empty(self) -> Any:
        return self.node.params["init"]()

    def step(self, acc: Any, xs: list[Any]) -> Any:
        return functools.reduce(self.node.params["f"], xs, acc)


@op("reduce")
class Reduce(_Agg):
    user_fn = True
    lazy_inputs = (0,)

    def step(self, acc: Any, xs: Iterable[Any]) -> Any:
        f = self.node.params["f"]
        if acc is ABSENT:
            it = iter(xs)
            head = next(it, ABSENT)  # a lazy input may turn out to be empty
            return ABSENT if head is ABSENT else functools.reduce(f, it, head)
        return functools.reduce(f, xs, acc)


@op("count")
class Count(_Agg):
    def empty(self) -> Any:
        return 0

    def step(self, acc: Any, xs: list[Any]) -> Any:
        return acc + len(xs)


@op("first")
class First(_Agg):
    def step(self, acc: Any, xs: list[Any]) -> Any:
        return xs[0] if acc is ABSENT else acc


@op("last")
class Last(_Agg):
    def step(self, acc: Any, xs: list[Any]) -> Any:
        return xs[-1]


@op("max", "min")
class MaxMin(_Agg):
    user_fn = True

    def step(self, acc: Any, xs: list[Any]) -> Any:
        pick = max if self.node.op == "max" else min
        key = self.node.params["key"]
        best = pick(xs, key=key) if key else pick(xs)
        if acc is ABSENT:
            return best
        return pick(acc, best, key=key) if key else pick(acc, best)


@op("collect_list")
class CollectList(_Agg):
    def empty(self) -> Any:
        return []

    def step(self, acc: Any, xs: list[Any]) -> Any:
        return acc + xs  # a new list, so earlier snapshots never change under a reader


class _KeyedAgg(_Agg):
    """Per-key aggregation into a dict; remembers the batches this tick's runs consumed.

    A top-level keyed aggregation inside a same-tick cycle runs several times per tick, and a
    reader of its changes (``entries()``) may run after each pass or only once after the last;
    each reader keeps a cursor into ``batches`` so it sees every touched key exactly once.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        self.batches: list[list[Any]] = []
        super().__init__(node, ctx)

    def empty(self) -> Any:
        return {}

    def run(self, ins: list[Any]) -> None:
        xs = ins[0]
        if xs:
            self.batches.append(xs)  # no copy: the batch list is never mutated downstream
            self.step(self.value, xs)

    def touched_since(self, cursor: int) -> tuple[Collection[Any] | None, int]:
        new = self.batches[cursor:]
        if len(new) == 1:
            return dict.fromkeys([kv[0] for kv in new[0]]).keys(), len(self.batches)
        return dict.fromkeys([kv[0] for b in new for kv in b]).keys(), len(self.batches)

    def end_tick(self) -> None:
        super().end_tick()
        self.batches = []


_MISSING: Any = object()


@op("keyed_fold")
class KeyedFold(_KeyedAgg):
    user_fn = True

    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        f = self.node.params["f"]
        init = self.node.params["init"]
        get = d.get
        for k, v in xs:
            cur = get(k, _MISSING)
            d[k] = f(init() if cur is _MISSING else cur, v)


@op("keyed_reduce")
class KeyedReduce(_KeyedAgg):
    user_fn = True

    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        f = self.node.params["f"]
        get = d.get
        for k, v in xs:
            cur = get(k, _MISSING)
            d[k] = v if cur is _MISSING else f(cur, v)


@op("keyed_count")
class KeyedCount(_KeyedAgg):
    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, int] = acc
        get = d.get
        for k, _ in xs:
            d[k] = get(k, 0) + 1


@op("keyed_first")
class KeyedFirst(_KeyedAgg):
    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        for k, v in xs:
            if k not in d:
                d[k] = v


@op("keyed_last")
class KeyedLast(_KeyedAgg):
    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        for k, v in xs:
            d[k] = v


# ---- scalar transformations -------------------------------------------------------------------


class _ScalarFn(Op):
    """Recomputes from its inputs' values every run (once per tick).

    We used to skip the call when every input value was the *same object* as last time, but
    aggregations update their state in place (a keyed fold's dict; a fold whose ``f`` appends to
    its list and returns it), so identity said "unchanged" when the contents had changed and the
    result went stale. One call per tick per scalar node is cheap; a stale value is a wrong answer.
    """

    scalar = True

    def run(self, ins: list[Any]) -> None:
        self.value = self.compute(tuple(p.value for p in ins))

    def compute(self, vals: tuple[Any, ...]) -> Any:
        raise NotImplementedError


@op("singleton_map")
class SingletonMap(_ScalarFn):
    user_fn = True

    def compute(self, vals: tuple[Any, ...]) -> Any:
        return ABSENT if vals[0] is ABSENT else self.node.params["f"](vals[0])


@op("singleton_filter")
class SingletonFilter(_ScalarFn):
    user_fn = True

    def compute(self, vals: tuple[Any, ...]) -> Any:
        v = vals[0]
        return v if v is not ABSENT and self.node.params["f"](v) else ABSENT


@op("zip")
class Zip(_ScalarFn):
    def compute(self, vals: tuple[Any, ...]) -> Any:
        return ABSENT if ABSENT in vals else (vals[0], vals[1])


@op("unwrap_or")
class UnwrapOr(_ScalarFn):
    def compute(self, vals: tuple[Any, ...]) -> Any:
        if vals[0] is not ABSENT:
            return vals[0]
        return vals[1] if len(vals) > 1 else self.node.params["default"]


@op("is_some")
class IsSome(_ScalarFn):
    def compute(self, vals: tuple[Any, ...]) -> Any:
        return vals[0] is not ABSENT


@op("is_none")
class IsNone(_ScalarFn):
    def compute(self, vals: tuple[Any, ...]) -> Any:
        return vals[0] is ABSENT


@op("ks_get")
class KsGet(_ScalarFn):
    def compute(self, vals: tuple[Any, ...]) -> Any:
        d: dict[Any, Any] = vals[0]
        return d.get(self.node.params["key"], ABSENT)


@op("snapshot", "snapshot_atomic")
class Snapshot(Op):
    """The current version of a top-level scalar, frozen for this tick (the simulator may pick an
    older version; ``choose`` is its hook)."""

    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.choose: Callable[[Snapshot, Any], Any] | None = None

    def run(self, ins: list[Any]) -> None:
        v: Any = ins[0].value
        if isinstance(v, dict):
            v = dict(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
        self.value = v if self.choose is None else self.choose(self, v)


@op("latest")
class Latest(Op):
    """Top-level value replaced by each tick's value; keeps the last one between ticks."""

    scalar = True

    def run(self, ins: list[Any]) -> None:
        v = ins[0].value
        if v is not ABSENT or ins[0].node.kind == "optional":
            self.value = v


@op("into_stream")
class IntoStream(Op):
    def run(self, ins: list[Any]) -> list[Any]:
        if not (self.in_tick or self.first):
            return []
        v = ins[0].value
        return [] if v is ABSENT else [v]


@op("singleton_flat_map")
class SingletonFlatMap(Op):
    user_fn = True

    def run(self, ins: list[Any]) -> list[Any]:
        if not (self.in_tick or self.first):
            return []
        v = ins[0].value
        return [] if v is ABSENT else list(self.node.params["f"](v))


class _KeyedScalarFn(Op):
    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.src: Op | None = None

    def touched_since(self, cursor: int) -> tuple[Collection[Any] | None, int]:
        return self.src.touched_since(cursor) if self.src is not None else (None, cursor)


@op("ks_map")
class KsMap(_KeyedScalarFn):
    user_fn = True

    def run(self, ins: list[Any]) -> None:
        self.src = ins[0]
        f = self.node.params["f"]
        self.value = {k: f(v) for k, v in ins[0].value.items()}


@op("ks_filter")
class KsFilter(_KeyedScalarFn):
    user_fn = True

    def run(self, ins: list[Any]) -> None:
        self.src = ins[0]
        f = self.node.params["f"]
        self.value = {k: v for k, v in ins[0].value.items() if f(v)}


_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), tuple, frozenset)


def _same_immutable(old: Any, new: Any) -> bool:
    return isinstance(new, _IMMUTABLE) and (old is new or old == new)


@op("ks_entries", "ks_keys", "ks_values")
class KsFlatten(Op):
    """In a tick: every entry. At the top level: each entry whose value changed since this
    operator last emitted it.

    "Changed" is judged by value for immutable values (a ``max`` that kept its maximum, or a
    ``reduce(min)`` in a shortest-path cycle that found no shorter path, emits nothing, which
    is what lets such a cycle reach its fixpoint) and by having been touched for anything
    else (a list updated in place is the same object but has new contents).
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.cursor = 0
        self.emitted: dict[Any, Any] = {}

    def run(self, ins: list[Any]) -> list[Any]:
        src: Op = ins[0]
        d: dict[Any, Any] = src.value
        items: list[tuple[Any, Any]]
        if self.in_tick:
            items = list(d.items())
        else:
            touched, self.cursor = src.touched_since(self.cursor)
            keys = d.keys() if touched is None else touched
            emitted = self.emitted
            items = []
            for k in keys:
                if k not in d:
                    continue
                v = d[k]
                old = emitted.get(k, _MISSING)
                if old is not _MISSING and _same_immutable(old, v):
                    continue
                emitted[k] = v
                items.append((k, v))
        if self.node.op == "ks_keys":
            return [k for k, _ in items]
        if self.node.op == "ks_values":
            return [v for _, v in items]
        return items

    def end_tick(self) -> None:
        super().end_tick()
        self.cursor = 0


# ---- next-tick operators ----------------------------------------------------------------------


@op("defer_tick", "cycle", "cycle_with_initial")
class Deferred(Op):
    """Emits what its deferred input produced in the previous tick.

    The runtime feeds the deferred input through ``capture`` after the tick's other nodes ran.
    ``cycle`` reports work only when its contents changed since last tick (a fixpoint test), so
    a stable cycle does not keep an idle location ticking; ``defer_tick`` reports any data.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.scalar = node.kind in ("singleton", "optional", "keyed_singleton")
        self.next: Any = ABSENT if self.scalar else []
        self.emitted: Any = ABSENT if self.scalar else []

    def run(self, ins: list[Any]) -> Any:
        if self.node.op == "cycle_with_initial" and self.first:
            if self.scalar:
                self.value = ins[0].value
                return None
            # The initial contents count as what the cycle emitted: if the next tick would
            # carry the same, the cycle has not changed and is no reason to tick again.
            self.emitted = ins[0]
            return ins[0]
        if self.scalar:
            self.value = self.next
            return None
        out, self.emitted = self.next, self.next
        self.next = []
        return out

    def capture(self, data: Any) -> None:
        if self.scalar:
            self.next = data.value
        else:
            self.next = list(data)

    def has_work(self) -> bool:
        if self.scalar:
            return False
        if self.node.op == "defer_tick":
            return bool(self.next)
        return bool(self.next) and _multiset_key(self.next) != _multiset_key(self.emitted)


def _multiset_key(xs: list[Any]) -> Any:
    try:
        return sorted(map(repr, xs))
    except Exception:  # pragma: no cover - repr failing is the user's bug, not a reason to spin
        return id(xs)


# ---- sinks --------------------------------------------------------------------------------------


@op("for_each")
class ForEach(_Fn):
    lazy_inputs = (0,)

    def run(self, ins: list[Any]) -> list[Any]:
        f = self.f
        for x in ins[0]:
            f(x)
        return []


@op("sim_output", "send_external", "send_external_bidi")
class OutputSink(Op):
    """Collects what reaches an output; the driver drains ``buffer``."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.buffer: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        if ins[0]:
            self.buffer.extend(ins[0])
        return []
