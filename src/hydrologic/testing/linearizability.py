"""Check that a recorded history of client operations is linearizable.

A *history* is what clients saw: for each operation, when it was invoked, when (and whether) it
completed, and what it returned. It is *linearizable* when every operation can be given one
instant between its invocation and its completion such that, taken in the order of those
instants, the operations form a legal sequential execution of the model (a register, a
counter). Use it on any service whose clients you can record::

    from hydrologic.testing.linearizability import Op, REGISTER, check

    history = [
        Op("x", "set", value=b"1", invoke=0.0, complete=0.2),
        Op("x", "get", output=b"1", invoke=0.3, complete=0.4),
    ]
    result = check(history, REGISTER)
    assert result.valid, result.explain()

Outcomes: ``ok`` (completed, with its output), ``fail`` (certainly did not take effect: dropped
before checking) and ``info`` (unknown, e.g. a timed-out write: it may take effect at any
instant after its invocation, or never; its output is unknown). A read with an unknown outcome
constrains nothing and is dropped.

How: the history is split by key and each key is checked on its own (linearizability is
compositional: a history is linearizable iff each key's sub-history is). Each key is searched with
the Wing–Gong algorithm with Lowe's memoization: walk the invocation/completion events in time
order; at an invocation, try to linearize that operation next (if the model accepts its output)
and remember the pair (set of operations linearized, model state) so that no configuration is
explored twice; at a completion of an operation not yet linearized, backtrack. Operations with an
unknown outcome complete at infinity, so "never took effect" is linearizing them after everything
else; identical unknown operations are interchangeable and are tried in invocation order only.

When a key is not linearizable the result says which key, the longest linearizable prefix found
(in order, with the model's state after it) and the operation that had to take effect next but
could not: each operation open at that point, with the reason the model refuses it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Hashable, Literal, Protocol, Sequence, TypeVar, Union

Outcome = Literal["ok", "fail", "info"]

S = TypeVar("S", bound=Hashable)


@dataclass(frozen=True)
class Op:
    """One client operation on one key.

    ``f`` names the operation for the model (``"set"``, ``"get"``, ``"incr"``); ``value`` is its
    argument, ``output`` what it returned (for ``ok``). ``complete`` is ``None`` when the client
    never saw a reply (``info``). ``process`` is the client, for messages only.
    """

    key: Hashable
    f: str
    value: Any = None
    output: Any = None
    invoke: float = 0.0
    complete: float | None = None
    outcome: Outcome = "ok"
    process: Hashable = None
    id: int = -1  # position in the recorded history, for messages; set by ``check`` when -1

    def __post_init__(self) -> None:
        if self.outcome not in ("ok", "fail", "info"):
            raise ValueError(f"Op.outcome must be 'ok', 'fail' or 'info', got {self.outcome!r}")
        if self.outcome == "ok" and self.complete is None:
            raise ValueError(f"an 'ok' operation needs its completion time: {self}")
        if self.complete is not None and self.complete < self.invoke:
            raise ValueError(f"operation completes before it is invoked ({self.complete} < {self.invoke}): {self}")

    def __str__(self) -> str:
        args = "" if self.value is None else f" {self.value!r}"
        if self.outcome == "ok":
            out = f" -> {self.output!r}" if self.output is not None or self.f == "get" else " ok"
        else:
            out = f" ({self.outcome})"
        end = "..." if self.complete is None else f"{self.complete:.3f}"
        who = "" if self.process is None else f"client {self.process} "
        return f"#{self.id} {who}{self.f.upper()} {self.key!r}{args}{out}  [{self.invoke:.3f}, {end}]"


class Model(Protocol, Generic[S]):
    """A sequential specification: its initial state, and one step of an operation."""

    name: str

    def init(self) -> S: ...

    def step(self, state: S, op: Op) -> tuple[bool, S]:
        """Whether ``op`` may take effect in ``state`` (for an ``info`` op, whatever it returned),
        and the state after it."""
        ...

    def is_read(self, op: Op) -> bool:
        """True when ``op`` never changes the state (such an op with unknown outcome is dropped)."""
        ...

    def why_not(self, state: S, op: Op) -> str:
        """Why ``op`` cannot take effect in ``state`` (``step`` said no), in words."""
        ...

    def prune(self, ops: list[Op]) -> list[Op]:
        """``ops`` without operations that cannot matter to the verdict (an optimization; return
        ``ops`` itself when unsure)."""
        ...


class Register:
    """A read/write register: ``set`` (argument ``value``) and ``get`` (``output`` is the value,
    ``None`` before any write)."""

    name = "register"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, op: Op) -> tuple[bool, Hashable]:
        if op.f == "set":
            return True, op.value
        if op.f == "get":
            return op.outcome == "info" or op.output == state, state
        raise ValueError(f"the register model knows 'set' and 'get', not {op.f!r}: {op}")

    def is_read(self, op: Op) -> bool:
        return op.f == "get"

    def why_not(self, state: Hashable, op: Op) -> str:
        return f"it returned {op.output!r}, but the value is {state!r}"

    def prune(self, ops: list[Op]) -> list[Op]:
        """Drop the unknown writes of a value no read returned: wherever such a write is
        linearized, no read sees it, so it can always go last, where it changes nothing. (Without
        this, k pending unknown writes of distinct values make the search try their 2**k subsets.)"""
        read: set[Any] = set()
        for op in ops:
            if op.f == "get" and op.outcome == "ok":
                try:
                    read.add(op.output)
                except TypeError:
                    return ops
        out: list[Op] = []
        for op in ops:
            try:
                useless = op.f == "set" and op.outcome == "info" and op.value not in read
            except TypeError:
                useless = False
            if not useless:
                out.append(op)
        return out


class Counter:
    """A counter: ``incr`` (``output`` is the new value) and ``get`` (``output`` is the value,
    ``None`` before the first increment)."""

    name = "counter"

    def init(self) -> Hashable:
        return None

    def step(self, state: Hashable, op: Op) -> tuple[bool, Hashable]:
        n = state if isinstance(state, int) else 0
        if op.f == "incr":
            return op.outcome == "info" or op.output == n + 1, n + 1
        if op.f == "get":
            return op.outcome == "info" or op.output == state, state
        raise ValueError(f"the counter model knows 'incr' and 'get', not {op.f!r}: {op}")

    def is_read(self, op: Op) -> bool:
        return op.f == "get"

    def why_not(self, state: Hashable, op: Op) -> str:
        if op.f == "incr":
            n = state if isinstance(state, int) else 0
            return f"it returned {op.output!r}, but incrementing {state!r} gives {n + 1}"
        return f"it returned {op.output!r}, but the value is {state!r}"

    def prune(self, ops: list[Op]) -> list[Op]:
        return ops  # unknown increments are interchangeable: the search takes them in one order


REGISTER: Model[Any] = Register()
COUNTER: Model[Any] = Counter()

ModelChoice = Union["Model[Any]", Callable[[Hashable], "Model[Any]"]]
"""One model for every key, or a function choosing each key's model."""


@dataclass
class KeyFailure:
    """Why one key's sub-history is not linearizable."""

    key: Hashable
    model: str
    prefix: list[Op]
    """The longest linearizable prefix found, in linearization order."""
    state: Hashable
    """The model's state after ``prefix``."""
    stuck: Op | None
    """The operation that completed while not yet linearized: it had to take effect by then."""
    open_ops: list[tuple[Op, str]]
    """Every operation that could go next at that point, with why the model refuses it (or why
    taking it leads nowhere)."""
    ops: int

    def explain(self, last: int = 6) -> str:
        lines = [f"key {self.key!r} ({self.model}, {self.ops} operations) is not linearizable."]
        if self.prefix:
            shown = self.prefix[-last:]
            more = len(self.prefix) - len(shown)
            lines.append(
                f"  The longest linearizable prefix has {len(self.prefix)} operations"
                + (f"; its last {len(shown)}:" if more else ":")
            )
            lines += [f"    {op}" for op in shown]
        else:
            lines.append("  No operation can be linearized first.")
        lines.append(f"  State after it: {self.state!r}.")
        if self.stuck is not None:
            lines.append(f"  {self.stuck} must have taken effect by {self.stuck.complete:.3f}, but from that state:")
        for op, why in self.open_ops:
            lines.append(f"    {op}: {why}")
        return "\n".join(lines)


@dataclass
class Result:
    """The verdict on a whole history: ``valid`` is True, False, or None when the search gave up
    (``max_seconds``) on some key without a verdict."""

    valid: bool | None
    keys: int
    ops: int
    failures: list[KeyFailure] = field(default_factory=lambda: [])
    undecided: list[Hashable] = field(default_factory=lambda: [])
    seconds: float = 0.0

    def explain(self) -> str:
        if self.valid:
            return f"linearizable: {self.ops} operations on {self.keys} keys ({self.seconds:.2f} s)"
        parts = [f"{len(self.failures)} of {self.keys} keys not linearizable ({self.ops} operations)"]
        parts += [f.explain() for f in self.failures]
        if self.undecided:
            parts.append(f"undecided (search budget exhausted): {self.undecided!r}")
        return "\n".join(parts)


class _Budget(Exception):
    pass


def check(history: Sequence[Op], model: ModelChoice, *, max_seconds: float | None = None) -> Result:
    """Check ``history`` key by key against ``model`` (or ``model(key)`` per key).

    ``max_seconds`` bounds the search of each key; a key whose search runs out is reported in
    ``Result.undecided`` and makes ``valid`` None (unless another key already failed).
    """
    started = time.perf_counter()
    by_key: dict[Hashable, list[Op]] = {}
    for i, op in enumerate(history):
        if op.id == -1:
            op = Op(op.key, op.f, op.value, op.output, op.invoke, op.complete, op.outcome, op.process, i)
        by_key.setdefault(op.key, []).append(op)
    failures: list[KeyFailure] = []
    undecided: list[Hashable] = []
    for key, ops in by_key.items():
        m: Model[Any] = model if _is_model(model) else model(key)  # type: ignore[operator, assignment]
        try:
            failure = check_key(key, ops, m, max_seconds=max_seconds)
        except _Budget:
            undecided.append(key)
            continue
        if failure is not None:
            failures.append(failure)
    valid: bool | None = False if failures else (None if undecided else True)
    return Result(valid, len(by_key), len(history), failures, undecided, time.perf_counter() - started)


def _is_model(m: object) -> bool:
    return hasattr(m, "step") and hasattr(m, "init")


def check_key(key: Hashable, history: Sequence[Op], model: Model[Any], *, max_seconds: float | None = None) -> KeyFailure | None:
    """Check one key's sub-history; None when it is linearizable, else why not."""
    ops = model.prune([op for op in history if op.outcome != "fail" and not (op.outcome == "info" and model.is_read(op))])
    # completed ops first, by invocation, then the unknown ones: the completed ops linearized so
    # far are mostly a prefix, so a memo key stores the frontier and the few bits past it
    ops.sort(key=lambda op: (op.outcome == "info", op.invoke))
    n = len(ops)
    if n == 0:
        return None
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    # events: the call of op i is entry 2i, its return 2i + 1; calls sort before returns at equal times
    events = sorted(
        [(op.invoke, 0, 2 * i) for i, op in enumerate(ops)]
        + [(math.inf if op.complete is None else op.complete, 1, 2 * i + 1) for i, op in enumerate(ops)]
    )
    head = 2 * n
    nxt = [-1] * (2 * n + 1)
    prv = [-1] * (2 * n + 1)
    last = head
    for _, _, e in events:
        nxt[last] = e
        prv[e] = last
        last = e
    is_ok = [op.outcome == "ok" for op in ops]
    n_ok = sum(is_ok)
    ok_mask = (1 << n_ok) - 1
    # an unknown op identical to an earlier-invoked unknown op goes only after it (interchangeable)
    twin = [-1] * n
    seen: dict[tuple[str, Any], int] = {}
    for i in sorted(range(n), key=lambda j: ops[j].invoke):
        op = ops[i]
        if op.outcome == "info":
            try:
                k = (op.f, op.value)
                hash(k)
            except TypeError:
                continue
            if k in seen:
                twin[i] = seen[k]
            seen[k] = i

    def lift(i: int) -> None:
        for e in (2 * i, 2 * i + 1):
            p, q = prv[e], nxt[e]
            nxt[p] = q
            if q != -1:
                prv[q] = p

    def unlift(i: int) -> None:
        for e in (2 * i + 1, 2 * i):
            p, q = prv[e], nxt[e]
            nxt[p] = e
            if q != -1:
                prv[q] = e

    def candidates() -> tuple[list[int], int]:
        """The ops that may go next (their call is before the first return not yet linearized),
        completed ones first: an unknown op is tried only when no completed one works. And that
        first return's op: it must go before any op invoked after it completed."""
        first: list[int] = []
        later: list[int] = []
        e = nxt[head]
        while e % 2 == 0:  # a return is always there while a completed op is not linearized
            i = e // 2
            if is_ok[i]:
                first.append(i)
            elif twin[i] == -1 or linearized >> twin[i] & 1:
                later.append(i)
            e = nxt[e]
        return first + later, e // 2

    state: Any = model.init()
    linearized = 0
    done_ok = 0
    path: list[tuple[int, Any]] = []  # the ops linearized so far, with the state before each
    cands, stuck = candidates()
    # per depth: the candidates, the next one to try, the op that bounds them
    f_cands: list[list[int]] = [cands]
    f_next: list[int] = [0]
    f_stuck: list[int] = [stuck]
    cache: set[tuple[int, int, int, Any]] = set()
    best = -1
    best_prefix: list[int] = []
    best_state: Any = state
    best_stuck = -1
    best_open: list[int] = []
    steps = 0
    while done_ok < n_ok:
        steps += 1
        if deadline is not None and steps & 1023 == 0 and time.perf_counter() > deadline:
            raise _Budget()
        cands = f_cands[-1]
        advanced = False
        while f_next[-1] < len(cands):
            i = cands[f_next[-1]]
            f_next[-1] += 1
            ok, new_state = model.step(state, ops[i])
            if not ok:
                continue
            new_lin = linearized | (1 << i)
            base = ((new_lin + 1) & ~new_lin).bit_length() - 1  # the lowest op not linearized
            k2 = (base, (new_lin & ok_mask) >> base, new_lin >> n_ok, new_state)
            if k2 in cache:
                continue
            cache.add(k2)
            path.append((i, state))
            state, linearized = new_state, new_lin
            done_ok += is_ok[i]
            lift(i)
            c2, s2 = candidates() if done_ok < n_ok else ([], -1)
            f_cands.append(c2)
            f_next.append(0)
            f_stuck.append(s2)
            advanced = True
            break
        if advanced:
            continue
        # no candidate leads anywhere from here: backtrack
        if len(path) > best:
            best = len(path)
            best_prefix = [j for j, _ in path]
            best_state = state
            best_stuck = f_stuck[-1]
            best_open = cands + ([best_stuck] if best_stuck not in cands else [])
        f_cands.pop()
        f_next.pop()
        f_stuck.pop()
        if not path:
            break
        i, state = path.pop()
        linearized &= ~(1 << i)
        done_ok -= is_ok[i]
        unlift(i)
    else:
        return None
    open_ops: list[tuple[Op, str]] = []
    for j in best_open:
        ok, _ = model.step(best_state, ops[j])
        open_ops.append((ops[j], "it can go next, but no way on from there completes the history" if ok else model.why_not(best_state, ops[j])))
    return KeyFailure(
        key, model.name, [ops[j] for j in best_prefix], best_state, ops[best_stuck] if best_stuck >= 0 else None, open_ops, n
    )
