"""The human-readable record of one simulated execution.

Each step (a tick, an observation, a forked absence check) lists the nondet sites that decided
something in it: the operator and its file:line, the ``nondet`` reason (and the reasons it
forwards), and the values that were released. The renderer cuts long lists the way Hydro's traces
do (first eight items, then the total) so a 1,000-message batch stays one line.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass, field
from typing import Any, Callable

from ..ir.node import Node

__all__ = ["Trace", "TraceStep", "show_values", "describe_site"]

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 8
_repr.maxtuple = 8
_repr.maxdict = 8
_repr.maxset = 8


def show_value(v: Any) -> str:
    try:
        return _repr.repr(v)
    except Exception:  # a user type whose __repr__ raises
        return "?"


def show_values(vs: list[Any], limit: int = 8) -> str:
    head = ", ".join(show_value(v) for v in vs[:limit])
    if len(vs) > limit:
        return f"[{head}, ..] ({len(vs)} total)"
    return f"[{head}]"


def describe_site(node: Node) -> str:
    """`op` at file:line, nondet "reason" [<- forwarded reasons]."""
    text = f"`{node.method}` at {node.site}"
    tok = node.nondet
    if tok is not None:
        chain = tok.chain()
        text += f', nondet "{tok.reason}"'
        if tok.site != node.site:
            text += f" ({tok.site})"
        for t in chain[1:]:
            text += f' <- "{t.reason}" ({t.site})'
    return text


Note = tuple["Node | str", "str | Callable[[], str]"]


class TraceStep:
    """One step of an execution: its title and the notes of the nondet sites decided in it.
    (A plain slotted class: a search makes several per execution.)"""

    __slots__ = ("title", "notes")

    def __init__(self, title: str | Callable[[], str]) -> None:
        self.title = title
        # (the nondet site, what happened); both rendered only if the trace is shown, because
        # most executions of a search are never printed
        self.notes: list[Note] = []


@dataclass
class Trace:
    steps: list[TraceStep] = field(default_factory=lambda: [])

    def step(self, title: str | Callable[[], str]) -> TraceStep:
        s = TraceStep(title)
        self.steps.append(s)
        return s

    def note(self, where: Node | str, what: str | Callable[[], str]) -> None:
        if not self.steps:
            self.step("before the first step")
        self.steps[-1].notes.append((where, what))

    def render(self) -> str:
        lines: list[str] = []
        n = 0
        for s in self.steps:
            title = s.title if isinstance(s.title, str) else s.title()
            if not s.notes and title.startswith("tick"):
                continue  # a tick that only ran deferred work: noise in a trace
            n += 1
            lines.append(f"  {n:>3}. {title}")
            for where, what in s.notes:
                lines.append(f"       {where if isinstance(where, str) else describe_site(where)}")
                lines.append(f"         -> {what if isinstance(what, str) else what()}")
        return "\n".join(lines) if lines else "  (no nondeterministic decisions were needed)"
