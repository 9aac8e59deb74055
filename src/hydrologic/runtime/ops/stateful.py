"""Streaming operators that remember what they saw, scoped as everywhere: at the top level the state
lasts forever, inside a tick it resets in ``end_tick``."""

from __future__ import annotations

from typing import Any, Callable

from ...ir.node import Node
from ...storage.base import IncrementalState
from ...types.errors import MonotoneClaimError
from .base import ABSENT, RuntimeContext, Stateful, op


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


# --- sliced regions, stateful ticks, atomic and monotone reads


@op("threshold")
class Threshold(Stateful):
    """Emits each threshold once, when the monotone value (input 0, read by reference) first
    reaches it; input 1 holds the threshold (one value, or one per key).

    Deterministic without a nondet because the value only grows: whichever tick looks first
    after the value reached the threshold emits it, and no later tick can un-reach it. The
    ``monotone`` claim is tested as it runs: a value seen going down raises HL611 (a fold whose
    ``monotone=proof(...)`` was false), since the answer would then depend on when it was read.
    """

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.keyed: bool = node.params["keyed"]
        self.uniform: bool = node.params.get("uniform", True)
        self.reset()

    def reset(self) -> None:
        self.fired: set[Any] = set()  # keys that fired (None for a plain singleton)
        self.last: dict[Any, Any] = {}  # the last value seen per key, for the monotone check
        self.cursor = 0  # keyed input: where its touched keys were last read

    def end_tick(self) -> None:
        super().end_tick()
        self.cursor = 0  # a keyed aggregate's log of touched keys starts afresh every tick

    def _check(self, key: Any, v: Any) -> None:
        before = self.last.get(key, ABSENT)
        if before is not ABSENT and v < before:
            n = self.node
            src = n.inputs[0]
            raise MonotoneClaimError(
                f"HL611: `{n.method}` (built at {n.site}) read a value that went down, from {before!r} to "
                f"{v!r}{'' if key is None else f' at key {key!r}'}; it was built by {src.describe()}, which is "
                "typed Monotonic. If it is a fold(..., monotone=proof(...)), the claim is false: make the "
                "function never shrink the accumulator, or drop the claim and compare a snapshot in a tick."
            )
        self.last[key] = v

    def run(self, ins: list[Any]) -> list[Any]:
        value: Any = ins[0].value
        limit: Any = ins[1].value
        if value is ABSENT or limit is ABSENT:
            return []
        if not self.keyed:
            if None in self.fired:
                return []
            self._check(None, value)
            if value >= limit:
                self.fired.add(None)
                return [limit]
            return []
        out: list[Any] = []
        values: dict[Any, Any] = value
        keys: Any = values.keys()
        if not self.in_tick:  # at the top level, only the keys whose value changed since the last run
            touched, self.cursor = ins[0].touched_since(self.cursor)
            if touched is not None:
                keys = touched
        for k in keys:
            if k in self.fired or k not in values:
                continue
            v = values[k]
            t = limit if self.uniform else limit.get(k, ABSENT)
            self._check(k, v)
            if t is not ABSENT and v >= t:
                self.fired.add(k)
                out.append((k, t))
        return out
