"""Streaming operators that remember what they saw, scoped as everywhere: at the top level the state
lasts forever, inside a tick it resets in ``end_tick``."""

from __future__ import annotations

from typing import Any, Callable

from ...ir.node import Node
from ...storage.base import IncrementalState
from .base import ABSENT, Op, RuntimeContext, Stateful, op


@op("enumerate")
class Enumerate(Stateful):
    idle_noop = True

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
class Scan(Stateful):
    idle_noop = True
    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.f: Callable[[Any, Any], Any] = node.params["f"]
        self.init: Callable[[], Any] = node.params["init"]
        self.acc: Any = ABSENT
        self.durable = node.params.get("durable")
        self.dirty = False

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
        self.dirty = True
        return out

    def restore(self, records: dict[Any, Any]) -> None:
        if None in records:
            self.acc = records[None]
        elif records:  # an IncrementalState's records: rebuild it from a fresh init()
            acc = self.init()
            if isinstance(acc, IncrementalState):
                acc.restore_records(records)
                self.acc = acc

    def durable_changes(self) -> list[tuple[str, Any, Any]]:
        # The whole accumulator, once per tick that stepped it (it may be updated in place, so
        # "changed" is "stepped", not "unequal"); or, for an IncrementalState, the records it
        # says changed.
        if not self.dirty or self.durable is None:
            return []
        self.dirty = False
        acc = self.acc
        if isinstance(acc, IncrementalState):
            name = self.durable
            return [(name, k, v) for k, v in acc.durable_records()]
        return [(self.durable, None, acc)]


@op("unique")
class Unique(Stateful):
    idle_noop = True

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
class Join(Stateful):
    """Symmetric hash join over deltas: each new element meets everything seen on the other side."""
    idle_noop = True

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
class CrossProduct(Stateful):
    idle_noop = True

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
class AntiJoin(Stateful):
    """Filters the left side by a bounded right side (complete before this runs; see strata)."""
    idle_noop = True

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
    idle_noop = True

    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("merge")
class Merge(Op):
    idle_noop = True
    """Arrival-order interleave; batches from both sides this tick, left first (merge_ordered's
    interleaving choice point lives in the simulator)."""

    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("sort")
class Sort(Op):
    idle_noop = True
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


# --- keyed-stream algebra and small combinators (Hydro parity)

@op("keyed_get")
class KeyedGet(Op):
    """The values whose key equals the (bounded) key singleton's value; none while it is absent."""

    def run(self, ins: list[Any]) -> list[Any]:
        want = ins[1].value
        if want is ABSENT:
            return []
        return [v for k, v in ins[0] if k == want]
