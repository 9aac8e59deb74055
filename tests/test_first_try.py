"""A newcomer's first try: errors that say what is wrong and where, tools that behave in a pipe."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic.types.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def _hl(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hydrologic", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", ["run", "check", "sim", "graph"])
def test_a_missing_program_file_says_where_it_was_looked_for(tmp_path: Path, command: str) -> None:
    proc = _hl([command, "nope.py:build"], tmp_path)
    assert proc.returncode != 0
    assert "<unknown>" not in proc.stderr
    assert "'nope.py' does not exist" in proc.stderr
    assert f"looked for {tmp_path / 'nope.py'}" in proc.stderr
    assert "documented type" not in proc.stderr


def test_a_missing_function_is_named_with_the_file_and_the_functions_it_has(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text("def make(flow):\n    pass\n")
    proc = _hl(["run", "prog.py:build"], tmp_path)
    assert proc.returncode == 1
    assert "<unknown>" not in proc.stderr
    assert "HL501 at prog.py:" in proc.stderr
    assert f"{tmp_path / 'prog.py'} has no function 'build'" in proc.stderr
    assert "its functions are: make" in proc.stderr
    assert "def build(flow: hl.FlowBuilder) -> None" in proc.stderr


def test_localhost_start_of_a_missing_file_points_at_the_callers_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError) as info:
        hl.deploy.Localhost().start("nope.py:build")
    text = str(info.value)
    assert "<unknown>" not in text
    assert info.value.site.file == __file__
    assert f"HL501 at {info.value.site}" in text and f"looked for {tmp_path / 'nope.py'}" in text


def test_a_wrong_argument_type_names_the_expected_type() -> None:
    flow = hl.FlowBuilder()

    class P: ...

    with pytest.raises(UsageError) as info:
        flow.process(P).source_iter([1]).map("str.upper")  # type: ignore[arg-type]  # pyright: ignore
    text = str(info.value)
    assert "expects a function" in text and "got str" in text
    assert info.value.site.file == __file__ and "<unknown>" not in text
    assert "documented type" not in text


def test_std_quorum_is_the_module_and_the_function_is_reached_quorum() -> None:
    import warnings
    from types import ModuleType

    import hydrologic.std
    import hydrologic.std.quorum as quorum_module
    from hydrologic.std import reached_quorum

    assert isinstance(hydrologic.std.quorum, ModuleType)
    assert hydrologic.std.quorum is sys.modules["hydrologic.std.quorum"] is quorum_module
    assert hydrologic.std.reached_quorum is reached_quorum is quorum_module.reached_quorum

    class Leader: ...

    flow = hl.FlowBuilder()
    inp, votes = flow.process(Leader).sim_input(tuple[str, int])
    keyed = votes.weaken_ordering().into_keyed()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old_style: Any = hydrologic.std.quorum  # `from hydrologic.std import quorum; quorum(r, n)` still runs
        out = old_style(keyed, 2).sim_output()
    assert [w.category for w in caught] == [DeprecationWarning] and "reached_quorum" in str(caught[0].message)
    with flow.run_in_process():
        inp.send_many([("a", 1), ("a", 2)])
        assert out.collect() == ["a"]


def test_every_std_submodule_is_the_module_both_by_import_and_by_attribute() -> None:
    import importlib
    import pkgutil
    from types import ModuleType

    import hydrologic.std

    names = [m.name for m in pkgutil.iter_modules(hydrologic.std.__path__)]
    assert {"kv", "paxos", "quorum", "request_response", "two_phase_commit"} <= set(names)
    for name in names:
        imported = importlib.import_module(f"hydrologic.std.{name}")
        attribute = getattr(hydrologic.std, name)
        assert isinstance(attribute, ModuleType), (name, attribute)
        assert attribute is imported is sys.modules[f"hydrologic.std.{name}"], name
    import hydrologic.std.paxos as paxos_module
    import hydrologic.std.two_phase_commit as tpc_module

    assert hydrologic.std.multi_paxos is paxos_module.paxos
    assert hydrologic.std.commit_transactions is tpc_module.two_phase_commit
    assert hydrologic.std.reached_quorum is hydrologic.std.quorum.reached_quorum


def test_calling_the_paxos_or_2pc_module_still_runs_the_function_and_warns() -> None:
    import warnings

    import hydrologic.std
    from hydrologic import nondet
    from hydrologic.std.two_phase_commit import stateless_votes

    class Coordinator: ...

    class Parts: ...

    flow = hl.FlowBuilder()
    coord, parts = flow.process(Coordinator), flow.cluster(Parts)
    inp, txns = coord.sim_input(tuple[int, str])
    old_style: Any = hydrologic.std.two_phase_commit  # `from hydrologic.std import two_phase_commit` ran the function
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tpc = old_style(coord, parts, txns, stateless_votes(lambda m, t, x: True), nondet("static membership"))
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "hydrologic.std.two_phase_commit.two_phase_commit" in str(caught[0].message)
    assert caught[0].filename == __file__
    out = tpc.outcomes.sim_output()
    with flow.run_in_process(cluster_sizes={Parts: 2}):
        inp.send_many([(1, "t")])
        assert out.collect() == [(1, True)]
    paxos_any: Any = hydrologic.std.paxos
    with warnings.catch_warnings(record=True) as caught, pytest.raises(TypeError):
        warnings.simplefilter("always")
        paxos_any()  # the function's own error for missing arguments: the call reached it
    assert "hydrologic.std.multi_paxos" in str(caught[0].message)


@pytest.mark.parametrize(
    "command", ["explain HL101", "explain --markdown", "check examples/wordcount.py:build", "graph examples/wordcount.py:build"]
)
def test_cli_output_piped_to_head_prints_no_traceback(command: str) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m hydrologic {command} | head -1", shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.stdout.strip(), proc.stderr
    assert proc.stderr == "", proc.stderr


def test_the_launchers_lines_share_one_prefix_and_match_the_readme(tmp_path: Path) -> None:
    import re

    proc = _hl(["run", str(ROOT / "examples" / "redis_store.py") + ":build", "--duration", "0.3"], ROOT)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines and all(re.match(r"\[(hydrologic|[A-Za-z_]+(/\d+)?)\] ", line) for line in lines), lines
    own = [line for line in lines if line.startswith("[hydrologic] ")]
    assert any("running" in line for line in own) and any("external bidi" in line for line in own)
    # the sample output the README shows for this command is what the launcher prints
    sample = re.search(r"examples/redis_store.py:build\s+# prints: (.+)", (ROOT / "README.md").read_text())
    assert sample is not None
    pattern = re.escape(sample.group(1).strip()).replace("PORT", r"\d+")
    assert any(re.fullmatch(pattern, line) for line in lines), (sample.group(1), lines)
    failed = _hl(["run", "nope.py:build"], tmp_path)
    assert failed.stderr.startswith("[hydrologic] HL501"), failed.stderr


@pytest.mark.timeout(240)
def test_paxos_log_demo_shuts_down_without_unretrieved_future_exceptions() -> None:
    # Connections reset by a peer (a client exiting with unread output, the killed proposer) left
    # a ConnectionResetError in an un-awaited stream future, reported at exit in some runs only.
    runs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "paxos_log.py")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(4)
    ]
    for proc in runs:
        out, err = proc.communicate(timeout=200)
        assert proc.returncode == 0, out + err
        for text in (out, err):
            assert "never retrieved" not in text and "Traceback" not in text, text
