"""A check the runtime test files install on the generic path: the ``idle_noop`` claim.

The generated tick function skips an operator whose stream inputs are all empty when its class
declares ``idle_noop``. That is only right if running it on nothing returns nothing and changes
none of its state. The generic path (``run_node``) still runs such operators, so on that path
every run with empty inputs is checked against the claim, across every program of the file.
"""

from __future__ import annotations

from typing import Any

import pytest


def _state(op: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in vars(op).items():
        if k in ("node", "ctx"):
            continue
        out[k] = type(v)(v) if isinstance(v, (list, dict, set)) else v  # pyright: ignore[reportUnknownArgumentType]
    return out


def check_idle_noop(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap ``LocationRuntime.run_node``; returns the list of op names checked (for a test to
    see that the check ran)."""
    from hydrologic.runtime.tick import LocationRuntime

    real = LocationRuntime.run_node
    checked: list[str] = []

    def run_node(self: LocationRuntime, n: Any) -> None:
        op = self.ops[n.id]
        plan = self.plans[n.id]
        keys = [what if how == 2 else what[0] for how, what in plan if how >= 2]
        if not (op.idle_noop and plan and len(keys) == len(plan) and not any(self.inbox[k] for k in keys)):
            real(self, n)
            return
        before = _state(op)
        sent = {k: len(self.inbox[k]) for k in self.consumers[n.id]}
        real(self, n)
        assert _state(op) == before, f"`{n.op}` declares idle_noop but changed its state on empty input"
        assert all(len(self.inbox[k]) == c for k, c in sent.items()), f"`{n.op}` declares idle_noop but emitted on empty input"
        checked.append(n.op)

    monkeypatch.setattr(LocationRuntime, "run_node", run_node)
    return checked
