"""``hydrologic check prog.py:build``: make a program's distributed contracts visible.

Builds the program, runs mypy and pyright on its file (a missing one is an error naming its install
command; ``--skip NAME`` checks without it), and reports each
location's inputs and outputs with their guarantees, every nondet site and proof claim, and every
error with its code. ``--json`` prints the stable schema documented in docs/check.md; the exit
status is non-zero when there is any error (or any nondet site under ``--deny-nondet``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

from ..ir.graph import Graph
from ..ir.node import Node
from ..flow import FlowBuilder
from ..lang.program import load_program
from ..types.errors import BuildError
from ..types.markers import marker_name

__all__ = ["SCHEMA", "CheckReport", "check_program", "main"]

SCHEMA = "hydrologic.check/1"

_INPUT_OPS = ("source_iter", "source_external", "sim_input", "source_interval", "network", "source_external_bidi", "external_membership")
_OUTPUT_OPS = ("send_external", "sim_output", "for_each", "send_external_bidi")


@dataclass
class CheckReport:
    program: str
    locations: list[dict[str, Any]] = field(default_factory=lambda: [])
    nondet_sites: list[dict[str, Any]] = field(default_factory=lambda: [])
    proofs: list[dict[str, Any]] = field(default_factory=lambda: [])
    durable_state: list[dict[str, Any]] = field(default_factory=lambda: [])
    errors: list[dict[str, Any]] = field(default_factory=lambda: [])
    static_checkers: list[str] = field(default_factory=lambda: [])

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "program": self.program,
            "ok": self.ok,
            "static_checkers": self.static_checkers,
            "locations": self.locations,
            "nondet_sites": self.nondet_sites,
            "proofs": self.proofs,
            "durable_state": self.durable_state,
            "errors": self.errors,
        }


def _guarantees(n: Node) -> dict[str, Any]:
    return {
        "kind": n.kind,
        "type": n.type_str(),
        "bound": marker_name(n.bound) if n.bound else None,
        "order": marker_name(n.order) if n.order else None,
        "retries": marker_name(n.retries) if n.retries else None,
    }


def _port(n: Node, shown: Node) -> dict[str, Any]:
    entry: dict[str, Any] = {"op": n.op, "site": str(n.site), **_guarantees(shown)}
    if "name" in n.params:
        entry["name"] = n.params["name"]
    if "contract" in n.params:
        entry["contract"] = dict(n.params["contract"])
    if n.op == "network":
        entry["mode"] = n.params["mode"]
        entry["from"] = str(n.params["from"])
        entry["to"] = str(n.params["to"])
    return entry


def describe_locations(graph: Graph) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for loc in graph.locations:
        inputs = [_port(n, n) for n in graph.nodes if n.root is loc and n.op in _INPUT_OPS]
        outputs = [_port(n, n.inputs[0]) for n in graph.nodes if n.root is loc and n.op in _OUTPUT_OPS]
        outputs += [
            _port(n, n.inputs[0]) for n in graph.nodes if n.op == "network" and n.inputs and n.inputs[0].root is loc
        ]
        if loc.kind == "external":
            inputs = [
                {
                    "op": "send_external",
                    "site": str(n.site),
                    "name": n.params["name"],
                    "contract": dict(n.params["contract"]),
                    **_guarantees(n.inputs[0]),
                }
                for n in graph.nodes
                if n.op in ("send_external", "send_external_bidi") and n.params["external"] is loc
            ]
            outputs = [
                {"op": n.op, "site": str(n.site), "name": n.params["name"], **_guarantees(n)}
                for n in graph.nodes
                if n.op in ("source_external", "source_external_bidi") and n.params["external"] is loc
            ]
        out.append({"name": str(loc), "kind": loc.kind, "inputs": inputs, "outputs": outputs})
    return out


_MYPY_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<msg>.*)$")
_PYRIGHT_LINE = re.compile(r"^\s*(?P<file>.+?):(?P<line>\d+):\d+ - error: (?P<msg>.*)$")


CHECKERS = ("mypy", "pyright")


class MissingCheckerError(Exception):
    """A static checker ``check`` should run is not installed: say how to install or skip it."""

    def __init__(self, missing: list[str]) -> None:
        names = " and ".join(missing)
        skips = " ".join(f"--skip {m}" for m in missing)
        super().__init__(
            f"{names} {'is' if len(missing) == 1 else 'are'} not installed, so this program's types cannot be checked "
            f"(the guarantee rules are checked by both).\n  fix: pip install {' '.join(missing)}  "
            f"(or pip install 'hydrologic[dev]'), or pass {skips} to check without {'it' if len(missing) == 1 else 'them'}"
        )


def run_static(file: str, strict: bool, skip: frozenset[str] = frozenset()) -> tuple[list[str], list[dict[str, Any]]]:
    """Run mypy and pyright on ``file`` (except those in ``skip``); return (checkers run, errors).

    A checker that is wanted but not installed is an error (``MissingCheckerError``), never a
    silent skip: a clean report must mean the program was checked.
    """
    ran: list[str] = []
    errors: list[dict[str, Any]] = []
    checkers: list[tuple[str, list[str], re.Pattern[str]]] = []
    missing: list[str] = []
    if "mypy" not in skip:
        if _has_module("mypy"):
            mypy_cmd = [sys.executable, "-m", "mypy", "--no-error-summary", "--hide-error-context"]
            checkers.append(("mypy", mypy_cmd + (["--strict"] if strict else []) + [file], _MYPY_LINE))
        else:
            missing.append("mypy")
    if "pyright" not in skip:
        pyright = shutil.which("pyright")
        if pyright:
            checkers.append(("pyright", [pyright, file], _PYRIGHT_LINE))
        else:
            missing.append("pyright")
    if missing:
        raise MissingCheckerError(missing)
    for name, cmd, pattern in checkers:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        ran.append(name)
        for line in proc.stdout.splitlines():
            m = pattern.match(line)
            if m:
                errors.append(
                    {"source": name, "code": "static", "site": f"{m['file']}:{m['line']}", "message": m["msg"].strip()}
                )
    return ran, errors


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def check_program(
    spec: str, *, static: bool = True, strict: bool = False, deny_nondet: bool = False, skip: frozenset[str] = frozenset()
) -> CheckReport:
    report = CheckReport(program=spec)
    fn, file = load_program(spec)
    flow = FlowBuilder(spec)
    try:
        fn(flow)
        if deny_nondet:
            flow.require(no_nondet=True)
        flow.build()
    except BuildError as e:
        report.errors.append(
            {
                "source": "build",
                "code": e.code,
                "site": str(e.site) if e.site else None,
                "message": e.summary,
                "needed": e.needed,
                "present": e.present,
                "origin": e.origin,
                "fix": e.fix,
            }
        )
    graph = flow.graph
    report.locations = describe_locations(graph)
    report.nondet_sites = [
        {
            "op": s.op,
            "site": str(s.site),
            "reason": s.reason,
            "location": s.location,
            "forwarded": list(s.forwarded),
        }
        for s in graph.nondet_sites()
    ]
    report.proofs = [
        {"op": p.op, "property": p.property, "reason": p.reason, "site": str(p.site)} for p in graph.proof_claims()
    ]
    report.durable_state = [
        {"name": n.params["durable"], "op": n.method, "location": n.root.name, "site": str(n.site)}
        for n in graph.nodes
        if n.params.get("durable")
    ]
    if static:
        report.static_checkers, static_errors = run_static(file, strict, skip)
        report.errors.extend(static_errors)
    return report


def render_text(r: CheckReport) -> str:
    lines = [f"program {r.program}: {'ok' if r.ok else f'{len(r.errors)} error(s)'}"]
    for loc in r.locations:
        lines.append(f"\n{loc['name']}")
        for label in ("inputs", "outputs"):
            for p in loc[label]:
                what = p.get("name") or (f"{p['mode']}->{p['to']}" if label == "outputs" and "mode" in p else p.get("mode")) or p["op"]
                lines.append(f"  {label[:-1]:6} {what:16} {p['type']:58} {p['site']}")
                if p.get("contract"):
                    c = p["contract"]
                    lines.append(f"         contract: ordered={c['ordered']} delivery={c['delivery']} (verified)")
    lines.append(f"\nnondet sites ({len(r.nondet_sites)}):")
    lines += [
        f"  {s['site']}: `{s['op']}` on {s['location']}: {s['reason']!r}" + "".join(f" <- {f!r}" for f in s["forwarded"])
        for s in r.nondet_sites
    ] or ["  none"]
    lines.append(f"\nproof claims ({len(r.proofs)}):")
    lines += [f"  {p['site']}: `{p['op']}` {p['property']}: {p['reason']!r}" for p in r.proofs] or ["  none"]
    if r.durable_state:
        lines.append(f"\ndurable state ({len(r.durable_state)}): kept across a crash of its process")
        lines += [f"  {d['site']}: `{d['op']}` durable {d['name']!r} on {d['location']}" for d in r.durable_state]
    if r.errors:
        lines.append("\nerrors:")
        for e in r.errors:
            lines.append(f"  [{e['source']}] {e['code']} at {e['site']}: {e['message']}")
            for key in ("needed", "present", "origin", "fix"):
                if e.get(key):
                    lines.append(f"      {key}: {e[key]}")
    if r.static_checkers:
        lines.append(f"\nstatic checkers run: {', '.join(r.static_checkers)}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic check", description=__doc__)
    parser.add_argument("program", help="module:function or path/to/file.py:function")
    parser.add_argument("--json", action="store_true", help=f"print a JSON report (schema {SCHEMA}, docs/check.md)")
    parser.add_argument("--deny-nondet", action="store_true", help="fail if the program has any nondet site")
    parser.add_argument("--no-static", action="store_true", help="skip mypy and pyright")
    parser.add_argument(
        "--skip", action="append", choices=CHECKERS, default=[], help="skip one static checker (repeatable); "
        "without it, a checker that is not installed is an error"
    )
    parser.add_argument("--strict", action="store_true", help="run the static checkers in strict mode")
    args = parser.parse_args(argv)
    try:
        report = check_program(
            args.program, static=not args.no_static, strict=args.strict, deny_nondet=args.deny_nondet, skip=frozenset(args.skip)
        )
    except BuildError as e:  # the program could not even be loaded
        print(str(e), file=sys.stderr)
        return 2
    except MissingCheckerError as e:
        print(f"[hydrologic] check: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2) if args.json else render_text(report))
    return 0 if report.ok else 1
