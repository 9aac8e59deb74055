"""Stateless operators over two inputs: concatenate, interleave, sort a bounded batch, or look a
stream up in a singleton. Nothing survives the call, so they need no ``reset``."""

from __future__ import annotations

from typing import Any

from .base import ABSENT, Op, op


@op("chain")
class Chain(Op):
    idle_noop = True

    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("merge")
class Merge(Op):
    """Arrival-order interleave; batches from both sides this tick, left first (merge_ordered's
    interleaving choice point lives in the simulator)."""

    idle_noop = True

    def run(self, ins: list[Any]) -> list[Any]:
        a, b = ins[0], ins[1]
        return a + b if a and b else (a or b)


@op("sort")
class Sort(Op):
    stateless = True
    idle_noop = True
    user_fn = True

    def run(self, ins: list[Any]) -> list[Any]:
        return sorted(ins[0], key=self.node.params["key"])


@op("cross_singleton")
class CrossSingleton(Op):
    stateless = True
    def run(self, ins: list[Any]) -> list[Any]:
        v = ins[1].value
        if v is ABSENT:
            return []
        return [(x, v) for x in ins[0]]


@op("ks_join_keyed_stream")
class KsJoinKeyedStream(Op):
    stateless = True
    def run(self, ins: list[Any]) -> list[Any]:
        d: dict[Any, Any] = ins[1].value
        return [(k, (x, d[k])) for k, x in ins[0] if k in d]


@op("keyed_get")
class KeyedGet(Op):
    """The values whose key equals the (bounded) key singleton's value; none while it is absent."""

    stateless = True
    def run(self, ins: list[Any]) -> list[Any]:
        want = ins[1].value
        if want is ABSENT:
            return []
        return [v for k, v in ins[0] if k == want]
