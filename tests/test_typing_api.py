"""The type-level API infers what SPEC §3/§6 say it should, under both mypy and pyright.

``tests/programs/reveal_typing_api.py`` holds ``reveal_type(...)  # reveal: <type>`` lines; this
test type-checks that file once with each checker, reads the revealed types back, strips mypy's
module qualifiers, and compares them with the expected type written on each line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"
REVEAL_FILE = PROGRAMS / "reveal_typing_api.py"
REVEAL_RE = re.compile(r"^\s*reveal_type\(.*#\s*reveal:\s*(?P<type>.+?)\s*$")
_QUALIFIER = re.compile(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])")
_MYPY_NOTE = re.compile(r'^(?P<file>.+?):(?P<line>\d+): note: Revealed type is "(?P<type>.*)"$')
_MYPY_ERROR = re.compile(r"^(?P<file>.+?):(?P<line>\d+): error: (?P<msg>.*)$")
_PYRIGHT_TYPE = re.compile(r'^Type of ".*" is "(?P<type>.*)"$', re.S)


def _expected() -> dict[int, str]:
    out: dict[int, str] = {}
    for lineno, text in enumerate(REVEAL_FILE.read_text().splitlines(), start=1):
        m = REVEAL_RE.search(text)
        if m:
            out[lineno] = m.group("type")
    return out


EXPECTED = _expected()


def _case_id(line: int) -> str:
    """``line50:unordered.chain(unordered)``: the line and the revealed expression."""
    text = REVEAL_FILE.read_text().splitlines()[line - 1]
    expr = text.split("reveal_type(", 1)[1].rsplit("#", 1)[0].strip()[:-1]
    return f"line{line}:{expr[:60]}"


def normalize(type_str: str) -> str:
    """``hydrologic.lang.stream.Stream[builtins.int, mod.Leader]`` -> ``Stream[int, Leader]``."""
    return re.sub(r"\s+", " ", _QUALIFIER.sub("", type_str)).strip()


def _tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


class Revealed:
    def __init__(self) -> None:
        self.types: dict[int, str] = {}
        self.errors: list[str] = []


def _run_mypy(cache_dir: Path) -> Revealed:
    cmd = [
        sys.executable, "-m", "mypy", "--config-file", str(PROGRAMS / "mypy.ini"), "--cache-dir", str(cache_dir),
        "--no-error-summary", "--no-color-output", "--hide-error-context", "--no-pretty", str(REVEAL_FILE),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), f"mypy failed to run:\n{proc.stdout}\n{proc.stderr}"
    result = Revealed()
    for raw in proc.stdout.splitlines():
        if m := _MYPY_NOTE.match(raw):
            result.types[int(m.group("line"))] = normalize(m.group("type"))
        elif m := _MYPY_ERROR.match(raw):
            result.errors.append(f"line {m.group('line')}: {m.group('msg')}")
    return result


def _run_pyright() -> Revealed:
    cmd = [
        _tool("pyright"), "--outputjson", "--pythonpath", sys.executable,
        "-p", str(PROGRAMS / "pyrightconfig.basic.json"), str(REVEAL_FILE),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), f"pyright failed to run:\n{proc.stdout}\n{proc.stderr}"
    report: dict[str, Any] = json.loads(proc.stdout)
    result = Revealed()
    for d in report.get("generalDiagnostics", []):
        line = int(d["range"]["start"]["line"]) + 1
        if d.get("severity") == "information" and (m := _PYRIGHT_TYPE.match(d["message"])):
            result.types[line] = normalize(m.group("type"))
        elif d.get("severity") == "error":
            result.errors.append(f"line {line}: {d['message'].splitlines()[0]}")
    return result


@pytest.fixture(scope="module")
def revealed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Revealed]:
    return {"mypy": _run_mypy(tmp_path_factory.mktemp("mypy-reveal")), "pyright": _run_pyright()}


def test_normalize() -> None:
    assert (
        normalize("hydrologic.lang.stream.Stream[builtins.int, hydrologic.lang.location.Process[reveal.Leader]]")
        == "Stream[int, Process[Leader]]"
    )


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_reveal_file_is_clean(checker: str, revealed: dict[str, Revealed]) -> None:
    assert len(EXPECTED) >= 10
    assert not revealed[checker].errors, f"{checker} reported errors in {REVEAL_FILE.name}:\n" + "\n".join(
        revealed[checker].errors
    )


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
@pytest.mark.parametrize("line", sorted(EXPECTED), ids=_case_id)
def test_revealed_type(line: int, checker: str, revealed: dict[str, Revealed]) -> None:
    source = REVEAL_FILE.read_text().splitlines()[line - 1].strip()
    got = revealed[checker].types.get(line)
    assert got is not None, f"{checker} revealed nothing on line {line}: {source}"
    assert got == EXPECTED[line], f"{checker}, line {line}: {source}\n  expected {EXPECTED[line]}\n  revealed {got}"
