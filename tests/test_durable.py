"""Durable state in the language: ``scan(..., durable=)`` and ``KeyedStream.fold(..., durable=)``.

Recovery across runs of the in-process driver (in memory and under a data directory), the
per-key write pattern of a durable fold and its deletes, the build errors (HL503) and the graph
label."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic.ir.render import to_dot, to_mermaid
from hydrologic.lang.location import Process
from hydrologic.storage import DELETE, MemoryStore
from hydrologic.types.errors import UsageError


class P: ...


class Q: ...


def _counter(flow: hl.FlowBuilder) -> tuple[Any, Any, Any]:
    p = flow.process(P)
    port, xs = p.sim_input(int)
    total = xs.scan(lambda: 0, lambda a, x: a + x, durable="total")
    by_parity = xs.map(lambda x: (x % 2, x)).into_keyed().fold(
        lambda: 0, lambda a, x: None if x < 0 else a + x, durable="by_parity"
    )
    return port, total.sim_output(), by_parity.entries().sim_output()


def _run(data_dir: Path | None, inputs: list[int], fsync: str = "batch") -> tuple[list[Any], list[Any]]:
    flow = hl.FlowBuilder()
    port, totals, entries = _counter(flow)
    with flow.run_in_process(data_dir=None if data_dir is None else str(data_dir), fsync=fsync) as run:
        port.send_many(inputs)
        run.run_until_idle()
        return totals.collect(), sorted(entries.collect())


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_scan_and_keyed_fold_recover_from_the_data_directory(tmp_path: Path, fsync: str) -> None:
    assert _run(tmp_path, [1, 2, 3], fsync) == ([1, 3, 6], [(0, 2), (1, 4)])
    # A new run on the same directory starts from the recovered state, not from init().
    assert _run(tmp_path, [10, 5], fsync) == ([16, 21], [(0, 12), (1, 9)])
    assert (tmp_path / "P" / "state.log").exists()


def test_without_a_data_directory_state_starts_fresh_each_run() -> None:
    assert _run(None, [1, 2, 3]) == ([1, 3, 6], [(0, 2), (1, 4)])
    assert _run(None, [10]) == ([10], [(0, 10)])


def test_an_accumulator_of_none_deletes_the_key_in_memory_and_on_disk(tmp_path: Path) -> None:
    assert _run(tmp_path, [2, 4, 3]) == ([2, 6, 9], [(0, 6), (1, 3)])
    # -2 makes key 0's accumulator None: the key is gone (no entry), and stays gone after recovery.
    _run(tmp_path, [-2])
    assert _run(tmp_path, [1]) == ([8], [(1, 4)])
    assert _run(tmp_path, [2]) == ([10], [(0, 2)])  # key 0 starts again from init()


def test_a_durable_fold_writes_only_the_keys_a_tick_changed() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    port, xs = p.sim_input(tuple[str, int])
    xs.into_keyed().fold(lambda: 0, lambda a, x: a + x, durable="sums")
    with flow.run_in_process() as run:
        store = run.runtimes[0].store
        assert isinstance(store, MemoryStore)
        writes: list[list[Any]] = []
        orig = store.write

        def spy(records: list[Any]) -> int:
            writes.append(list(records))
            return orig(records)

        store.write = spy  # type: ignore[method-assign]
        port.send_many([("a", 1), ("b", 2)])
        run.run_until_idle()
        port.send_many([("b", 5)])
        run.run_until_idle()
        run.run_until_idle()  # an idle location writes nothing
    assert writes == [[("sums", "a", 1), ("sums", "b", 2)], [("sums", "b", 7)]]
    assert store.data == {"sums": {"a": 1, "b": 7}}


def test_a_scan_that_updates_its_state_in_place_is_written_as_of_each_tick() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    port, xs = p.sim_input(int)

    def step(acc: list[int], x: int) -> list[int]:
        acc.append(x)  # in place: the store must keep a copy, not the live object
        return acc

    xs.scan(list[int], step, durable="seen")
    with flow.run_in_process() as run:
        store = run.runtimes[0].store
        assert isinstance(store, MemoryStore)
        port.send(1)
        run.run_until_idle()
        assert store.data == {"seen": {None: [1]}}
        port.send(2)
        run.run_until_idle()
        assert store.data == {"seen": {None: [1, 2]}}


def test_memory_store_delete_removes_the_record() -> None:
    s = MemoryStore()
    s.write([("m", 1, "x"), ("m", 2, "y")])
    s.write([("m", 1, DELETE)])
    assert s.recover() == {"m": {2: "y"}}
    assert s.durable_seq == s.seq == 2


def test_a_durable_name_used_twice_at_one_location_is_hl503() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    xs = p.source_iter([1])
    xs.scan(lambda: 0, lambda a, x: a + x, durable="s")
    with pytest.raises(UsageError) as e:
        xs.scan(lambda: 0, lambda a, x: a + x, durable="s")
    assert e.value.code == "HL503" and "test_durable.py" in str(e.value.site)
    assert "declared twice" in str(e.value)
    # The same name at another location is a different store: fine.
    flow.process(Q).source_iter([1]).scan(lambda: 0, lambda a, x: a + x, durable="s")


def test_durable_inside_a_tick_or_with_a_bad_name_is_hl503() -> None:
    flow = hl.FlowBuilder()
    p: Process[P] = flow.process(P)
    t = p.tick()
    batch = p.source_iter([("k", 1)]).batch(t, hl.nondet("test"))
    with pytest.raises(UsageError, match="inside a tick") as e:
        batch.into_keyed().fold(lambda: 0, lambda a, x: a + x, durable="k")
    assert e.value.code == "HL503"
    with pytest.raises(UsageError, match="non-empty name") as e2:
        p.source_iter([1]).scan(lambda: 0, lambda a, x: a + x, durable="")
    assert e2.value.code == "HL503"


def test_the_graph_labels_durable_state() -> None:
    flow = hl.FlowBuilder()
    _counter(flow)
    g = flow.build()
    assert "scan durable 'total'" in to_mermaid(g)
    assert "fold durable 'by_parity'" in to_dot(g)


def test_hydrologic_check_lists_durable_state(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    prog = tmp_path / "prog.py"
    prog.write_text(
        "import hydrologic as hl\n"
        "class P: ...\n"
        "def build(flow):\n"
        "    p = flow.process(P)\n"
        "    p.source_iter([1]).scan(lambda: 0, lambda a, x: a + x, durable='total').sim_output()\n"
    )
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--skip", "mypy", "--skip", "pyright", *a],
        capture_output=True, text=True, timeout=120,
    )
    text = run()
    assert "durable state (1)" in text.stdout and "`scan` durable 'total' on P" in text.stdout, text.stdout + text.stderr
    data = json.loads(run("--json").stdout)
    assert [(d["name"], d["location"]) for d in data["durable_state"]] == [("total", "P")]


def test_hydrologic_runs_default_data_directory_is_per_program() -> None:
    from hydrologic.cli.run import default_data_dir

    assert default_data_dir("examples/counter.py:build") == ".hydrologic-data/counter.build"
    assert default_data_dir("pkg.mod:make") == ".hydrologic-data/pkg.mod.make"


def test_an_unpicklable_accumulator_is_a_storage_error_naming_the_state() -> None:
    from hydrologic.storage import StorageError

    flow = hl.FlowBuilder()
    port, xs = flow.process(P).sim_input(int)
    xs.scan(lambda: None, lambda a, x: (lambda: x), durable="fn")  # a lambda cannot be stored
    with flow.run_in_process() as run:
        port.send(1)
        with pytest.raises(StorageError, match="durable state 'fn' holds a value that cannot be stored"):
            run.run_until_idle()
