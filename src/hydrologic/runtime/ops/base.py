"""The operator contract every family implements, the ``@op`` registry the tick engine looks
operators up in, and the bases several families share, so that no family imports another."""

from __future__ import annotations

from typing import Any, Callable, Collection, Iterable, TypeVar

from ...ir.node import Node

__all__ = ["ABSENT", "MISSING", "OP_CLASSES", "Fn", "Inbox", "Op", "RuntimeContext", "Stateful", "op"]


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
    # Holds nothing between runs beyond its wiring (functions, parameters): its ``value`` stays
    # ABSENT and it never reads ``first``. The simulator's state key leaves such operators out,
    # since every state of the location has them alike. ``fusable`` operators are stateless too.
    stateless = False
    # Element-wise and stateless: ``pipe`` can stand in for ``run``, so the scheduler may fuse
    # a chain of such operators into their consumer and skip the intermediate lists. The
    # simulator's state key leaves these operators out (they hold nothing between runs), so an
    # operator with state of its own (beyond its functions) must not set it.
    fusable = False
    # Inputs that ``run`` accepts as any iterable (e.g. a lazy fused pipeline), not only a list.
    lazy_inputs: tuple[int, ...] = ()
    # ``run`` with every stream input empty returns nothing and changes no state, so a tick may
    # skip the call (only for operators whose inputs are all streams; see ``runtime.compiled``).
    idle_noop = False
    # Attributes that ``run`` sets from its inputs alone before anything reads them (a scalar's
    # ``value``). Inside a tick the operator runs in every tick, ahead of its readers, so what
    # these held after the last tick is never read again: the simulator's state key leaves them
    # out (``sim/_states``), or states that differ only in last tick's leftovers count as two.
    recomputed: frozenset[str] = frozenset()

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

    # Durable state (``scan``/``fold`` with ``durable="name"``): the name, the state to start
    # from after a restart, and the records this tick changed (``(name, key, value | DELETE)``).
    durable: str | None = None

    def restore(self, records: dict[Any, Any]) -> None:
        raise NotImplementedError

    def durable_changes(self) -> list[tuple[str, Any, Any]]:
        raise NotImplementedError


OP_CLASSES: dict[str, type[Op]] = {}


_OpClass = TypeVar("_OpClass", bound="type[Op]")


def op(*names: str) -> Callable[[_OpClass], _OpClass]:
    """Registers the class under each IR op name. A name has one class: with the families in
    separate modules, a second registration would silently replace the first."""

    def deco(cls: _OpClass) -> _OpClass:
        for i, n in enumerate(names):  # check every name before registering any
            if n in OP_CLASSES or n in names[:i]:
                owner = OP_CLASSES.get(n, cls).__qualname__
                raise ValueError(f"op {n!r} of {cls.__qualname__} is already registered to {owner}")
        for n in names:
            OP_CLASSES[n] = cls
        return cls

    return deco


# A "no entry" marker for dict lookups where ``None`` (or ``ABSENT``) is a legitimate value.
MISSING: Any = object()


class Fn(Op):
    """Calls the user's ``params["f"]``, so an exception from it is the user's error (``user_fn``)."""

    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.f: Callable[..., Any] = node.params["f"]


class Stateful(Op):
    """Scoping: at the top level state outlives ticks; inside a tick each tick starts fresh."""

    def reset(self) -> None:
        raise NotImplementedError

    def end_tick(self) -> None:
        super().end_tick()
        if self.in_tick:
            self.reset()


class Inbox(Op):
    """Elements delivered from outside the location's graph (tests, clients, timers, peers, the
    completions of async calls): a driver appends them to ``pending``, and a location with a
    non-empty inbox has work. Shared by the sources and the async operators."""

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.pending: list[Any] = []

    def run(self, ins: list[Any]) -> list[Any]:
        out, self.pending = self.pending, []
        return out
