"""Algebraic claims tested with Hypothesis: ``commutative=proof(...)`` and ``idempotent=proof(...)``.

A ``fold``/``reduce`` (keyed or not) that claims to be commutative or idempotent is trusted by the
type system: a commutative fold accepts an unordered input, an idempotent one an at-least-once
input. The simulator tests the claim before it explores:

1. during that execution (or one run for it by ``Sim.check_claims``) a recorder on each
   claimed aggregation, collecting the elements the scenario feeds it (up to 32 per operator and
   location instance; elements of different cluster members are never mixed);
2. Hypothesis draws sub-lists of those elements and, for ``commutative``, a permutation of each
   (the aggregation must give the same result), for ``idempotent``, some elements repeated right
   after themselves (the same result as once);
3. a difference is shrunk by Hypothesis to the smallest input that shows it and raised as
   ``FalseClaimError`` (HL610), naming the operator, the claim and both inputs with their results.

Claims whose operator saw fewer elements than the check needs (two for commutativity, one for
idempotence) in that execution are left to the per-step check the search does anyway (each step
of a claimed aggregation is also run on its input reversed, or with each element twice).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..ir.graph import Graph
from ..ir.node import Node
from ..runtime.ops.base import MISSING
from ._choices import Chooser
from ._errors import FalseClaimError
from ._instance import SimInstance
from ._network import Network
from ._plan import CLAIMED_FOLDS, Plan
from ._trace import show_value, show_values

__all__ = ["claimed_nodes", "recording", "check_claims"]

PER_NODE = 32
PROPS = ("commutative", "idempotent")


def claimed_nodes(graph: Graph) -> list[Node]:
    """The aggregations with a ``commutative=`` or ``idempotent=`` claim."""
    return [n for n in graph.nodes if n.op in CLAIMED_FOLDS and any(p in n.proofs for p in PROPS)]


def recording(nodes: list[Node], samples: dict[tuple[int, int], list[Any]]) -> Callable[[Plan, Chooser], SimInstance]:
    """A ``SimInstance`` factory whose claimed aggregations note the elements they consume,
    from the first settle on (a program's constant sources are consumed while it starts)."""
    ids = [n.id for n in nodes]

    class Recording(SimInstance):
        def _new_network(self) -> Network:
            net = super()._new_network()
            settle = net.settle

            def first_settle() -> None:  # the locations exist by now: install, then settle as usual
                for st in self.locs:  # one bucket per location instance: members never mix
                    for nid in ids:
                        op = st.rt.ops.get(nid)
                        if op is not None:
                            _record(op, samples.setdefault((nid, st.info.index), []))
                net.settle = settle  # type: ignore[method-assign]
                settle()

            net.settle = first_settle  # type: ignore[method-assign]
            return net

    return Recording


def _record(op: Any, bucket: list[Any]) -> None:
    inner: Callable[[Any, Any], Any] = op.step

    def step(acc: Any, xs: Any) -> Any:
        xs = list(xs)  # a lazy input is an iterable
        if len(bucket) < PER_NODE:
            bucket.extend(xs[: PER_NODE - len(bucket)])
        return inner(acc, xs)

    op.step = step


def apply(node: Node, xs: list[Any]) -> Any:
    """The aggregation's result over ``xs`` from its initial state (what the runtime computes)."""
    f: Callable[[Any, Any], Any] = node.params["f"]
    if node.op == "fold":
        return functools.reduce(f, xs, node.params["init"]())
    if node.op == "reduce":
        return functools.reduce(f, xs)
    d: dict[Any, Any] = {}
    for k, v in xs:
        cur = d.get(k, MISSING)
        if node.op == "keyed_fold":
            d[k] = f(node.params["init"]() if cur is MISSING else cur, v)
        else:
            d[k] = v if cur is MISSING else f(cur, v)
    return d


class _Counterexample(Exception):
    def __init__(self, xs: list[Any], ys: list[Any], a: Any, b: Any) -> None:
        super().__init__("counterexample")
        self.xs, self.ys, self.a, self.b = xs, ys, a, b


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return True


def _search(node: Node, values: list[Any], prop: str, max_examples: int) -> _Counterexample | None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    n = len(values)

    @settings(
        max_examples=max_examples,
        database=None,
        derandomize=True,
        deadline=None,
        suppress_health_check=[HealthCheck(h) for h in HealthCheck],
        phases=[Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(st.data())
    def prop_holds(data: Any) -> None:
        if prop == "commutative":
            idx: list[int] = data.draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=6))
            xs = [values[i] for i in idx]
            order: list[int] = data.draw(st.permutations(range(len(xs))))
            ys = [xs[i] for i in order]
        else:
            idx = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6))
            xs = [values[i] for i in idx]
            twice: set[int] = set(data.draw(st.lists(st.integers(0, len(xs) - 1), min_size=1, max_size=len(xs))))
            ys = [y for i, x in enumerate(xs) for y in ([x, x] if i in twice else [x])]
        try:
            a, b = apply(node, xs), apply(node, ys)
        except Exception:
            return  # elements that the function cannot combine in this order: not this claim's business
        if not _equal(a, b):
            raise _Counterexample(xs, ys, a, b)

    test: Callable[[], None] = prop_holds  # pyright: ignore[reportAssignmentType]
    try:
        test()
    except _Counterexample as c:
        return c
    return None


def check_claims(graph: Graph, samples: dict[tuple[int, int], list[Any]], *, max_examples: int = 200) -> int:
    """Test every claim whose operator was fed enough elements; raise ``FalseClaimError`` with the
    smallest counterexample Hypothesis finds. Returns how many claims were tested."""
    tested = 0
    for node in claimed_nodes(graph):
        # the elements one instance (process or cluster member) fed it: the two fullest buckets
        buckets = sorted((v for (nid, _), v in samples.items() if nid == node.id), key=len, reverse=True)[:2]
        for prop in PROPS:
            claim = node.proofs.get(prop)
            if claim is None:
                continue
            c: _Counterexample | None = None
            values: list[Any] = []
            for values in buckets:
                if len(values) < (2 if prop == "commutative" else 1):
                    continue
                tested += 1
                c = _search(node, values, prop, max_examples)
                if c is not None:
                    break
            if c is None:
                continue
            if prop == "commutative":
                what = "its result depends on the order of its input"
                fix = (
                    "make the function give the same result in any order (and drop state that remembers the order), "
                    "or remove the claim and give the input an order (assume_ordering(nondet(...)) or sort in a tick)"
                )
            else:
                what = "applying an element twice changes its result"
                fix = (
                    "make the function ignore repeats (e.g. keep a set or a max), or remove the claim and keep the "
                    "input exactly-once"
                )
            raise FalseClaimError(
                f"HL610 at {node.site}: `{node.method}` claims {prop}=proof({claim.reason!r}) ({claim.site}), "
                f"but {what}.\n"
                f"  smallest counterexample (Hypothesis, over {len(values)} element(s) the scenario fed it):\n"
                f"    {show_values(c.xs)} gives {show_value(c.a)}\n"
                f"    {show_values(c.ys)} gives {show_value(c.b)}\n"
                f"  fix:     {fix}.\n"
                "  (run `hydrologic explain HL610` for details)",
                node=node,
                prop=prop,
                inputs=(c.xs, c.ys),
                results=(c.a, c.b),
            )
    return tested
