"""State machines over a stream's elements, or over each key's values of a keyed stream:
``generator`` and the keyed ``scan``/``enumerate``/``fold_early_stop`` built on it. Scoped like the
stateful operators: the state lasts forever at the top level, and a tick's starts fresh each tick."""

from __future__ import annotations

from typing import Any, Callable

from ...ir.node import Node
from ...types.generate import Break, Continue, Return, Yield
from .base import ABSENT, RuntimeContext, Stateful, op

_DONE: Any = object()  # a generator (or one key of it) that returned or broke: ignores the rest


@op("generator")
class Generator(Stateful):
    """A state machine over the elements, or over each key's values for a keyed stream.

    ``f(state, x)`` returns ``(state, Yield(y) | Return(y) | Continue() | Break())``. The state
    starts from ``init()`` (per key), and ``Return``/``Break`` end it: later elements (of that
    key) are ignored. Scoped like any stateful operator: forever at the top level, per tick inside one.

    ``mode="scan"`` (a keyed ``scan``: ``f(acc, v)`` returns the accumulator, which is emitted) and
    ``mode="enumerate"`` are the same machine without building a ``Yield`` per element.
    """

    idle_noop = True
    user_fn = True

    def __init__(self, node: Node, ctx: RuntimeContext) -> None:
        super().__init__(node, ctx)
        self.f: Callable[[Any, Any], Any] = node.params["f"]
        self.init: Callable[[], Any] = node.params["init"]
        self.keyed: bool = node.params["keyed"]
        self.mode: str = node.params.get("mode", "generate")
        self.reset()

    def reset(self) -> None:
        self.states: dict[Any, Any] = {}

    def run(self, ins: list[Any]) -> list[Any]:
        if self.mode == "scan":
            return self._scan(ins[0])
        if self.mode == "enumerate":
            return self._enumerate(ins[0])
        if not self.keyed:
            return self._single(ins[0])
        states, f, init, keyed = self.states, self.f, self.init, self.keyed
        get = states.get
        out: list[Any] = []
        append = out.append
        for x in ins[0]:
            k, v = x if keyed else (None, x)
            state = get(k, ABSENT)
            if state is _DONE:
                continue
            if state is ABSENT:
                state = init()
            result = f(state, v)
            try:
                state, g = result
            except (TypeError, ValueError):
                raise TypeError(f"a generator step must return (state, Yield/Return/Continue/Break), got {result!r}") from None
            cls = g.__class__
            if cls is Yield:
                append((k, g.value) if keyed else g.value)
                states[k] = state
            elif cls is Continue:
                states[k] = state
            elif cls is Return:
                append((k, g.value) if keyed else g.value)
                states[k] = _DONE
            elif cls is Break:
                states[k] = _DONE
            else:
                raise TypeError(f"a generator step must return (state, Yield/Return/Continue/Break), got {(state, g)!r}")
        return out

    def _single(self, xs: list[Any]) -> list[Any]:
        """The unkeyed machine: one state, kept under the key None between runs."""
        state = self.states.get(None, ABSENT)
        if state is _DONE or not xs:
            return []
        f = self.f
        out: list[Any] = []
        append = out.append
        if state is ABSENT:
            state = self.init()
        for x in xs:
            result = f(state, x)
            try:
                state, g = result
            except (TypeError, ValueError):
                raise TypeError(f"a generator step must return (state, Yield/Return/Continue/Break), got {result!r}") from None
            cls = g.__class__
            if cls is Yield:
                append(g.value)
            elif cls is Return:
                append(g.value)
                state = _DONE
                break
            elif cls is Break:
                state = _DONE
                break
            elif cls is not Continue:
                raise TypeError(f"a generator step must return (state, Yield/Return/Continue/Break), got {result!r}")
        self.states[None] = state
        return out

    def _scan(self, xs: list[Any]) -> list[Any]:
        states, f, init = self.states, self.f, self.init
        get = states.get
        out: list[Any] = []
        append = out.append
        for k, v in xs:
            acc = get(k, ABSENT)
            acc = f(init() if acc is ABSENT else acc, v)
            states[k] = acc
            append((k, acc))
        return out

    def _enumerate(self, xs: list[Any]) -> list[Any]:
        states = self.states
        get = states.get
        out: list[Any] = []
        append = out.append
        for k, v in xs:
            i = get(k, 0)
            states[k] = i + 1
            append((k, (i, v)))
        return out
