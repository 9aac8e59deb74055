"""The Hydro-parity keyed operators deployed as real OS processes over loopback TCP: a cluster's
values arrive at the leader keyed by sender, and per-key state (generator, enumerate,
fold_early_stop) must be per sender and in each sender's order."""

from __future__ import annotations

import os
from typing import Any

import pytest

from hydrologic.deploy import Localhost

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "parity_progs.py")
pytestmark = pytest.mark.timeout(90)


def _tuples(xs: list[Any]) -> list[tuple[Any, ...]]:
    return sorted(tuple(x) for x in xs)


def test_keyed_generator_enumerate_and_early_stop_per_sender() -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:keyed_algebra", {"Workers": 2}) as d:
        with d.output("numbered") as numbered, d.output("cut") as cut, d.output("totals") as totals:
            got_numbered = _tuples(numbered.take(6))
            got_cut = _tuples(cut.take(4))
            got_totals = _tuples(totals.take(2))
    assert got_numbered == sorted((m, i, x + 10 * m) for m in range(2) for i, x in enumerate([5, 6, 7]))
    assert got_cut == sorted((m, x + 10 * m) for m in range(2) for x in (5, 6))  # 7 follows the Return
    assert got_totals == [(0, 11), (1, 31)]  # 5 + 6, then (15 + 16)
