"""docs/agents.md's checklist works as written: its program type-checks, and each command it
lists succeeds on it; its five common errors carry the catalogue's fixes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from hydrologic.types.codes import CODES

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "agents.md").read_text()
CHECKLIST = TEXT.split("## From a spec to a deployed service: a checklist", 1)[1].split("\n## ", 1)[0]


def _block(lang: str) -> str:
    return CHECKLIST.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


@pytest.mark.timeout(240)
def test_every_command_of_the_checklist_succeeds_on_its_program(tmp_path: Path) -> None:
    (tmp_path / "service.py").write_text(_block("python"))
    bindir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    commands = [c for line in _block("bash").splitlines() for c in line.split("&&") if c.strip()]
    assert any(c.split()[:2] == ["hydrologic", "sim"] for c in commands)
    assert any(c.split()[:2] == ["hydrologic", "run"] for c in commands)
    for command in commands:
        argv = shlex.split(command)
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=200)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        if argv[:2] == ["hydrologic", "run"]:
            assert "[hydrologic] external input 'increment'" in proc.stdout


def test_the_five_common_errors_carry_the_catalogues_fixes() -> None:
    section = CHECKLIST.split("### The five errors you will meet first", 1)[1]
    rows = [r for r in section.splitlines() if re.match(r"\| HL\d{3} \|", r)]
    assert len(rows) == 5
    for row in rows:
        code, title, _wrote, fix = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert CODES[code].title == title and CODES[code].fix == fix, code
