"""`hydrologic check`: the report shows guarantees, nondet sites, proofs and coded errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hydrologic.cli.check import SCHEMA, check_program

ROOT = Path(__file__).resolve().parents[1]

BAD = '''
import hydrologic as hl
from hydrologic import nondet


class P: ...


def build(flow: hl.FlowBuilder) -> None:
    p = flow.process(P)
    a = p.source_iter([(1, "x")])
    b = p.source_iter([(1, "y")])
    a.join(b).first()
'''


def test_report_for_the_wordcount_example() -> None:
    r = check_program(str(ROOT / "examples" / "wordcount.py") + ":build", static=False)
    data = r.to_json()
    assert data["schema"] == SCHEMA and data["ok"] is True
    names = [loc["name"] for loc in data["locations"]]
    assert names == ["Process[Leader]", "Cluster[Workers]", "External[Client]"]
    leader = data["locations"][0]
    words = next(p for p in leader["inputs"] if p.get("name") == "words")
    assert (words["bound"], words["order"], words["retries"]) == ("Unbounded", "TotalOrder", "ExactlyOnce")
    rr = next(p for p in leader["outputs"] if p.get("mode") == "round_robin")
    assert rr["to"] == "Cluster[Workers]"
    assert [s["op"] for s in data["nondet_sites"]] == ["round_robin", "snapshot"]
    assert {p["property"] for p in data["proofs"]} == {"commutative"}


def test_errors_have_codes_and_exit_status(tmp_path: Path) -> None:
    prog = tmp_path / "bad.py"
    prog.write_text(BAD)
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--json"], capture_output=True, text=True
    )
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    by_source = {e["source"]: e for e in data["errors"]}
    assert by_source["build"]["code"] == "HL101"
    assert by_source["build"]["site"].endswith("bad.py:13")
    assert "join" in by_source["build"]["origin"]
    # mypy and pyright (installed with the dev extra) see the same misuse at the same line
    for checker in ("mypy", "pyright"):
        assert checker in data["static_checkers"]
        assert by_source[checker]["site"].endswith("bad.py:13"), data["errors"]


def test_deny_nondet(tmp_path: Path) -> None:
    prog = tmp_path / "nd.py"
    prog.write_text(
        "import hydrologic as hl\nfrom hydrologic import nondet\nclass P: ...\n"
        "def build(flow: hl.FlowBuilder) -> None:\n"
        "    p = flow.process(P)\n"
        "    p.source_iter([1]).batch(p.tick(), nondet('any batch')).count()\n"
    )
    ok = subprocess.run([sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--no-static"], capture_output=True, text=True)
    assert ok.returncode == 0 and "any batch" in ok.stdout
    denied = subprocess.run(
        [sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--no-static", "--deny-nondet"],
        capture_output=True,
        text=True,
    )
    assert denied.returncode == 1 and "HL303" in denied.stdout


def test_unloadable_program_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "check", f"{tmp_path}/missing.py:build"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "does not exist" in proc.stderr


def test_forwarded_nondet_reasons_are_shown(tmp_path: Path) -> None:
    prog = tmp_path / "fwd.py"
    prog.write_text(
        "import hydrologic as hl\nfrom hydrologic import nondet\nclass P: ...\n"
        "def build(flow: hl.FlowBuilder) -> None:\n"
        "    p = flow.process(P)\n"
        "    outer = nondet('the caller accepts any batching')\n"
        "    p.source_iter([1]).batch(p.tick(), nondet('sums are per batch', outer)).count()\n"
    )
    out = subprocess.run([sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--no-static"], capture_output=True, text=True)
    assert "'sums are per batch' <- 'the caller accepts any batching'" in out.stdout


def test_a_missing_static_checker_is_an_error_with_the_install_command_not_a_silent_skip(tmp_path: Path) -> None:
    import os

    prog = tmp_path / "ok.py"
    prog.write_text("import hydrologic as hl\n\nclass P: ...\n\ndef build(flow: hl.FlowBuilder) -> None:\n    flow.process(P).source_iter([1]).sim_output()\n")
    # a PATH without pyright's launcher, as on a machine where only mypy is installed
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    missing = subprocess.run(
        [sys.executable, "-m", "hydrologic", "check", f"{prog}:build"], capture_output=True, text=True, env=env, timeout=300
    )
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "pyright is not installed" in missing.stderr and "pip install pyright" in missing.stderr
    assert "--skip pyright" in missing.stderr
    skipped = subprocess.run(
        [sys.executable, "-m", "hydrologic", "check", f"{prog}:build", "--skip", "pyright"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "static checkers run: mypy" in skipped.stdout


def test_ports_show_element_types_in_aligned_columns_in_declaration_order() -> None:
    from hydrologic.cli.check import render_text

    r = check_program(str(ROOT / "examples" / "wordcount.py") + ":build", static=False)
    leader = r.locations[0]
    words = next(p for p in leader["inputs"] if p.get("name") == "words")
    assert words["element"] == "str"
    assert words["typed"] == "Stream[str, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]"
    received = next(p for p in leader["inputs"] if p["op"] == "network")
    assert received["typed"].startswith("KeyedStream[MemberId[Workers], ")
    for loc in r.locations:
        for ports in (loc["inputs"], loc["outputs"]):
            lines = [int(p["site"].rsplit(":", 1)[1]) for p in ports]
            assert lines == sorted(lines), (loc["name"], ports)  # the order the program declared them
    text = render_text(r)
    rows = [line for line in text.splitlines() if line.startswith(("  input ", "  output "))]
    assert len(rows) >= 6
    type_columns = {row.index(next(w for w in row.split() if w.startswith(("Stream[", "KeyedStream[")))) for row in rows}
    site_columns = {row.index("examples/wordcount.py:") for row in rows}
    assert len(type_columns) == 1 and len(site_columns) == 1, "\n".join(rows)
