"""The operator table (``hydrologic.ir.ops``) agrees with every layer that acts on it.

Each operator is declared once; these tests fail when a layer drifts from the table: an op with
no runtime implementation (or an implementation of an undeclared op), a method missing from the
reference, a guarantee the typed signatures demand that the table does not declare (or the
reverse), a simulator role no part of the simulator consumes, or a node the graph should refuse.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.ir.node import Node
from hydrologic.ir.ops import OP_SPECS, Need, SimRole, UnknownOpError, ops_with, spec_of
from hydrologic.runtime.ops import OP_CLASSES
from hydrologic.sim import _plan

ROOT = Path(__file__).resolve().parents[1]
_CELL = re.compile(r"(?<!\\)\|")  # a table cell boundary (signatures escape their own pipes)
_TYPED_NEEDS = (Need.TOTAL_ORDER, Need.EXACTLY_ONCE, Need.BOUNDED)


def _reference_rows() -> dict[str, list[str]]:
    """Method name -> each of its rows in docs/reference.md: its arguments' types and `needs`."""
    rows: dict[str, list[str]] = {}
    for line in (ROOT / "docs" / "reference.md").read_text().splitlines():
        m = re.match(r"\| `(\w+)\(", line)
        if m:
            cells = _CELL.split(line)
            rows.setdefault(m.group(1), []).append(cells[1] + cells[2])
    return rows


def test_every_declared_op_has_exactly_one_runtime_implementation() -> None:
    assert set(OP_CLASSES) == set(OP_SPECS)


def test_every_op_is_documented_in_the_reference() -> None:
    rows = _reference_rows()
    undocumented = [s.name for s in OP_SPECS.values() if not any(m in rows for m in s.methods)]
    assert not undocumented, f"no method of these ops is in docs/reference.md: {undocumented}"


def test_declared_needs_match_the_typed_signatures_in_both_directions() -> None:
    rows = _reference_rows()
    problems: list[str] = []
    for s in OP_SPECS.values():
        cells = [c for m in s.methods for c in rows.get(m, [])]
        for need in _TYPED_NEEDS:
            if need in s.needs and not any(need.value in c for c in cells):
                problems.append(f"{s.name} declares {need.value}, but no typed form of {s.methods} requires it")
    for method, cells in rows.items():
        candidates = [s for s in OP_SPECS.values() if method in s.methods]
        for need in _TYPED_NEEDS:
            if candidates and any(need.value in c for c in cells) and not any(need in s.needs for s in candidates):
                problems.append(f"`{method}` requires {need.value}, but {[s.name for s in candidates]} do not declare it")
    assert not problems, "\n".join(problems)


def test_blocking_inputs_exist() -> None:
    for s in OP_SPECS.values():
        assert all(0 <= i <= 1 for i in s.blocking), s.name
        if s.blocking:
            # blocking ops consume a whole input before emitting: aggregates, stateful operators,
            # and the two-input combiners split out of stateful.py (chain, sort, lookups)
            assert s.family in (s.family.AGGREGATE, s.family.STATEFUL, s.family.COMBINE), s.name


def test_every_simulator_role_is_consumed_by_the_simulator_plan() -> None:
    tables = {
        SimRole.INBOX: _plan.INBOX_OPS,
        SimRole.CONST_SOURCE: _plan.CONST_TICK_SOURCES,
        SimRole.BATCH: _plan.BATCHES,
        SimRole.SNAPSHOT: _plan.SNAPSHOTS,
        SimRole.ATOMIC_ENTRY: _plan.ATOMIC_ENTRIES,
        SimRole.ATOMIC_SNAPSHOT: _plan.ATOMIC_SNAPSHOTS,
        SimRole.ORDERING: _plan.ORDERINGS,
        SimRole.NEXT_TICK: _plan.NEXT_TICK_OPS,
        SimRole.CLAIMED_FOLD: _plan.CLAIMED_FOLDS,
    }
    assert set(tables) == {r for r in SimRole if r is not SimRole.PLAIN}
    for role, table in tables.items():
        assert table == ops_with(role) and table, role


def test_ops_that_decide_something_say_what() -> None:
    deciders = {s.name for s in OP_SPECS.values() if s.nondet is not None}
    decision_roles = SimRole.BATCH | SimRole.SNAPSHOT | SimRole.ORDERING | SimRole.ATOMIC_SNAPSHOT
    # every simulator decision point takes a nondet token, so the decision is named in the program
    assert {s.name for s in OP_SPECS.values() if s.sim & decision_roles} <= deciders


def test_method_names_in_messages_come_from_the_table() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(type("P", (), {}))
    s = p.source_iter([("a", 1)]).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    node = flow.graph.nodes[-1]
    assert node.op == "keyed_fold" and node.method == "fold" == spec_of("keyed_fold").method
    assert "`fold` at" in repr(s)


def test_the_graph_refuses_an_undeclared_op_or_an_undeclared_decision() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(type("P", (), {}))
    src = p.source_iter([1])
    base = flow.graph.nodes[-1]

    def node(op: str, token: object = None) -> Node:
        return Node(len(flow.graph.nodes), op, [base], base.scope, "stream", None, None, None, base.site, nondet=token)  # type: ignore[arg-type]

    with pytest.raises(UnknownOpError, match="not declared"):
        flow.graph.add(node("frobnicate"))
    with pytest.raises(UnknownOpError, match="makes no decision"):
        flow.graph.add(node("map", nondet("no op decides here")))
    assert src is not None
