"""Operators on singletons, optionals and keyed singletons, read by reference (``.value``) because a
scalar is one current value, not a stream of deltas; plus the bridges from scalars to streams."""

from __future__ import annotations

from typing import Any, Callable, Collection

from ...ir.node import Node
from .base import ABSENT, MISSING, Op, RuntimeContext, op


class _ScalarFn(Op):
    """Recomputes from its inputs' values every run (once per tick).

    We used to skip the call when every input value was the *same object* as last time, but
    aggregations update their state in place (a keyed fold's dict; a fold whose ``f`` appends to
    its list and returns it), so identity said "unchanged" when the contents had changed and the
    result went stale. One call per tick per scalar node is cheap; a stale value is a wrong answer.
    """

    scalar = True
    recomputed = frozenset({"value"})

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


@op("snapshot", "snapshot_atomic", "clone_into_tick")
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


@op("latest", "latest_atomic")
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
    recomputed = frozenset({"value", "src"})  # every run sets both

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


_IS_IMMUTABLE: dict[type, bool] = {}
"""Per type, whether its instances are judged by value (a subclass of one of ``_IMMUTABLE``)."""


def _immutable_type(t: type) -> bool:
    known = _IS_IMMUTABLE.get(t)
    if known is None:
        known = _IS_IMMUTABLE[t] = issubclass(t, _IMMUTABLE)
    return known


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
            get, emitted_get, immutable = d.get, emitted.get, _IS_IMMUTABLE.get
            for k in keys:  # every key a keyed fold touched this tick: kept tight
                v = get(k, MISSING)
                if v is MISSING:
                    continue
                old = emitted_get(k, MISSING)
                if old is not MISSING:
                    t: type = type(v)  # pyright: ignore[reportUnknownVariableType]
                    imm = immutable(t)
                    if imm is None:
                        imm = _immutable_type(t)
                    if imm and (old is v or old == v):
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


# --- keyed-stream algebra and small combinators (Hydro parity)


@op("ks_map_with_key")
class KsMapWithKey(_KeyedScalarFn):
    user_fn = True

    def run(self, ins: list[Any]) -> None:
        self.src = ins[0]
        f = self.node.params["f"]
        self.value = {k: f((k, v)) for k, v in ins[0].value.items()}


@op("ks_into_singleton")
class KsIntoSingleton(_ScalarFn):
    """The map as one dict (a copy, so a reader never sees it change under it)."""

    def compute(self, vals: tuple[Any, ...]) -> Any:
        return dict(vals[0])


# --- sliced regions, stateful ticks, atomic and monotone reads


@op("scalar_atomic", "assert_consistency")
class ScalarAtomic(Op):
    """A singleton or keyed singleton entering (``atomic``) or leaving (``end_atomic``) an atomic
    section: the same value, read by reference; what changes is which tick may observe it. Also
    ``assert_has_consistency_of``: the same value, whose claim the simulator checks."""

    scalar = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.src: Op | None = None

    def run(self, ins: list[Any]) -> None:
        self.src = ins[0]
        self.value = ins[0].value

    def touched_since(self, cursor: int) -> tuple[Collection[Any] | None, int]:
        return self.src.touched_since(cursor) if self.src is not None else (None, cursor)
