"""Reproducer files: every failure is saved to ``sim-failures/``, replayed first by the next
pytest run of its test, replayable with ``hydrologic sim --replay FILE``, and a file from an older
program is refused with a message naming what changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, StaleReproducerError
from hydrologic.sim import _repro

PROGRAM = textwrap.dedent(
    '''
    import hydrologic as hl
    from hydrologic import nondet


    class P: ...


    def build(flow):
        p = flow.process(P)
        inp, s = p.sim_input(int)
        out = s.batch(p.tick(), nondet("batch what arrived")).fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()
        return inp, out


    def buggy(flow):
        inp, out = build(flow)

        def scenario():
            inp.send_many([1, 2, 3, 4])
            assert 3 not in out.collect(), "a batch summed to 3"

        return scenario
    '''
)

TEST = textwrap.dedent(
    '''
    import hydrologic as hl
    from prog import build


    def test_sums(hl_sim):
        flow = hl.FlowBuilder()
        inp, out = build(flow)

        def scenario():
            inp.send_many([1, 2, 3, 4])
            assert 3 not in out.collect(), "a batch summed to 3"

        hl_sim(flow).exhaustive(scenario)
    '''
)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HYDROLOGIC_SIM_FAILURES", "PYTEST_CURRENT_TEST")}
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=180, env=_env())


PYTEST = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "always", "test_prog.py"]


def test_a_failure_is_saved_and_the_next_pytest_run_replays_it_first(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "test_prog.py").write_text(TEST)
    first = _run(PYTEST, tmp_path)
    assert first.returncode == 1, first.stdout
    files = list((tmp_path / "sim-failures").glob("*.json"))
    assert len(files) == 1, first.stdout
    data = json.loads(files[0].read_text())
    assert data["format"] == "hydrologic-sim-reproducer" and data["version"] == 1
    assert data["program"] == "test_prog.py::test_sums" and data["test"] == "test_prog.py::test_sums"
    assert data["scenario"] == "test_sums.<locals>.scenario"
    assert isinstance(data["decisions"], list) and data["token"].startswith("hl1.")
    assert "a batch summed to 3" in data["error"] and "releasing items" in data["trace"]
    assert f"reproducer file: {files[0]}" in first.stdout
    # the next plain run replays the stored file before exploring, and fails on it with its trace
    second = _run(PYTEST, tmp_path)
    assert second.returncode == 1
    assert "replayed from the reproducer" in second.stdout and "a batch summed to 3" in second.stdout
    assert "releasing items" in second.stdout
    # `hydrologic sim --replay FILE` of a file recorded under pytest re-runs its test with the file
    cli = _run(["-m", "hydrologic", "sim", "--replay", str(files[0])], tmp_path)
    assert cli.returncode == 1, cli.stderr
    assert "recorded by the test test_prog.py::test_sums" in cli.stdout
    assert "replayed from the reproducer" in cli.stdout
    # the program changes (one more operator): the file no longer applies; the run warns what
    # changed and explores, finding the bug again (a fresh file)
    (tmp_path / "prog.py").write_text(PROGRAM.replace(".fold(", ".map(lambda x: x).fold("))
    third = _run(PYTEST, tmp_path)
    assert third.returncode == 1
    assert "StaleReproducerWarning" in third.stdout and "no longer applies" in third.stdout
    assert "operators new in the program: `map` at" in third.stdout.replace("\n", " ")
    assert "replayed from the reproducer" not in third.stdout
    assert len(list((tmp_path / "sim-failures").glob("*.json"))) == 2
    # fixed: the stored files pass or no longer apply, the exploration passes, the test passes
    (tmp_path / "test_prog.py").write_text(TEST.replace("assert 3 not in", "assert 30 not in"))
    fixed = _run(PYTEST, tmp_path)
    assert fixed.returncode == 0, fixed.stdout


def test_cli_failures_are_saved_next_to_the_program_and_replayed_with_their_trace(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(PROGRAM)
    work = tmp_path / "elsewhere"
    work.mkdir()
    bad = _run(["-m", "hydrologic", "sim", "../prog.py:buggy", "--no-progress"], work)
    assert bad.returncode == 1
    files = list((tmp_path / "sim-failures").glob("*.json"))
    assert len(files) == 1 and f"Saved as a reproducer: {files[0]}" in bad.stderr
    rep = _repro.load(files[0])
    assert rep.program == f"{tmp_path / 'prog.py'}:buggy" and rep.test is None
    again = _run(["-m", "hydrologic", "sim", "--replay", str(files[0])], work)
    assert again.returncode == 1
    assert "replayed from the reproducer" in again.stderr and "releasing items" in again.stderr
    assert "a batch summed to 3" in again.stderr
    # a file from a newer layout, or not a reproducer at all: a message, exit 2, no traceback
    data = json.loads(files[0].read_text())
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**data, "version": 99}))
    r = _run(["-m", "hydrologic", "sim", "--replay", str(newer)], work)
    assert r.returncode == 2 and "format version 99" in r.stderr and "Traceback" not in r.stderr
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    r = _run(["-m", "hydrologic", "sim", "--replay", str(junk)], work)
    assert r.returncode == 2 and "not a readable reproducer" in r.stderr and "Traceback" not in r.stderr
    # the program changed: replaying the file names the change
    (tmp_path / "prog.py").write_text(PROGRAM.replace(".fold(", ".filter(lambda x: x > 0).fold("))
    r = _run(["-m", "hydrologic", "sim", "--replay", str(files[0])], work)
    assert r.returncode == 2 and "no longer applies" in r.stderr and "`filter` at" in r.stderr, r.stderr


class Q: ...


def _flow(values: list[int]) -> tuple[hl.FlowBuilder, object]:
    flow = hl.FlowBuilder()
    p = flow.process(Q)
    inp, s = p.sim_input(int)
    out = s.batch(p.tick(), nondet("batch")).fold(lambda: 0, lambda a, x: a + x).into_stream().all_ticks().sim_output()

    def scenario() -> None:
        inp.send_many(values)
        assert 6 not in out.collect(), "a batch summed to 6"

    return flow, scenario


def test_api_saves_to_the_configured_folder_and_replays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYDROLOGIC_SIM_FAILURES", str(tmp_path))
    flow, scenario = _flow([1, 2, 3, 4])
    sm = flow.sim()
    with pytest.raises(SimulationFailure) as info:
        sm.fuzz(scenario, iterations=500, seed=1)  # type: ignore[arg-type]
    saved = info.value.reproducer
    assert info.value.values, "releasing [1, 2, 3] together takes a decision"
    assert saved is not None and saved.parent == tmp_path and str(saved) in str(info.value)
    with pytest.raises(SimulationFailure, match="replayed from the reproducer"):
        sm.replay_reproducer(scenario, saved)  # type: ignore[arg-type]
    # the scenario changed (it sends less, so it makes fewer decisions): a stale file, not a crash
    flow2, scenario2 = _flow([5])
    with pytest.raises(StaleReproducerError, match="no longer applies"):
        flow2.sim().replay_reproducer(scenario2, saved)  # type: ignore[arg-type]
    # HYDROLOGIC_SIM_FAILURES=off: nothing is written
    monkeypatch.setenv("HYDROLOGIC_SIM_FAILURES", "off")
    flow3, scenario3 = _flow([1, 2, 3])
    with pytest.raises(SimulationFailure) as info3:
        flow3.sim().exhaustive(scenario3)  # type: ignore[arg-type]
    assert info3.value.reproducer is None
