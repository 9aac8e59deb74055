"""The error catalogue: every code is explained, documented, and its examples really behave."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hydrologic as hl
from hydrologic.cli.explain import catalogue_markdown, explain
from hydrologic.types.code_examples import EXAMPLES, PRELUDE
from hydrologic.types.codes import CODES

ROOT = Path(__file__).resolve().parents[1]


def test_docs_errors_md_is_generated_from_the_catalogue() -> None:
    on_disk = (ROOT / "docs" / "errors.md").read_text()
    assert on_disk == catalogue_markdown(), "regenerate with: python -m hydrologic explain --markdown > docs/errors.md"


def test_every_code_has_an_example() -> None:
    assert set(EXAMPLES) == set(CODES)


def _load(src: str) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(PRELUDE + src, "<example>", "exec"), ns)
    return ns["build"]


def _build_and_run(src: str, run: bool, simulate: bool = False) -> None:
    flow = hl.FlowBuilder()
    _load(src)(flow)
    graph = flow.build()
    if simulate:
        flow.sim(cluster_sizes={loc.name: 2 for loc in graph.locations if loc.is_cluster}).exhaustive(lambda: None)
    if run:
        with flow.run_in_process() as r:
            r.run_until_idle()


@pytest.mark.parametrize("code", list(CODES))
def test_bad_example_fails_with_its_code(code: str) -> None:
    ex = EXAMPLES[code]
    if ex.sim:
        from hydrologic.sim import FalseClaimError, SimulationFailure

        # a false proof claim (HL610) is raised as such; a false consistency claim (HL612) is the
        # failure of the execution that settled with the members disagreeing
        with pytest.raises(SimulationFailure) as sinfo:
            _build_and_run(ex.bad, False, simulate=True)
        err: Any = sinfo.value if isinstance(sinfo.value, FalseClaimError) else sinfo.value.original
        assert err.code == code and str(err).startswith(code)
        return
    if ex.run:
        # HL601 (a user function raised) and HL611 (a Monotonic value went down) are run-time errors
        with pytest.raises(hl.HydroRuntimeError) as rinfo:
            _build_and_run(ex.bad, True)
        assert getattr(rinfo.value, "code", None) == code, str(rinfo.value)
        return
    with pytest.raises(hl.BuildError) as info:
        _build_and_run(ex.bad, False)
    assert info.value.code == code, str(info.value)


@pytest.mark.parametrize("code", list(CODES))
def test_good_example_builds(code: str) -> None:
    ex = EXAMPLES[code]
    _build_and_run(ex.good, ex.run, simulate=ex.sim)


def test_explain_text_has_rule_example_and_fix() -> None:
    text = explain("hl101")
    assert text.startswith("HL101: ")
    assert "Why this rule exists" in text and "The fix:" in text and "def build(flow):" in text


def test_explain_command_line() -> None:
    ok = subprocess.run([sys.executable, "-m", "hydrologic", "explain", "HL402"], capture_output=True, text=True)
    assert ok.returncode == 0 and "HL402" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "hydrologic", "explain", "HL999"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown error code" in bad.stderr
