"""Aggregations of a stream into a scalar (or a keyed scalar), scoped like any stateful operator:
growing forever at the top level, recomputed from the complete batch in a tick."""

from __future__ import annotations

import functools
from itertools import chain
from operator import itemgetter
from typing import Any, Collection, Iterable

from ...ir.node import Node
from ...storage import DELETE
from .base import ABSENT, MISSING, RuntimeContext, Stateful, op



class _Agg(Stateful):
    """A stream aggregation. At the top level ``value`` grows with each delta; in a tick it is
    recomputed from the (complete) batch each tick."""

    scalar = True
    idle_noop = True  # every ``run`` steps only when its input has elements

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


_first = itemgetter(0)  # the key of a (key, value) pair


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
            return dict.fromkeys(map(_first, new[0])).keys(), len(self.batches)
        return dict.fromkeys(map(_first, chain.from_iterable(new))).keys(), len(self.batches)

    def end_tick(self) -> None:
        super().end_tick()
        self.batches = []


@op("keyed_fold")
class KeyedFold(_KeyedAgg):
    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.durable = node.params.get("durable")

    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        f = self.node.params["f"]
        init = self.node.params["init"]
        get = d.get
        if self.durable is None:
            for k, v in xs:
                cur = get(k, MISSING)
                d[k] = f(init() if cur is MISSING else cur, v)
            return
        for k, v in xs:  # durable: an accumulator of None deletes the key
            cur = get(k, MISSING)
            new = f(init() if cur is MISSING else cur, v)
            if new is None:
                d.pop(k, None)
            else:
                d[k] = new

    def restore(self, records: dict[Any, Any]) -> None:
        self.value = dict(records)

    def durable_changes(self) -> list[tuple[str, Any, Any]]:
        """Each key a batch of this tick touched, with its value or ``DELETE`` if it is gone."""
        name = self.durable
        if name is None or not self.batches:
            return []
        d: dict[Any, Any] = self.value
        keys = dict.fromkeys([kv[0] for b in self.batches for kv in b])
        return [(name, k, d[k] if k in d else DELETE) for k in keys]


@op("keyed_reduce")
class KeyedReduce(_KeyedAgg):
    user_fn = True

    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        f = self.node.params["f"]
        get = d.get
        for k, v in xs:
            cur = get(k, MISSING)
            d[k] = v if cur is MISSING else f(cur, v)


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


# --- keyed-stream algebra and small combinators (Hydro parity)


@op("keyed_reduce_watermark")
class KeyedReduceWatermark(_KeyedAgg):
    """``keyed_reduce`` that forgets every key below the watermark (a singleton or optional read
    by reference): such keys are deleted from the state, and new values for them are ignored.

    The watermark can advance without new input, so the operator runs every time (no idle skip).
    """

    user_fn = True
    idle_noop = False

    def run(self, ins: list[Any]) -> None:
        mark = ins[1].value
        d: dict[Any, Any] = self.value
        xs: list[Any] = ins[0]
        if mark is not ABSENT:
            for k in [k for k in d if k < mark]:
                del d[k]
            xs = [kv for kv in xs if not kv[0] < mark]
        if xs:
            self.batches.append(xs)
            self.step(d, xs)

    def step(self, acc: Any, xs: list[Any]) -> Any:
        d: dict[Any, Any] = acc
        f = self.node.params["f"]
        get = d.get
        for k, v in xs:
            cur = get(k, MISSING)
            d[k] = v if cur is MISSING else f(cur, v)
