"""docs/tutorial.md stays true: each step of the tutorial, run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.lang.program import load_program
from hydrologic.sim import SimulationFailure

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = f"{ROOT / 'docs' / 'tutorial' / 'counter.py'}:build"


class Server: ...


def test_step2_the_program_builds_and_check_sees_its_nondet_sites() -> None:
    build, _ = load_program(PROGRAM)
    flow = hl.FlowBuilder()
    build(flow)
    flow.build()
    assert [s.reason for s in flow.nondet_sites()] == [
        "reads may see any later state",
        "a read reflects every acknowledged increment",
    ]


def test_step3_in_process() -> None:
    build, _ = load_program(PROGRAM)
    flow = hl.FlowBuilder()
    build(flow)
    with flow.run_in_process() as run:
        run.external_send("increment", ["apples", "apples", "pears"])
        assert run.external_collect("ack") == ["ok apples", "ok apples", "ok pears"]
        run.external_send("get", ["apples", "plums"])
        assert run.external_collect("value") == [("apples", 2)]


def _sim_program(atomic_read: bool) -> tuple[hl.FlowBuilder, object]:
    flow = hl.FlowBuilder()
    server = flow.process(Server)
    tick = server.tick()
    inc_in, increments = server.sim_input(str)
    get_in, reads = server.sim_input(str)
    batch = reads.map(lambda k: (k, None)).into_keyed().batch(tick, nondet("reads may see any later state"))
    if atomic_read:
        atomic = increments.atomic(tick)
        counts = atomic.map(lambda k: (k, 1)).into_keyed().value_counts()
        acks = atomic.end_atomic().sim_output()
        snap = counts.snapshot_atomic(nondet("a read reflects every acknowledged increment"))
    else:
        counts_top = increments.map(lambda k: (k, 1)).into_keyed().value_counts()
        acks = increments.sim_output()
        snap = counts_top.snapshot(tick, nondet("a read may see an older count"))
    values = snap.join_keyed_stream(batch).entries().map(lambda e: (e[0], e[1][1])).all_ticks().sim_output()

    def scenario() -> None:
        inc_in.send_many(["a", "a"])
        acks.assert_yields(["a", "a"])
        get_in.send("a")
        values.assert_yields([("a", 2)])

    return flow, scenario


def test_step4_the_simulator_proves_read_after_write() -> None:
    flow, scenario = _sim_program(atomic_read=True)
    runs = flow.sim().exhaustive(scenario)  # type: ignore[arg-type]
    assert runs >= 1


def test_step4_without_atomicity_the_simulator_finds_the_stale_read() -> None:
    flow, scenario = _sim_program(atomic_read=False)
    with pytest.raises(SimulationFailure) as info:
        flow.sim().exhaustive(scenario)  # type: ignore[arg-type]
    text = str(info.value)
    assert "a read may see an older count" in text and "replay" in text


@pytest.mark.timeout(60)
def test_step5_local_processes() -> None:
    with hl.deploy.Localhost(log=lambda _: None).start(PROGRAM) as d:
        with d.output("ack") as acks, d.input("increment") as inc:
            inc.send_many(["apples", "apples"])
            assert acks.take(2) == ["ok apples", "ok apples"]
    assert os.path.exists(PROGRAM.split(":")[0])


def _step4_blocks() -> tuple[list[str], list[str]]:
    text = (ROOT / "docs" / "tutorial.md").read_text()
    section = text.split("## 4.", 1)[1].split("## 5.", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    assert len(blocks) == 2, "step 4 shows the program and the non-atomic variant"
    return blocks[0].splitlines(), blocks[1].splitlines()


def _run_doc_code(lines: list[str]) -> None:
    namespace: dict[str, object] = {"hl": hl, "nondet": nondet, "Server": Server}
    exec(compile("\n".join(lines), "docs/tutorial.md", "exec"), namespace)


def test_step4_as_the_tutorial_shows_it() -> None:
    program, _ = _step4_blocks()
    _run_doc_code(program)  # exhaustive explores every schedule without a failure


def test_step4_the_tutorials_non_atomic_variant_builds_and_the_simulator_finds_the_stale_read() -> None:
    program, variant = _step4_blocks()
    replaced = ("atomic = ", "counts = ", "acks = ", "snap = ")
    first = next(i for i, line in enumerate(program) if line.startswith(replaced))
    kept = [line for line in program if not line.startswith(replaced)]
    edited = kept[:first] + variant + kept[first:]
    with pytest.raises(SimulationFailure) as info:
        _run_doc_code(edited)
    assert "a read may see an older count" in str(info.value)
