"""Operators the simulator substitutes for nondeterministic ones, and the decisions they make.

The runtime's ``Batch`` and ``Snapshot`` already expose hooks (``release`` / ``choose``); the
functions at the end of this module are what the simulator puts there: nothing until decided,
then exactly what ``_decider`` decided before the tick runs. ``assume_ordering`` and
``merge_ordered`` are plain pass-through operators in the runtime, so each simulated instance
replaces them with the classes here: at the top level they buffer their input and release it one
element at a time when the scheduler picks them (an *observation*), inside a tick they permute
the tick's batch with decisions.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from ..ir.node import Node
from ..runtime.ops import ABSENT, Batch, Op, RuntimeContext, Snapshot
from ._errors import ProofViolation
from ._trace import show_value, show_values

__all__ = [
    "OrderObservation",
    "MergeObservation",
    "InlinePermute",
    "permute",
    "keyed_permute",
    "choose_subset",
    "check_commutative",
    "check_idempotent",
    "release_nothing",
    "release_fixed",
    "keep_value",
    "fixed_value",
    "copy_value",
]

Choose = Callable[[int], int]
Note = Callable[[Node, str | Callable[[], str]], None]  # a line in the trace under ``node``
# the ``choose`` a decision at ``node`` must use, given its outcome as a pure procedure (``_rules``)
SiteChoose = Callable[[Node, Callable[[Choose], Any]], Choose]


def _pick(choose: Choose, n: int) -> int:
    return choose(n) if n > 1 else 0


def permute(choose: Choose, xs: list[Any]) -> list[Any]:
    """Any permutation of ``xs`` by Fisher–Yates swaps: n! decision paths, each a distinct order."""
    out = list(xs)
    for i in range(len(out) - 1):
        j = i + _pick(choose, len(out) - i)
        out[i], out[j] = out[j], out[i]
    return out


def keyed_permute(choose: Choose, pairs: list[Any]) -> list[Any]:
    """Permute values within each key, leaving each key's positions in place (order across keys is
    not observable on a keyed stream, so exploring it would only repeat executions)."""
    groups: dict[Any, list[int]] = {}
    for i, kv in enumerate(pairs):
        groups.setdefault(kv[0], []).append(i)
    out = list(pairs)
    for positions in groups.values():
        if len(positions) > 1:
            vals = permute(choose, [pairs[p] for p in positions])
            for p, v in zip(positions, vals):
                out[p] = v
    return out


def choose_subset(choose: Choose, n: int, forced: bool) -> list[int]:
    """A subset of ``range(n)`` in increasing order, one decision path per subset.

    Each step picks the next index above the last one, or stops (option 0, unavailable while a
    forced release has picked nothing yet). Subsets, never permutations: an unordered batch is
    itself unordered, so its internal order is not an observable difference (Hydro PR #2183).
    """
    picked: list[int] = []
    lo = 0
    while lo < n:
        must = forced and not picked
        k = n - lo
        v = _pick(choose, k if must else k + 1)
        if not must:
            if v == 0:
                break
            v -= 1
        picked.append(lo + v)
        lo = lo + v + 1
    return picked


class OrderObservation(Op):
    """Top-level ``assume_ordering``: buffers arrivals; releases what the scheduler decides."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.buffer: list[Any] = []
        self.to_release: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        if ins and ins[0]:
            self.buffer.extend(ins[0])
        out, self.to_release = self.to_release, []
        return out

    def pending(self) -> bool:
        return bool(self.buffer)

    def decide(self, choose: Choose) -> str:
        if self.node.kind == "keyed_stream":
            vals = keyed_permute(choose, self.buffer)
            self.buffer = []
            self.to_release = vals
            return f"observed per-key order: {show_values(vals)}"
        i = _pick(choose, len(self.buffer))
        x = self.buffer.pop(i)
        self.to_release = [x]
        left = f" ({len(self.buffer)} still buffered)" if self.buffer else ""
        return f"released next: {show_value(x)}{left}"


class MergeObservation(Op):
    """Top-level ``merge_ordered``: keeps each side's order, decides the interleaving one element
    at a time (so elements that arrive later on one side can still come first)."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.left: list[Any] = []
        self.right: list[Any] = []
        self.to_release: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        if ins[0]:
            self.left.extend(ins[0])
        if ins[1]:
            self.right.extend(ins[1])
        out, self.to_release = self.to_release, []
        return out

    def pending(self) -> bool:
        return bool(self.left or self.right)

    def decide(self, choose: Choose) -> str:
        if self.left and self.right:
            side = choose(2)
        else:
            side = 0 if self.left else 1
        src = self.right if side else self.left
        x = src.pop(0)
        self.to_release = [x]
        return f"merge order: next from the {'second' if side else 'first'} input: {show_value(x)}"


class InlinePermute(Op):
    """In-tick ``assume_ordering``: the tick's whole batch, in an order chosen by decisions."""

    def __init__(self, node: Node, ctx: RuntimeContext, choose: Choose, note: Note, site: SiteChoose | None = None) -> None:
        super().__init__(node, ctx)
        self._choose = choose
        self._note = note
        self._site = site

    def run(self, ins: list[Any]) -> list[Any]:
        xs: list[Any] = ins[0]
        if len(xs) < 2:
            return xs
        keyed = self.node.kind == "keyed_stream"
        perm = keyed_permute if keyed else permute
        choose = self._choose if self._site is None else self._site(self.node, lambda c: perm(c, xs))
        out = perm(choose, xs)
        self._note(self.node, lambda: f"observed {'per-key ' if keyed else ''}order: {show_values(out)}")
        return out


def check_commutative(op: Op) -> None:
    """Check a fold's ``commutative=proof(...)`` claim instead of trusting it.

    Whenever the fold consumes two or more elements at once, it is also run on the same elements
    in reverse order, from a copy of the state before; a different result is a ``ProofViolation``.
    (Checking one other order per step is cheap and catches every fold that is not commutative on
    the inputs it sees in the reverse pair; it does not multiply the executions like exploring
    every permutation would.)
    """
    _check_claim(
        op,
        "commutative",
        min_len=2,
        variant=lambda xs: list(reversed(xs)),
        why=lambda xs, got, alt_in, alt: (
            f"its result depends on the order of its input: {show_values(xs)} gives {show_value(got)}, "
            f"{show_values(alt_in)} gives {show_value(alt)}"
        ),
    )


def check_idempotent(op: Op) -> None:
    """Check a fold's ``idempotent=proof(...)`` claim: applying each element of a step twice (as a
    retrying channel may deliver it) must give the same state as applying it once."""
    _check_claim(
        op,
        "idempotent",
        min_len=1,
        variant=lambda xs: [x for x in xs for _ in (0, 1)],
        why=lambda xs, got, _alt_in, alt: (
            f"a duplicated element changes its result: {show_values(xs)} gives {show_value(got)}, "
            f"each twice gives {show_value(alt)}"
        ),
    )


def _check_claim(
    op: Op,
    prop: str,
    *,
    min_len: int,
    variant: Callable[[list[Any]], list[Any]],
    why: Callable[[list[Any], Any, list[Any], Any], str],
) -> None:
    """Wrap ``op.step`` so each step is also run on ``variant(xs)`` from a copy of the state
    before; a different result means the ``prop=proof(...)`` claim is false on this input."""
    step: Callable[[Any, list[Any]], Any] = getattr(op, "step")
    node = op.node
    claim = node.proofs[prop]

    def checked(acc: Any, xs: list[Any]) -> Any:
        if len(xs) < min_len:
            return step(acc, xs)
        try:
            before = acc if acc is ABSENT else copy.deepcopy(acc)
        except Exception:  # state that cannot be copied: trust the claim
            return step(acc, xs)
        result: Any = step(acc, xs)
        # keyed folds update the dict in place and return None
        result_v: Any = op.value if result is None else result
        snap = copy.deepcopy(result_v) if result_v is not ABSENT else ABSENT
        alt_in = variant(xs)
        alt = step(before, alt_in)
        alt_v: Any = before if alt is None else alt
        if not _equal(snap, alt_v):
            raise ProofViolation(
                f"`{node.method}` at {node.site} claims {prop}=proof({claim.reason!r}) ({claim.site}), "
                f"but {why(xs, snap, alt_in, alt_v)}"
            )
        return result

    setattr(op, "step", checked)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return True


# ---- the functions installed in ``Batch.release`` and ``Snapshot.choose`` ----------------------


def release_nothing(op: Batch, pending: list[Any]) -> list[Any]:
    """A batch before any decision (and after one that released nothing)."""
    return []


def release_fixed(out: list[Any], op: Batch, pending: list[Any]) -> list[Any]:
    """A batch releasing the ``out`` a decision picked (bound with ``functools.partial``)."""
    return out


def keep_value(op: Snapshot, v: Any) -> Any:
    """A snapshot before any decision: the value it already holds, else the live one."""
    return op.value if op.value is not ABSENT else v


def fixed_value(v: Any, op: Snapshot, current: Any) -> Any:
    """A snapshot showing the version ``v`` a decision picked (a copy: the tick may mutate it)."""
    return copy_value(v)


def copy_value(v: Any) -> Any:
    """A shallow copy of a dict, list or set (top-level state that later passes mutate in place)."""
    if isinstance(v, dict):
        return dict(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    if isinstance(v, list):
        return list(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    if isinstance(v, set):
        return set(v)  # pyright: ignore[reportUnknownArgumentType,reportUnknownVariableType]
    return v
