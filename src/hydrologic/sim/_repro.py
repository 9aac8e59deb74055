"""Reproducer files: every failure the simulator finds is kept, minimized, in ``sim-failures/``.

A reproducer is a small JSON file holding what is needed to run the failing execution again and to
tell, later, whether it still applies:

* ``format``/``version``: what the file is and which layout it uses (a newer layout is refused
  with a message, never misread);
* ``program`` (where the program was built: a pytest node id, a ``prog.py:function`` spec, or the
  scenario's file), ``scenario`` (the scenario function's qualified name), ``test`` (the pytest
  node id, when found under pytest);
* ``fingerprint`` (the program's shape and cluster sizes, the middle part of replay tokens),
  ``graph_fingerprint`` (``Graph.fingerprint()``), ``graph`` (one line per operator, "op at
  file:line") and ``clusters``, so that a file from an older program can say *what* changed;
* ``decisions`` and ``token`` (the answers at every nondet site), ``how`` (which search found it),
  ``error`` and ``trace`` (the trace as it was printed when the failure was found).

Where files go: ``$HYDROLOGIC_SIM_FAILURES`` when set (``off`` disables writing); under pytest,
``sim-failures/`` next to the test file; otherwise ``sim-failures/`` next to the file that defines
the scenario function (the current directory if that file is not writable).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..ir.graph import Graph
from ._errors import SimulationFailure, StaleReproducerError

__all__ = [
    "FORMAT",
    "VERSION",
    "Reproducer",
    "current_test",
    "set_current_test",
    "failures_dir",
    "scenario_name",
    "save",
    "load",
    "stored_for",
    "check_applies",
]

FORMAT = "hydrologic-sim-reproducer"
VERSION = 1
ENV = "HYDROLOGIC_SIM_FAILURES"

# (node id, test file) of the pytest test running now; set by the pytest plugin around each test
_current: list[tuple[str, Path] | None] = [None]


def set_current_test(test: tuple[str, Path] | None) -> None:
    _current[0] = test


def current_test() -> tuple[str, Path] | None:
    """The pytest node id and file of the running test (the plugin sets it; without the plugin,
    ``PYTEST_CURRENT_TEST`` names the node id and the file is found from the working directory)."""
    if _current[0] is not None:
        return _current[0]
    env = os.environ.get("PYTEST_CURRENT_TEST")
    if not env or "_pytest" not in sys.modules:  # a subprocess of a test inherits the variable
        return None
    nodeid = env.rsplit(" (", 1)[0]
    path = Path(nodeid.split("::", 1)[0])
    return nodeid, path.resolve()


def scenario_name(scenario: Callable[..., object]) -> str:
    return str(getattr(scenario, "__qualname__", None) or getattr(scenario, "__name__", None) or type(scenario).__name__)


def _scenario_file(scenario: Callable[..., object]) -> Path | None:
    code = getattr(scenario, "__code__", None)
    if code is None:
        code = getattr(getattr(scenario, "__call__", None), "__code__", None)
    f = getattr(code, "co_filename", None)
    if isinstance(f, str) and os.path.isfile(f):
        return Path(f).resolve()
    return None


def failures_dir(scenario: Callable[..., object]) -> Path | None:
    """The folder reproducers of ``scenario`` are written to (None: writing is disabled)."""
    env = os.environ.get(ENV)
    if env is not None:
        if env.strip().lower() in ("", "0", "off", "no", "false"):
            return None
        return Path(env)
    test = current_test()
    if test is not None:
        return test[1].parent / "sim-failures"
    f = _scenario_file(scenario)
    if f is not None and os.access(f.parent, os.W_OK):
        return f.parent / "sim-failures"
    return Path.cwd() / "sim-failures"


def program_of(scenario: Callable[..., object]) -> str:
    test = current_test()
    if test is not None:
        return test[0]
    f = _scenario_file(scenario)
    return f"{f}:{scenario_name(scenario)}" if f is not None else scenario_name(scenario)


def graph_summary(graph: Graph) -> list[str]:
    return [f"`{n.method or n.op}` at {n.site}" for n in graph.nodes]


def cluster_summary(graph: Graph, sizes: dict[int, int]) -> dict[str, int]:
    return {loc.name: sizes[loc.id] for loc in graph.locations if loc.is_cluster and loc.id in sizes}


@dataclass
class Reproducer:
    program: str
    scenario: str
    fingerprint: str
    graph_fingerprint: str
    decisions: list[int]
    token: str
    how: str = ""
    error: str = ""
    trace: str = ""
    test: str | None = None
    test_file: str | None = None
    graph: list[str] = field(default_factory=lambda: [])
    clusters: dict[str, int] = field(default_factory=lambda: {})
    format: str = FORMAT
    version: int = VERSION
    path: Path | None = None

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("path")
        head = {"format": d.pop("format"), "version": d.pop("version")}
        return json.dumps({**head, **d}, indent=1) + "\n"


def _slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "__", text.replace(".<locals>.", ".")).strip("_.")
    return s[-80:] or "scenario"


def save(
    failure: SimulationFailure,
    scenario: Callable[..., object],
    graph: Graph,
    sizes: dict[int, int],
    fingerprint: str,
    *,
    program: str | None = None,
) -> Path | None:
    """Write ``failure`` as a reproducer file and note its path in the failure's message.

    Returns the path, or None when writing is disabled or impossible (the failure is raised
    anyway; a read-only folder must not hide the bug)."""
    folder = failures_dir(scenario)
    if folder is None:
        return None
    test = current_test()
    rep = Reproducer(
        program=program or program_of(scenario),
        scenario=scenario_name(scenario),
        fingerprint=fingerprint,
        graph_fingerprint=graph.fingerprint(),
        decisions=list(failure.values),
        token=failure.token,
        how=failure.how,
        error=f"{type(failure.original).__name__}: {failure.original}",
        trace=str(failure),
        test=test[0] if test else None,
        test_file=str(test[1]) if test else None,
        graph=graph_summary(graph),
        clusters=cluster_summary(graph, sizes),
    )
    key = rep.test.split("::", 1)[-1] if rep.test else rep.scenario
    digest = hashlib.sha1(f"{rep.scenario}|{rep.token}".encode()).hexdigest()[:8]
    path = folder / f"{_slug(key)}-{digest}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(rep.to_json())
    except OSError:
        return None
    failure.reproducer = path
    note = f"Saved as a reproducer: {path}\nRe-run it with its trace: hydrologic sim --replay {path}\n"
    msg = str(failure.args[0])
    at = msg.rfind("\nReplay exactly this execution with:")
    failure.args = (f"{msg[: at + 1]}{note}{msg[at + 1 :]}" if at >= 0 else f"{msg}\n{note}",)
    return path


def load(path: Path) -> Reproducer:
    """Read a reproducer file; ``StaleReproducerError`` if it is not one or has a newer layout."""
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise StaleReproducerError(f"{path} is not a readable reproducer file: {e}") from e
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:  # pyright: ignore[reportUnknownMemberType]
        raise StaleReproducerError(f"{path} is not a hydrologic reproducer file (no \"format\": {FORMAT!r})")
    d: dict[str, Any] = dict(raw)  # pyright: ignore[reportUnknownArgumentType]
    version = d.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise StaleReproducerError(
            f"{path} has reproducer format version {version!r}; this hydrologic reads version {VERSION} and older. "
            "Upgrade hydrologic, or delete the file"
        )
    known = set(Reproducer.__dataclass_fields__) - {"path"}
    try:
        rep = Reproducer(**{k: v for k, v in d.items() if k in known})
    except TypeError as e:
        raise StaleReproducerError(f"{path} is missing fields of a reproducer ({e}); delete it") from e
    rep.path = path
    return rep


def stored_for(folder: Path, test: str | None, scenario: str) -> list[Reproducer]:
    """The readable reproducers in ``folder`` recorded for ``test`` (or, outside pytest, for the
    scenario), oldest first. Unreadable files are skipped here; ``load`` explains them."""
    if not folder.is_dir():
        return []
    out: list[Reproducer] = []
    for p in sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name)):
        try:
            rep = load(p)
        except StaleReproducerError:
            continue
        if rep.scenario != scenario:
            continue
        if test is not None and rep.test != test:
            continue
        out.append(rep)
    return out


def check_applies(rep: Reproducer, graph: Graph, sizes: dict[int, int], fingerprint: str) -> None:
    """``StaleReproducerError`` naming what changed if ``rep`` was recorded for another program."""
    if rep.fingerprint == fingerprint:
        return
    changes: list[str] = []
    before, now = Counter(rep.graph), Counter(graph_summary(graph))
    removed = sorted((before - now).elements())
    added = sorted((now - before).elements())
    if removed:
        changes.append("operators no longer in the program: " + _few(removed))
    if added:
        changes.append("operators new in the program: " + _few(added))
    clusters = cluster_summary(graph, sizes)
    if rep.clusters != clusters:
        changes.append(f"cluster sizes were {rep.clusters}, now {clusters}")
    if not changes and _program_part(rep.fingerprint) == _program_part(fingerprint):
        changes.append("the same program, under another fault budget or other scripted rules (sim.fix / sim.restrict)")
    if not changes:
        changes.append("the same operators are wired differently")
    raise StaleReproducerError(
        f"reproducer {rep.path} no longer applies: it was recorded for another version of the program "
        f"({rep.program}, scenario {rep.scenario}, fingerprint {rep.fingerprint}; now {fingerprint}). "
        + "; ".join(changes)
        + ". If the failure was fixed by this change, delete the file; otherwise re-run the search to record a fresh one"
    )


def _program_part(fingerprint: str) -> str:
    """The program's own hash, without the fault budget (``-c..``) or scripted rules (``s..``)."""
    m = re.match(r"[0-9a-f]*", fingerprint)
    return m.group(0) if m else fingerprint


def _few(items: list[str], n: int = 4) -> str:
    more = f" and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more
