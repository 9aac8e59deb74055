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
import os
import re
import sys
import typing
from dataclasses import dataclass, field
from typing import Any

from ..ir.graph import Graph
from ..ir.node import Node
from ..flow import FlowBuilder
from ..lang.program import load_program
from ..types.codes import CODES
from ..types.errors import BuildError
from ..lang.collection import origin_text
from ..types.markers import marker_name
from .static_map import CHECKERS, Diagnostic, Finding, MissingCheckerError, classify, fix_code, run_checkers

__all__ = ["SCHEMA", "CheckReport", "MissingCheckerError", "check_program", "main"]

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
        "element": element_type(n),
        "typed": typed(n),
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
        entry["mode"] = n.method  # the call the user wrote (broadcast_closed is a closed broadcast)
        entry["from"] = str(n.params["from"])
        entry["to"] = str(n.params["to"])
    return entry


def describe_locations(graph: Graph) -> list[dict[str, Any]]:
    """Each location's inputs and outputs, each list in the order the program declared them."""
    out: list[dict[str, Any]] = []
    for loc in graph.locations:
        inputs = [(n.id, _port(n, n)) for n in graph.nodes if n.root is loc and n.op in _INPUT_OPS]
        outputs = [(n.id, _port(n, n.inputs[0])) for n in graph.nodes if n.root is loc and n.op in _OUTPUT_OPS]
        outputs += [
            (n.id, _port(n, n.inputs[0])) for n in graph.nodes if n.op == "network" and n.inputs and n.inputs[0].root is loc
        ]
        if loc.kind == "external":
            inputs = [
                (
                    n.id,
                    {
                        "op": "send_external",
                        "site": str(n.site),
                        "name": n.params["name"],
                        "contract": dict(n.params["contract"]),
                        **_guarantees(n.inputs[0]),
                    },
                )
                for n in graph.nodes
                if n.op in ("send_external", "send_external_bidi") and n.params["external"] is loc
            ]
            outputs = [
                (n.id, {"op": n.op, "site": str(n.site), "name": n.params["name"], **_guarantees(n)})
                for n in graph.nodes
                if n.op in ("source_external", "source_external_bidi") and n.params["external"] is loc
            ]
        out.append(
            {
                "name": str(loc),
                "kind": loc.kind,
                "inputs": [entry for _, entry in sorted(inputs, key=lambda e: e[0])],
                "outputs": [entry for _, entry in sorted(outputs, key=lambda e: e[0])],
            }
        )
    return out


CHECKER_NAMES = CHECKERS


def check_program(
    spec: str,
    *,
    static: bool = True,
    strict: bool = False,
    deny_nondet: bool = False,
    skip: frozenset[str] = frozenset(),
    diagnostics: tuple[list[str], dict[str, list[Diagnostic]]] | None = None,
) -> CheckReport:
    """Build ``spec``, run the static checkers on its file and report.

    ``diagnostics`` is a precomputed ``run_checkers`` result (checkers run, errors per real path):
    a batch of programs shares one mypy and one pyright run.
    """
    report = CheckReport(program=spec)
    fn, file = load_program(spec)
    flow = FlowBuilder(spec)
    build_error: BuildError | None = None
    try:
        fn(flow)
        if deny_nondet:
            flow.require(no_nondet=True)
        flow.build()
    except BuildError as e:
        build_error = e
        report.errors.append(
            {
                "source": "build",
                "code": e.code,
                "site": str(e.site) if e.site else None,
                "line": e.site.line if e.site else None,
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
        ran, per_file = diagnostics if diagnostics is not None else run_checkers([file], strict=strict, skip=skip)
        report.static_checkers = list(ran)
        found = [static_error(d, graph, build_error) for d in per_file.get(os.path.realpath(file), [])]
        report.errors.extend(_drop_consequences(found))
    return report


def _drop_consequences(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop a checker's follow-on complaints (``Type of "first" is unknown``) caused by a
    hydrologic rule it already reported: on the same line, or (pyright strict's
    ``reportUnknown*``) anywhere in the file, since an operator that failed to bind leaves its
    result's type unknown downstream."""
    ruled = {(e["source"], e["line"]) for e in errors if e["code"] != "static"}
    ruled |= {(e["source"], e["reported_line"]) for e in errors if e["code"] != "static"}
    ruling = {e["source"] for e in errors if e["code"] != "static"}
    errors = [
        e for e in errors
        if not (e["code"] == "static" and e["source"] in ruling and str(e.get("checker_rule") or "").startswith("reportUnknown"))
    ]
    kept: list[dict[str, Any]] = []
    seen: set[tuple[str, int, str]] = set()
    for e in errors:
        if e["code"] == "static" and (e["source"], e["line"]) in ruled and _is_follow_on(e):
            continue
        key = (e["source"], e["line"], e["code"])
        if e["code"] != "static" and key in seen:
            # mypy reports a guard twice (the argument and the lambda's return); pyright adds
            # "No overloads for ... match" beside the argument it blames: keep the specific one
            i = next(i for i, k in enumerate(kept) if (k["source"], k["line"], k["code"]) == key)
            if str(kept[i].get("checker_message", "")).startswith("No overload"):
                kept[i] = e
            continue
        seen.add(key)
        kept.append(e)
    return kept


def _is_follow_on(e: dict[str, Any]) -> bool:
    rule = str(e.get("checker_rule") or "")
    return rule.startswith("reportUnknown") or rule in (
        "reportOperatorIssue", "reportAttributeAccessIssue", "misc", "arg-type", "operator", "return-value"
    )


_AXIS_OF = {"HL101": "order", "HL103": "order", "HL102": "retries", "HL104": "retries", "HL105": "bound", "HL106": "bound"}
_WEAK = {"order": "NoOrder", "retries": "AtLeastOnce", "bound": "Unbounded"}


def static_error(d: Diagnostic, graph: Graph, build_error: BuildError | None) -> dict[str, Any]:
    """One checker diagnostic as a report error: HL code, call site, needed/present, origin, fix."""
    f: Finding = classify(d)
    line = d.line
    origin: str | None = None
    same_line = (
        build_error is not None
        and build_error.site.known
        and os.path.realpath(build_error.site.file) == d.file
        and d.line <= build_error.site.line <= max(d.line, d.end_line)
    )
    if same_line and build_error is not None and f.code in (build_error.code, "static") and f.code != "static":
        # a call spread over several lines: the checker points at the expression's first line,
        # the builder at the call itself
        line = build_error.site.line
    site = f"{_short(d.file)}:{line}"
    if same_line and build_error is not None:
        # the builder rejected the same call: its account is exact (and names the origin)
        if f.extra.get("needs_build") and f.code != build_error.code:
            # the message did not say which rule: the builder's account replaces the guess whole
            f.code, f.needed, f.present = build_error.code, None, None
        if f.code == build_error.code:
            f.needed = build_error.needed or f.needed
            f.present = build_error.present or f.present
            origin = build_error.origin
    elif f.code in _AXIS_OF:
        origin = _origin_from_graph(graph, d, f)
    summary = _summary(f)
    return {
        "source": d.source,
        "code": f.code,
        "site": site,
        "line": line,
        "reported_line": d.line,
        "op": f.op,
        "message": summary,
        "needed": f.needed,
        "present": f.present,
        "origin": origin,
        "fix": fix_code(f.code, f.op, f.needed) if f.code != "static" else None,
        "checker_message": d.message,
        "checker_rule": d.rule,
    }


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _summary(f: Finding) -> str:
    if f.code == "static":
        return "type error (not a hydrologic rule; see the checker's message)"
    title = CODES[f.code].title if f.code in CODES else f.code
    return f"`{f.op}`: {title}" if f.op else title


def _origin_from_graph(graph: Graph, d: Diagnostic, f: Finding) -> str | None:
    """Where the weak guarantee came from, when the build got past this line: the operator that
    introduced it (or the source that declared it), found on the nodes built at the call's line."""
    axis = _AXIS_OF[f.code]
    weak = _WEAK[axis]
    for n in graph.nodes:
        if n.site.line != d.line or os.path.realpath(n.site.file) != d.file:
            continue
        for inp in n.inputs:
            if getattr(inp, axis) is not None and marker_name(getattr(inp, axis)) == weak:
                return origin_text(getattr(inp, axis + "_origin"), weak)
    return None


# ---- element types (best effort: from sources' declared types and functions' annotations) -----

_SAME = {
    "filter", "inspect", "unique", "sort", "batch", "all_ticks", "defer_tick", "cast", "assume_ordering",
    "assume_retries", "merge", "chain", "snapshot", "latest", "atomic", "end_atomic", "partition",
    "partition_side", "first", "last", "max", "min", "reduce", "network", "anti_join", "filter_not_in",
    "snapshot_atomic", "cycle_with_initial", "unwrap_or", "into_stream", "filter_if_some", "filter_if_none",
}


def _type_name(t: Any) -> str:
    if isinstance(t, type) and not typing.get_args(t):
        return t.__name__
    text = repr(t)
    return text.replace("typing.", "").replace("builtins.", "")


def _value_type(values: list[Any]) -> str:
    if not values:
        return "?"
    first = values[0]
    if isinstance(first, tuple):
        items: tuple[Any, ...] = first  # pyright: ignore[reportUnknownVariableType]
        return f"tuple[{', '.join(_value_type([x]) for x in items)}]"
    names = sorted({type(v).__name__ for v in values[:50]})
    return " | ".join(names)


def _returns(f: Any) -> Any:
    try:
        return typing.get_type_hints(f).get("return")
    except Exception:  # noqa: BLE001 - unresolvable annotations just mean "unknown"
        return None


def element_type(n: Node, _depth: int = 0) -> str:
    """The element type of ``n``'s collection, as far as the built graph tells ("?" when unknown)."""
    if _depth > 200:
        return "?"
    p = n.params
    if n.op == "source_iter":
        return _value_type(list(p.get("items", [])))
    if "of" in p and p["of"] is not None:
        return _type_name(p["of"])
    if n.op == "singleton" and "value" in p:
        return _value_type([p["value"]])
    if n.op in ("count", "value_counts", "keyed_count"):
        return "int"
    ins = [element_type(i, _depth + 1) for i in n.inputs]
    if n.op in ("map", "filter_map", "scan", "flat_map", "fold") and "f" in p:
        r = _returns(p["f"])
        if r is None:
            return "?"
        name = _type_name(r)
        if n.op == "flat_map":
            args = typing.get_args(r)
            return _type_name(args[0]) if args else "?"
        return name.removesuffix(" | None") if n.op == "filter_map" else name
    if n.op == "enumerate" and ins:
        return f"tuple[int, {ins[0]}]"
    if n.op == "collect_list" and ins:
        return f"list[{ins[0]}]"
    if n.op == "cross_product" and len(ins) == 2:
        return f"tuple[{ins[0]}, {ins[1]}]"
    if n.op in _SAME and ins:
        return ins[0]
    return "?"


def typed(n: Node) -> str:
    """``Stream[str, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]``: the type with its element type."""
    t = n.type_str()
    head, _, rest = t.partition("[")
    elem = element_type(n)
    src = n.params.get("from") if n.op == "network" else None
    if n.kind == "keyed_stream" and src is not None and getattr(src, "kind", None) == "cluster":
        # received from a cluster: keyed by the sending member
        elem = f"MemberId[{src.tag.__name__}], {elem}"
    elif n.kind in ("keyed_stream", "keyed_singleton") and elem.startswith("tuple[") and elem.endswith("]"):
        inner = elem[len("tuple["):-1]
        from .static_map import _split_top  # pyright: ignore[reportPrivateUsage]

        kv = _split_top(inner, ",")
        elem = ", ".join(kv) if len(kv) == 2 else f"?, {elem}"
    elif n.kind in ("keyed_stream", "keyed_singleton"):
        elem = f"?, {elem}" if elem != "?" else "?, ?"
    return f"{head}[{elem}, {rest}"


def render_text(r: CheckReport) -> str:
    lines = [f"program {r.program}: {'ok' if r.ok else f'{len(r.errors)} error(s)'}"]
    rows: list[tuple[str, str, str, str, str] | str] = []
    for loc in r.locations:
        rows.append(f"\n{loc['name']}")
        for label in ("inputs", "outputs"):
            for p in loc[label]:
                what = p.get("name") or (f"{p['mode']}->{p['to']}" if label == "outputs" and "mode" in p else p.get("mode")) or p["op"]
                rows.append(("  " + label[:-1], what, p.get("typed") or p["type"], p["site"], ""))
                if p.get("contract"):
                    c = p["contract"]
                    rows.append(f"         contract: ordered={c['ordered']} delivery={c['delivery']} (verified)")
    widths = [max((len(row[i]) for row in rows if not isinstance(row, str)), default=0) for i in range(4)]
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
        else:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths)).rstrip())
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
                    lines.append(f"      {key + ':':8} {e[key]}")
            if e.get("checker_message"):
                first, *more = str(e["checker_message"]).splitlines()
                lines.append(f"      {e['source']}: {first}")
                if re.search(r"\bHL\d{3}_\w+", first):
                    more = []  # a guard's name already says it all; its protocol details do not help
                lines += [f"      {' ' * len(str(e['source']))}  {m.strip()}" for m in more[:6] if m.strip()]
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
