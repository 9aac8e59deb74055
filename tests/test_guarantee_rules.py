"""Every guarantee rule is enforced twice, with the same verdict (SPEC §3).

``tests/programs/`` holds one pair of tiny programs per rule:

* ``fail_<rule>.py`` breaks the rule on exactly one line, marked ``# expect: HLnnn`` (the
  build-time code). mypy (default and ``--strict``) and pyright (default and strict) must each
  report an error on that line and on no other line of the file, and building it must raise a
  ``hydrologic.BuildError`` with that code, whose site is that file and line, and whose message
  names the code and gives ``needed:``/``present:`` (for guarantee/location rules) and ``fix:``.
* ``pass_<rule>.py`` is the minimal fix the error message suggests: clean under all four checker
  runs, and it builds.
* ``fail_buildonly_<rule>.py`` programs break a rule no type can express (an empty reason, a
  never-completed cycle, two processes with the same tag, ...): the static checkers must stay
  silent and only the builder rejects them. When the marker says ``# expect: HLnnn static`` the
  checkers do catch it (e.g. a ``str`` where a ``NonDet`` is expected) and must flag that line.

The four checker runs happen once per session (concurrently) over all program files.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

import hydrologic as hl

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = Path(__file__).resolve().parent / "programs"
MIN_RULES = 28

EXPECT_RE = re.compile(r"#\s*expect:\s*(HL\d{3})(\s+static)?\s*$")
# Rules about the guarantees carried in a collection's type (order, retries, boundedness, tick
# level) and about its location parameter: their messages must say what was needed and what the
# input had (SPEC §3).
NEEDED_PRESENT_CODES = {f"HL10{i}" for i in range(1, 9)} | {"HL201", "HL202"}
CHECKER_TIMEOUT = 300


# ---- the programs -----------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    path: Path
    kind: str  # "fail" or "pass"
    rule: str  # file stem without the fail_/pass_ prefix
    code: str | None = None  # expected BuildError code (fail programs)
    line: int | None = None  # the marked line (fail programs)
    static_expected: bool = False  # must the static checkers flag the marked line?
    problems: tuple[str, ...] = field(default=())  # malformed-program diagnostics

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def buildonly(self) -> bool:
        return self.rule.startswith("buildonly_")


def _load_program(path: Path) -> Program:
    kind, _, rule = path.stem.partition("_")
    marks: list[tuple[int, str, bool]] = []
    for lineno, text in enumerate(path.read_text().splitlines(), start=1):
        m = EXPECT_RE.search(text)
        if m:
            marks.append((lineno, m.group(1), m.group(2) is not None))
        elif "# expect" in text:
            marks.append((lineno, "?", False))
    problems: list[str] = []
    if kind == "pass":
        if marks:
            problems.append(f"pass program has `# expect:` markers on lines {[l for l, _, _ in marks]}")
        return Program(path, kind, rule, problems=tuple(problems))
    if len(marks) != 1 or marks[0][1] == "?":
        problems.append(f"fail program needs exactly one well-formed `# expect: HLnnn` marker, found {marks}")
        return Program(path, kind, rule, problems=tuple(problems))
    line, code, static_flag = marks[0]
    buildonly = rule.startswith("buildonly_")
    if static_flag and not buildonly:
        problems.append("the `static` flag only makes sense on fail_buildonly_ programs")
    return Program(path, kind, rule, code, line, static_expected=(not buildonly) or static_flag, problems=tuple(problems))


def _discover() -> list[Program]:
    paths = sorted(p for p in PROGRAMS.glob("*.py") if p.name.startswith(("fail_", "pass_")))
    return [_load_program(p) for p in paths]


ALL_PROGRAMS = _discover()
FAIL_PROGRAMS = [p for p in ALL_PROGRAMS if p.kind == "fail"]
PASS_PROGRAMS = [p for p in ALL_PROGRAMS if p.kind == "pass"]


# ---- the four checker runs --------------------------------------------------------------


@dataclass
class CheckerRun:
    name: str
    command: list[str]
    returncode: int
    output: str
    errors: dict[Path, list[tuple[int, str]]]  # resolved file -> [(line, message)]

    def errors_in(self, path: Path) -> list[tuple[int, str]]:
        return sorted(self.errors.get(path.resolve(), []))


_MYPY_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): error: (?P<msg>.*)$")


def _parse_mypy(output: str) -> dict[Path, list[tuple[int, str]]]:
    errors: dict[Path, list[tuple[int, str]]] = {}
    for raw in output.splitlines():
        m = _MYPY_LINE.match(raw)
        if m:
            f = (REPO / m.group("file")).resolve()
            errors.setdefault(f, []).append((int(m.group("line")), m.group("msg")))
    return errors


def _parse_pyright(output: str) -> dict[Path, list[tuple[int, str]]]:
    report: dict[str, Any] = json.loads(output)
    errors: dict[Path, list[tuple[int, str]]] = {}
    for d in report.get("generalDiagnostics", []):
        if d.get("severity") != "error":
            continue
        f = Path(d["file"]).resolve()
        line = int(d["range"]["start"]["line"]) + 1
        msg = d["message"].splitlines()[0] + (f" ({d['rule']})" if d.get("rule") else "")
        errors.setdefault(f, []).append((line, msg))
    return errors


def _run(name: str, command: list[str], parse: Callable[[str], dict[Path, list[tuple[int, str]]]], ok: set[int]) -> CheckerRun:
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=CHECKER_TIMEOUT)
    if proc.returncode not in ok:
        raise RuntimeError(
            f"{name} did not run cleanly (exit {proc.returncode}): {' '.join(command)}\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    return CheckerRun(name, command, proc.returncode, proc.stdout, parse(proc.stdout))


def _tool(name: str) -> str:
    """The checker installed next to this interpreter (the venv's), else the one on PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def run_checkers(files: list[Path], cache_root: Path) -> dict[str, CheckerRun]:
    """Run mypy (default, --strict) and pyright (default, strict) once each, concurrently."""
    rel = [str(p.relative_to(REPO)) for p in files]
    mypy_base = [
        sys.executable, "-m", "mypy",
        "--config-file", str(PROGRAMS / "mypy.ini"),
        "--no-error-summary", "--no-color-output", "--hide-error-context", "--no-pretty",
    ]  # fmt: skip
    pyright_base = [_tool("pyright"), "--outputjson", "--pythonpath", sys.executable]
    jobs: dict[str, tuple[list[str], Callable[[str], dict[Path, list[tuple[int, str]]]], set[int]]] = {
        "mypy": (mypy_base + ["--cache-dir", str(cache_root / "mypy-default")] + rel, _parse_mypy, {0, 1}),
        "mypy --strict": (mypy_base + ["--strict", "--cache-dir", str(cache_root / "mypy-strict")] + rel, _parse_mypy, {0, 1}),
        "pyright": (pyright_base + ["-p", str(PROGRAMS / "pyrightconfig.basic.json")] + rel, _parse_pyright, {0, 1}),
        "pyright strict": (pyright_base + ["-p", str(PROGRAMS / "pyrightconfig.strict.json")] + rel, _parse_pyright, {0, 1}),
    }
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {name: pool.submit(_run, name, cmd, parse, ok) for name, (cmd, parse, ok) in jobs.items()}
        return {name: fut.result() for name, fut in futures.items()}


CHECKERS = ["mypy", "mypy --strict", "pyright", "pyright strict"]


@pytest.fixture(scope="session")
def checker_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CheckerRun]:
    return run_checkers([p.path for p in ALL_PROGRAMS], tmp_path_factory.mktemp("checkers"))


# ---- the suite itself -------------------------------------------------------------------


def test_program_inventory() -> None:
    """Well-formed markers, a passing twin for every failing program, and enough rules."""
    problems = [f"{p.name}: {msg}" for p in ALL_PROGRAMS for msg in p.problems]
    fails = {p.rule for p in FAIL_PROGRAMS}
    passes = {p.rule for p in PASS_PROGRAMS}
    problems += [f"fail_{r}.py has no passing twin pass_{r}.py" for r in sorted(fails - passes)]
    problems += [f"pass_{r}.py has no failing twin fail_{r}.py" for r in sorted(passes - fails)]
    for p in ALL_PROGRAMS:
        if "def build(flow: hl.FlowBuilder) -> None:" not in p.path.read_text():
            problems.append(f"{p.name}: must define `def build(flow: hl.FlowBuilder) -> None:`")
    assert not problems, "\n".join(problems)
    assert len(fails & passes) >= MIN_RULES, f"only {len(fails & passes)} rules covered, want >= {MIN_RULES}"


def _fmt(errors: list[tuple[int, str]]) -> str:
    return "\n".join(f"    line {line}: {msg}" for line, msg in errors) or "    (none)"


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("prog", FAIL_PROGRAMS, ids=lambda p: p.name)
def test_static_fail(prog: Program, checker: str, checker_runs: dict[str, CheckerRun]) -> None:
    """The checker flags exactly the marked line (or, for build-only rules, nothing)."""
    assert not prog.problems, prog.problems
    errors = checker_runs[checker].errors_in(prog.path)
    lines = {line for line, _ in errors}
    if prog.static_expected:
        assert lines == {prog.line}, (
            f"{checker}: {prog.name} should have errors on line {prog.line} only "
            f"(the `# expect: {prog.code}` line); it reported:\n{_fmt(errors)}"
        )
    else:
        assert not errors, (
            f"{checker}: {prog.name} breaks a build-only rule ({prog.code}) that no type expresses; "
            f"the checker should be silent but reported:\n{_fmt(errors)}"
        )


@pytest.mark.parametrize("checker", CHECKERS)
@pytest.mark.parametrize("prog", PASS_PROGRAMS, ids=lambda p: p.name)
def test_static_pass(prog: Program, checker: str, checker_runs: dict[str, CheckerRun]) -> None:
    """The fixed program is clean under the checker."""
    errors = checker_runs[checker].errors_in(prog.path)
    assert not errors, f"{checker}: {prog.name} should be clean; it reported:\n{_fmt(errors)}"


# ---- build time -------------------------------------------------------------------------


@pytest.fixture
def load_module() -> Iterator[Callable[[Path], ModuleType]]:
    loaded: list[str] = []

    def load(path: Path) -> ModuleType:
        name = f"_hl_program_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loaded.append(name)
        spec.loader.exec_module(module)
        return module

    yield load
    for name in loaded:
        sys.modules.pop(name, None)


def _build(module: ModuleType, name: str) -> hl.FlowBuilder:
    flow = hl.FlowBuilder(name)
    module.build(flow)
    flow.build()
    return flow


@pytest.mark.parametrize("prog", FAIL_PROGRAMS, ids=lambda p: p.name)
def test_build_fail(prog: Program, load_module: Callable[[Path], ModuleType]) -> None:
    """Building raises the expected BuildError at the user's line, with a useful message."""
    assert not prog.problems, prog.problems
    module = load_module(prog.path)
    try:
        _build(module, prog.rule)
    except hl.BuildError as e:
        err = e
    except Exception as e:  # noqa: BLE001 - any other exception is the failure being reported
        pytest.fail(
            f"{prog.name}: expected BuildError {prog.code} at line {prog.line}, "
            f"but building raised {type(e).__name__}: {e}"
        )
    else:
        pytest.fail(f"{prog.name}: expected BuildError {prog.code} at line {prog.line}, but it built")

    text = str(err)
    assert err.code == prog.code, f"{prog.name}: expected {prog.code}, got {err.code}:\n{text}"
    assert err.site is not None, f"{prog.name}: the error has no site:\n{text}"
    assert os.path.realpath(err.site.file) == os.path.realpath(prog.path), (
        f"{prog.name}: error site is {err.site.file}:{err.site.line}, not this program:\n{text}"
    )
    assert err.site.line == prog.line, (
        f"{prog.name}: error site is line {err.site.line}, expected the marked line {prog.line}:\n{text}"
    )
    assert prog.code is not None and prog.code in text, f"{prog.name}: message lacks the code:\n{text}"
    missing = [k for k in ("fix",) if not re.search(rf"^\s*{k}:\s+\S", text, re.M)]
    if prog.code in NEEDED_PRESENT_CODES:
        missing += [k for k in ("needed", "present") if not re.search(rf"^\s*{k}:\s+\S", text, re.M)]
    assert not missing, f"{prog.name}: message lacks {', '.join(m + ':' for m in missing)} line(s):\n{text}"


@pytest.mark.parametrize("prog", PASS_PROGRAMS, ids=lambda p: p.name)
def test_build_pass(prog: Program, load_module: Callable[[Path], ModuleType]) -> None:
    """The fixed program builds."""
    module = load_module(prog.path)
    try:
        flow = _build(module, prog.rule)
    except Exception as e:  # noqa: BLE001
        pytest.fail(f"{prog.name}: should build, but raised {type(e).__name__}: {e}")
    assert flow.graph.nodes, f"{prog.name}: built an empty graph"
