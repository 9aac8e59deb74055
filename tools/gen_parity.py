"""Generate docs/parity.md: each method of Hydro's ``hydro_lang`` API and its hydrologic name.

The rows live in ``tools/hydro_parity.txt`` (one Hydro method a line, with its meaning in our own
words and what hydrologic offers). This tool checks every row against the installed package by
introspection, so the table cannot claim a method that does not exist:

- a row naming a hydrologic method (``map``, ``Sim.fix``) fails the generator if the method is
  missing;
- a row marked ``pending`` or ``missing`` fails it once the named method *does* exist (the row
  must then be updated to say so);
- every public method of a hydrologic class that no row names is listed as an extra.

tests/test_parity.py keeps the checked-in file in sync:

    python tools/gen_parity.py > docs/parity.md
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydrologic as hl
from hydrologic import SimInput, SimOutput
from hydrologic.sim import Sim

DATA = Path(__file__).resolve().parent / "hydro_parity.txt"

# The hydrologic classes a row may name (``Class.method``), and the extras are listed for.
NAMESPACE: dict[str, type[Any]] = {
    "Stream": hl.Stream,
    "KeyedStream": hl.KeyedStream,
    "Singleton": hl.Singleton,
    "Optional": hl.Optional,
    "KeyedSingleton": hl.KeyedSingleton,
    "Process": hl.Process,
    "Cluster": hl.Cluster,
    "Tick": hl.Tick,
    "Atomic": hl.Atomic,
    "FlowBuilder": hl.FlowBuilder,
    "Sim": Sim,
    "SimInput": SimInput,
    "SimOutput": SimOutput,
}

# Hydro's Location trait covers processes and clusters alike: one table (mapped to Process)
# names the methods of both.
SHARED = {"Cluster": "Process"}

# status words of the third column
PRESENT, PARTIAL, NA, PENDING, MISSING = "present", "partial", "n/a", "pending", "missing"


@dataclass(frozen=True)
class Row:
    section: str
    cls: str  # the hydrologic class this section maps to
    hydro: str
    meaning: str
    status: str
    name: str  # the hydrologic method (``Class.method`` or a method of ``cls``), "" for n/a
    note: str
    line: int


class ParityError(Exception):
    """The data file disagrees with the package (or is malformed)."""


def parse(text: str) -> list[Row]:
    rows: list[Row] = []
    section, cls = "", ""
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("## "):
            section, _, cls = line[3:].partition("=")
            section, cls = section.strip(), cls.strip()
            if cls not in NAMESPACE:
                raise ParityError(f"hydro_parity.txt:{i}: section {section!r} maps to unknown class {cls!r}")
            continue
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 3 or not section:
            raise ParityError(f"hydro_parity.txt:{i}: expected `hydro | meaning | hydrologic` under a `## ` section")
        hydro, meaning, target = parts
        status, name, note = _status(target, i)
        rows.append(Row(section, cls, hydro, meaning, status, name, note, i))
    return rows


def _status(target: str, line: int) -> tuple[str, str, str]:
    """``name [~ note]``, ``partial: name ~ note``, ``n/a: why``, ``pending: name ~ topic``, ``missing: name ~ why``."""
    word, colon, rest = target.partition(":")
    if colon and word.strip() in (PARTIAL, NA, PENDING, MISSING):
        status, body = word.strip(), rest.strip()
    else:
        status, body = PRESENT, target
    if status == NA:
        return status, "", body
    name, _, note = body.partition("~")
    name = name.strip()
    if not name or " " in name:
        raise ParityError(f"hydro_parity.txt:{line}: {target!r} must name one hydrologic method")
    return status, name, note.strip()


def resolve(row: Row) -> bool:
    """Does the hydrologic method a row names exist?"""
    owner, dot, method = row.name.rpartition(".")
    cls = NAMESPACE.get(owner) if dot else NAMESPACE[row.cls]
    if cls is None:
        raise ParityError(f"hydro_parity.txt:{row.line}: unknown class {owner!r} in {row.name!r}")
    return callable(getattr(cls, method, None))


def check(rows: list[Row]) -> list[str]:
    problems: list[str] = []
    for r in rows:
        if r.status == NA:
            continue
        exists = resolve(r)
        if r.status in (PRESENT, PARTIAL) and not exists:
            problems.append(f"hydro_parity.txt:{r.line}: {r.section}.{r.hydro} claims `{r.name}`, which does not exist")
        if r.status in (PENDING, MISSING) and exists:
            problems.append(f"hydro_parity.txt:{r.line}: {r.section}.{r.hydro} is marked {r.status}, but `{r.name}` exists now")
    return problems


def public_methods(cls: type[Any]) -> list[str]:
    return sorted(
        n
        for n in dir(cls)
        if not n.startswith("_") and callable(getattr(cls, n, None)) and not isinstance(getattr(cls, n), type)
    )


def extras(rows: list[Row]) -> dict[str, list[str]]:
    """Per hydrologic class, its public methods that no Hydro row maps to."""
    named: dict[str, set[str]] = {c: set() for c in NAMESPACE}
    for r in rows:
        if r.status in (PRESENT, PARTIAL):
            owner, dot, method = r.name.rpartition(".")
            named[owner if dot else r.cls].add(method)
    for c, shares in SHARED.items():
        named[c] |= named[shares]
    out: dict[str, list[str]] = {}
    for c, cls in NAMESPACE.items():
        left = [m for m in public_methods(cls) if m not in named[c]]
        if left:
            out[c] = left
    return out


def _cell(r: Row) -> str:
    if r.status == PRESENT:
        return f"`{r.name}`" + (f" ({r.note})" if r.note else "")
    if r.status == PARTIAL:
        return f"partial: `{r.name}` — {r.note}"
    if r.status == NA:
        return f"not applicable: {r.note}"
    if r.status == PENDING:
        return f"**missing** (planned as `{r.name}`" + (f"; {r.note})" if r.note else ")")
    return f"**missing** (`{r.name}`" + (f"; {r.note})" if r.note else ")")


def render(rows: list[Row]) -> str:
    out = [
        "# Hydro parity",
        "",
        "Generated by `python tools/gen_parity.py > docs/parity.md` from `tools/hydro_parity.txt`;",
        "the generator checks every hydrologic name below against the package by introspection",
        "(and `tests/test_parity.py` keeps this file in sync), so a claimed method exists.",
        "",
        "Each table lists the public methods of one type of Hydro's `hydro_lang` (the Rust library",
        "hydrologic follows), what each does, and its hydrologic equivalent. *Not applicable* rows",
        "are Rust-specific (borrowing, compile steps, IR test hooks) and say what to use instead.",
        "Deprecated Hydro aliases map to their replacement.",
    ]
    sections: dict[str, list[Row]] = {}
    for r in rows:
        sections.setdefault(r.section, []).append(r)
    summary: list[str] = []
    for name, rs in sections.items():
        present = sum(r.status in (PRESENT, PARTIAL) for r in rs)
        na = sum(r.status == NA for r in rs)
        partial = sum(r.status == PARTIAL for r in rs)
        counted = len(rs) - na
        line = f"{name}: {present} of {counted} present" + (f" ({partial} partial)" if partial else "") + (f"; {na} not applicable" if na else "")
        summary.append(f"- {line}")
        out += ["", f"## {name}", "", "| Hydro | meaning | hydrologic |", "|---|---|---|"]
        out += [f"| `{r.hydro}` | {r.meaning} | {_cell(r)} |" for r in rs]
    total = sum(r.status != NA for r in rows)
    present = sum(r.status in (PRESENT, PARTIAL) for r in rows)
    missing = total - present
    out += ["", "## Summary", "", *summary, "", f"**Overall: {present} of {total} present, {missing} missing.**"]
    out += ["", "## hydrologic extras", "", "Public methods with no Hydro row above (hydrologic additions or Python conveniences):", ""]
    for c, ms in extras(rows).items():
        out.append(f"- `{c}`: " + ", ".join(f"`{m}`" for m in ms))
    return "\n".join(out) + "\n"


def main() -> int:
    rows = parse(DATA.read_text())
    problems = check(rows)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(render(rows), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
