"""docs/tutorial.md stays true: each step of the tutorial, run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic import nondet, proof
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


# ---- step 6: a service with no nondet (docs/tutorial/petitions.py) ------------------------------

PETITIONS_FILE = ROOT / "docs" / "tutorial" / "petitions.py"
PETITIONS = f"{PETITIONS_FILE}:build"


def _step6_blocks() -> list[str]:
    text = (ROOT / "docs" / "tutorial.md").read_text()
    section = text.split("## 6.", 1)[1].split("## Where next", 1)[0]
    return [textwrap.dedent(b.split("```", 1)[0]) for b in section.split("```python\n")[1:]]


def _step6_block(marker: str) -> str:
    found = [b for b in _step6_blocks() if marker in b]
    assert len(found) == 1, f"step 6 shows one block with {marker!r}"
    return found[0]


def _petitions_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("tutorial_petitions", PETITIONS_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hydrologic", *args], cwd=ROOT, capture_output=True, text=True, timeout=200)


def test_step6_the_functions_shown_are_the_programs_code() -> None:
    source = PETITIONS_FILE.read_text()
    shown = [b for b in _step6_blocks() if b.startswith("def ")]
    assert [b.split("(", 1)[0] for b in shown] == ["def petitions", "def build", "def scenario"]
    for block in shown:
        assert block in source, block.splitlines()[0]
    (port,) = [b for b in _step6_blocks() if b.startswith("sign = ")]
    assert f"    {port}" in source


def test_step6_the_program_has_no_nondet_site_and_promises_it() -> None:
    build, _ = load_program(PETITIONS)
    flow = hl.FlowBuilder()
    build(flow)
    flow.build()
    assert flow.nondet_sites() == []
    proc = _hl("check", "docs/tutorial/petitions.py:build", "--deny-nondet")  # mypy and pyright included
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "nondet sites (0)" in proc.stdout and "proof claims (2)" in proc.stdout
    assert "delivery=at_most_once (verified)" in proc.stdout


def test_step6_a_snapshot_breaks_the_promise_with_the_message_shown() -> None:
    import re

    from hydrologic.types.errors import NonDetError

    mod = _petitions_module()
    flow = hl.FlowBuilder()
    flow.require(no_nondet=True)
    server = flow.process(mod.Server)
    _, signed = server.sim_input(mod.Signature)
    signers = signed.weaken_ordering().weaken_retries().into_keyed().fold(
        frozenset, mod.add_signer, commutative=proof("union"), idempotent=proof("union")
    )
    namespace: dict[str, Any] = {"server": server, "signers": signers, "nondet": nondet}
    exec(compile(_step6_block("snapshot("), "petitions.py", "exec"), namespace)
    with pytest.raises(NonDetError) as info:
        flow.build()
    text = (ROOT / "docs" / "tutorial.md").read_text()
    shown = text.split("makes `build()` fail, naming the site:\n\n```\n", 1)[1].split("```", 1)[0].splitlines()
    actual = str(info.value).splitlines()
    for want, got in zip(shown, actual):
        assert re.fullmatch(re.escape(want).replace("LINE", r"\d+"), got), (want, got)
    assert len(shown) == 2 and info.value.code == "HL303"


def test_step6_counting_retried_signatures_is_rejected() -> None:
    from hydrologic.types.errors import GuaranteeError

    mod = _petitions_module()
    flow = hl.FlowBuilder()
    _, signed = flow.process(mod.Server).sim_input(mod.Signature)
    block = _step6_block("# HL102")
    assert "value_counts" in block
    with pytest.raises(GuaranteeError) as info:
        exec(compile(block, "petitions.py", "exec"), {"signatures": signed.weaken_ordering().weaken_retries()})
    assert info.value.code == "HL102"
    shown = block.split("# ", 1)[1].strip()  # the message the tutorial shows is the error's first line
    assert str(info.value).splitlines()[0].split(": ", 1)[1] == shown.split(": ", 1)[1]


def test_step6_in_process_retries_and_reordering_give_the_same_outputs() -> None:
    import itertools

    build, _ = load_program(PETITIONS)
    signatures = [["trees", "ann"], ["trees", "bo"], ["bikes", "bo"], ["trees", "ann"], ["trees", "cy"]]
    seen: set[tuple[tuple[str, ...], ...]] = set()
    for order in itertools.islice(itertools.permutations(signatures), 0, None, 7):
        flow = hl.FlowBuilder()
        build(flow)
        with flow.run_in_process() as run:
            run.external_send("ask", ["trees", "bikes", "trees"])
            run.external_send("sign", list(order))
            outputs = tuple(tuple(sorted(run.external_collect(port))) for port in ("receipts", "reached", "answers"))
        seen.add(outputs)
    assert seen == {(
        ("ann signed trees", "bo signed bikes", "bo signed trees", "cy signed trees"),
        ("trees",),
        ("trees reached 3 signatures",),
    )}


def test_step6_the_simulator_explores_one_execution() -> None:
    mod = _petitions_module()
    flow = hl.FlowBuilder()
    run = mod.scenario(flow)
    assert flow.sim().exhaustive(run) == 1
    proc = _hl("sim", "docs/tutorial/petitions.py:scenario")
    assert proc.returncode == 0 and "1 execution(s) passed" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_step6_the_simulator_catches_the_false_proof_shown() -> None:
    mod = _petitions_module()
    flow = hl.FlowBuilder()
    sign_in, signed = flow.process(mod.Server).sim_input(mod.Signature)
    namespace: dict[str, Any] = {"signatures": signed.weaken_ordering().weaken_retries(), "proof": proof}
    exec(compile(_step6_block("reduce("), "petitions.py", "exec"), namespace)
    firsts = namespace["firsts"].entries().sim_output()

    def scenario() -> None:
        sign_in.send_many([("trees", "ann"), ("trees", "bo")])
        firsts.collect()

    with pytest.raises(SimulationFailure) as info:
        flow.sim().exhaustive(scenario)
    text = str(info.value)
    assert text.startswith("HL610 at petitions.py:") and "`reduce` claims commutative=proof('the first signer is kept')" in text
    assert "depends on the order of its input" in text
    assert "[('trees', 'ann'), ('trees', 'bo')] gives {'trees': 'ann'}" in text
    assert "[('trees', 'bo'), ('trees', 'ann')] gives {'trees': 'bo'}" in text


def test_step6_the_hl_sim_test_passes_under_pytest(tmp_path: Path) -> None:
    import shutil

    shutil.copy(PETITIONS_FILE, tmp_path / "petitions.py")
    (tmp_path / "test_petitions.py").write_text(_step6_block("hl_sim"))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_petitions.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.timeout(90)
def test_step6_deployed_two_clients_and_a_retry_as_shown(capsys: pytest.CaptureFixture[str]) -> None:
    block = _step6_block("Localhost")
    exec(compile(block.replace('"docs/tutorial/petitions.py:build"', repr(PETITIONS)), "tutorial.md", "exec"), {"hl": hl})
    printed = capsys.readouterr().out.splitlines()
    promised = [line.split("# ", 1)[1] for line in block.splitlines() if line.strip().startswith("print(")]
    assert printed == promised


@pytest.mark.timeout(60)
def test_step6_hydrologic_run_prints_the_ports() -> None:
    proc = _hl("run", "docs/tutorial/petitions.py:build", "--duration", "0.5")
    assert proc.returncode == 0, proc.stderr
    for port in ("input 'sign'", "input 'ask'", "output 'receipts'", "output 'reached'", "output 'answers'"):
        assert f"[hydrologic] external {port}: json at 127.0.0.1:" in proc.stdout, proc.stdout


def _typed_threshold(flow: hl.FlowBuilder) -> tuple[Any, dict[str, Any]]:
    mod = _petitions_module()
    server = flow.process(mod.Server)
    sign_in, signed = server.sim_input(mod.Signature)
    signatures = signed.weaken_ordering().weaken_retries()
    namespace: dict[str, Any] = {"server": server, "signatures": signatures, "GOAL": mod.GOAL}
    exec(compile(_step6_block("threshold_greater_or_equal_uniform"), "tutorial.md", "exec"), namespace)
    return sign_in, namespace


def test_step6_the_typed_threshold_reaches_the_same_petitions_with_no_nondet() -> None:
    flow = hl.FlowBuilder()
    flow.require(no_nondet=True)
    sign_in, namespace = _typed_threshold(flow)
    reached_out = namespace["reached_typed"].sim_output()

    def run() -> None:
        sign_in.send_many([("trees", "ann"), ("bikes", "bo"), ("trees", "cy"), ("trees", "ann")])  # ann retried
        assert reached_out.collect() == []
        sign_in.send(("trees", "dee"))
        reached_out.assert_yields_only(["trees"])

    assert flow.sim().exhaustive(run) == 1


def test_step6_a_threshold_on_a_value_that_may_shrink_is_hl111() -> None:
    _, namespace = _typed_threshold(hl.FlowBuilder())
    goal = namespace["GOAL"]
    with pytest.raises(hl.GuaranteeError) as info:
        namespace["per_petition"].map(lambda n: goal - n).threshold_greater_or_equal_uniform(namespace["goal"])
    assert info.value.code == "HL111"
