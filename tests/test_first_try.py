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


def _readme_program() -> tuple[str, str]:
    block = (ROOT / "README.md").read_text().split("```python\n", 1)[1].split("```", 1)[0]
    commented = "    # counts.entries().first()  -> mypy"
    assert commented in block
    return block, block.replace(commented, "    counts.entries().first()  # -> mypy")


def test_the_readmes_first_program_builds_and_its_commented_line_is_rejected_as_it_says(tmp_path: Path) -> None:
    import re

    from hydrologic.types.errors import GuaranteeError

    ok, bad = _readme_program()
    for name, text in (("readme_ok", ok), ("readme_bad", bad)):
        (tmp_path / f"{name}.py").write_text(text)
    namespace: dict[str, Any] = {}
    exec(compile(ok, str(tmp_path / "readme_ok.py"), "exec"), namespace)
    flow = hl.FlowBuilder()
    namespace["build"](flow)
    flow.build()
    assert [s.op for s in flow.nondet_sites()] == ["round_robin"]
    namespace = {}
    exec(compile(bad, str(tmp_path / "readme_bad.py"), "exec"), namespace)
    with pytest.raises(GuaranteeError) as info:
        namespace["build"](hl.FlowBuilder())
    shown = ok.split("#   ", 1)[1].splitlines()[0]  # "HL101: `first` needs a totally ordered input, but this stream is NoOrder"
    assert str(info.value).startswith(shown.split(":", 1)[0]) and shown.split(": ", 1)[1] in str(info.value)
    checkers = {
        "mypy": [sys.executable, "-m", "mypy", "--strict", "readme_ok.py", "readme_bad.py"],
        "pyright": [sys.executable, "-m", "pyright", "readme_ok.py", "readme_bad.py"],
    }
    for name, argv in checkers.items():
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        flagged = set(re.findall(r"(readme_\w+\.py):\d+(?::\d+)?:? -? ?error", proc.stdout))
        assert proc.returncode == 1 and flagged == {"readme_bad.py"}, (name, proc.stdout)


def _shown_commands() -> list[tuple[str, str]]:
    """Every command line in a bash block of README.md, docs/ and examples/README.md."""
    import re

    found: list[tuple[str, str]] = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "examples" / "README.md"]:
        for block in re.findall(r"```bash\n(.*?)```", doc.read_text(), re.S):
            for line in block.splitlines():
                command = line.split("  #", 1)[0].strip()
                if command and not command.startswith("#"):
                    found.append((doc.name, command))
    return found


def test_every_program_and_script_the_docs_run_exists_and_builds_with_the_sizes_shown() -> None:
    import re
    import shlex

    from hydrologic.lang.program import load_program

    placeholders = {"prog.py", "service.py", "path/to/prog.py", "test_balance.py"}  # the reader's own files
    checked = 0
    for doc, line in _shown_commands():
        for command in re.split(r"&&|;", line):
            argv = shlex.split(command)
            if argv[:1] == ["python"] and argv[1:2] and argv[1].endswith(".py"):
                assert (ROOT / argv[1]).is_file(), (doc, command)
                checked += 1
            tool = argv[3:] if argv[:3] == ["python", "-m", "hydrologic"] else argv[1:] if argv[:1] == ["hydrologic"] else None
            if not tool or tool[0] not in ("run", "check", "sim", "graph") or len(tool) < 2:
                continue
            path = tool[1].split(":", 1)[0]
            if path in placeholders or ":" not in tool[1]:
                continue
            function, _ = load_program(str(ROOT / path) + ":" + tool[1].split(":", 1)[1])
            sizes = dict(tool[i + 1].split("=") for i, a in enumerate(tool) if a == "--cluster")
            flow = hl.FlowBuilder()
            made = function(flow)
            if tool[0] == "sim":
                assert callable(made), (doc, command)
                continue
            graph = flow.build()
            clusters = {loc.name for loc in graph.locations if loc.is_cluster}
            assert set(sizes) <= clusters, (doc, command, clusters)
            checked += 1
    assert checked >= 20


def test_the_extras_the_docs_install_exist() -> None:
    import re
    import tomllib

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = {m for _, line in _shown_commands() for m in re.findall(r"pip install -e '\.\[(\w+)\]'", line)}
    assert named and named <= extras, (named, extras)


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


@pytest.mark.parametrize("when", ["after the handshake", "during the handshake"])
def test_a_connection_reset_by_the_peer_is_retrieved_not_left_for_the_garbage_collector(
    when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cause of "Future exception was never retrieved ... ConnectionResetError" at exit: a
    # stream whose peer reset it keeps the error in its closed-future; unless someone awaits
    # the close, whether it is reported depends on which of the two objects the garbage
    # collector finalizes first. So check the cause directly: every such future was retrieved.
    import asyncio
    import socket
    import struct

    from hydrologic.net import channel
    from hydrologic.net.auth import server_handshake

    secret = b"s" * 32
    writers: list[asyncio.StreamWriter] = []
    real_open = asyncio.open_connection

    async def recording_open(*args: Any, **kwargs: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await real_open(*args, **kwargs)
        writers.append(writer)
        return reader, writer

    monkeypatch.setattr(asyncio, "open_connection", recording_open)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if when == "after the handshake":
            await server_handshake(reader, writer, secret)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # close with a TCP reset

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        link = channel.OutLink("Peer/0", server.sockets[0].getsockname()[:2], secret, {"loc": 0})
        link.quiet = True
        await link.connect(attempts=1)
        for _ in range(100):  # write until the reset is seen
            if not link.up:
                break
            link.send(b"x" * 100)
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        await link.close()
        server.close()
        await server.wait_closed()

    asyncio.run(main())
    assert writers, "the link opened no connection"
    for writer in writers:
        closed = writer._protocol._closed  # type: ignore[attr-defined]  # pyright: ignore
        assert closed.done(), when
        reset = not closed.cancelled() and closed._exception is not None  # pyright: ignore
        assert reset, f"{when}: the peer's reset was not seen"
        assert closed._log_traceback is False, f"{when}: the ConnectionResetError was left unretrieved"  # pyright: ignore
