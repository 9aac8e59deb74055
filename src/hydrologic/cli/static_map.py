"""Run mypy and pyright, and map their findings about hydrologic types to HL codes.

The checkers report a misuse in their own words (``Invalid self argument ...``, ``Cannot access
attribute "first" ...``, ``No overloads for "fold" ...``). This module reads the collection types
in those messages (present vs. expected), finds the guarantee or location that differs, and
names the rule (HLnnn) with the fix as code. When the program was built, the caller refines the
finding with the build graph (``origin``: the operator that weakened the guarantee).

Both checkers run once over any number of files (``run_checkers``), so a batch of programs costs
one mypy and one pyright start-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Diagnostic", "Finding", "classify", "fix_code", "run_checkers", "CHECKERS", "MissingCheckerError"]

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


@dataclass(frozen=True)
class Diagnostic:
    """One error a checker reported: ``message`` is the whole text (with mypy's hint lines)."""

    source: str  # "mypy" | "pyright"
    file: str  # as given on the command line's resolution: an absolute, real path
    line: int
    message: str
    rule: str | None = None  # mypy error code / pyright rule
    end_line: int = 0  # the last line of the reported expression (0: same as ``line``)

    @property
    def headline(self) -> str:
        return self.message.splitlines()[0].strip() if self.message else ""


@dataclass
class Finding:
    """A diagnostic read as a hydrologic rule violation."""

    code: str  # "HLnnn", or "static" when the message is not about a hydrologic rule
    op: str | None = None
    needed: str | None = None
    present: str | None = None
    fix: str | None = None
    extra: dict[str, Any] = field(default_factory=lambda: {})


# ---- running the checkers ---------------------------------------------------------------


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _pyright_exe() -> str | None:
    return shutil.which("pyright")


def run_checkers(
    files: list[str],
    *,
    strict: bool = False,
    skip: frozenset[str] = frozenset(),
    cache_dir: str | None = None,
    mypy_config: str | None = None,
    pyright_project: str | None = None,
) -> tuple[list[str], dict[str, list[Diagnostic]]]:
    """Run mypy and pyright (except those in ``skip``) once over ``files``.

    Returns the checkers run and the errors per file (keyed by real path). A wanted checker that
    is not installed raises ``MissingCheckerError``: a clean report must mean the file was checked.
    """
    missing: list[str] = []
    jobs: list[tuple[str, list[str]]] = []
    if "mypy" not in skip:
        if _has_module("mypy"):
            cmd = [sys.executable, "-m", "mypy", "-O", "json", "--no-error-summary", "--hide-error-context"]
            if mypy_config:
                cmd += ["--config-file", mypy_config]
            # One cache per set of directories: mypy keys its cache by module name, and two
            # programs both called ``bad.py`` in different directories must not share entries.
            root = cache_dir or os.path.join(tempfile.gettempdir(), "hydrologic-check-mypy")
            dirs = "\n".join(sorted({os.path.dirname(os.path.realpath(f)) for f in files}))
            key = hashlib.sha1(f"{dirs}\n{mypy_config}\n{strict}".encode()).hexdigest()[:16]
            cmd += ["--cache-dir", os.path.join(root, key)]
            jobs.append(("mypy", cmd + (["--strict"] if strict else []) + files))
        else:
            missing.append("mypy")
    if "pyright" not in skip:
        exe = _pyright_exe()
        if exe:
            cmd = [exe, "--outputjson", "--pythonpath", sys.executable] + (["-p", pyright_project] if pyright_project else [])
            jobs.append(("pyright", cmd + files))
        else:
            missing.append("pyright")
    if missing:
        raise MissingCheckerError(missing)
    procs = [(name, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)) for name, cmd in jobs]
    out: dict[str, list[Diagnostic]] = {}
    ran: list[str] = []
    for name, proc in procs:
        stdout, _ = proc.communicate(timeout=600)
        ran.append(name)
        diags = _parse_mypy(stdout) if name == "mypy" else _parse_pyright(stdout)
        for d in diags:
            out.setdefault(d.file, []).append(d)
    for diags in out.values():
        diags.sort(key=lambda d: (d.line, d.source))
    return ran, out


def _parse_mypy(stdout: str) -> list[Diagnostic]:
    diags: list[Diagnostic] = []
    for raw in stdout.splitlines():
        raw = raw.strip()
        if not raw.startswith("{"):
            continue
        try:
            d = json.loads(raw)
        except ValueError:
            continue
        if d.get("severity") != "error":
            continue
        msg = d["message"] + (f"\n{d['hint']}" if d.get("hint") else "")
        line = int(d["line"])
        end = int(d.get("end_line") or line)
        diags.append(Diagnostic("mypy", os.path.realpath(d["file"]), line, msg, d.get("code"), max(end, line)))
    return diags


def _parse_pyright(stdout: str) -> list[Diagnostic]:
    try:
        report: dict[str, Any] = json.loads(stdout)
    except ValueError:
        return []
    diags: list[Diagnostic] = []
    for d in report.get("generalDiagnostics", []):
        if d.get("severity") != "error":
            continue
        msg = str(d["message"]).replace("\xa0", " ")
        line = int(d["range"]["start"]["line"]) + 1
        end = int(d["range"]["end"]["line"]) + 1
        diags.append(Diagnostic("pyright", os.path.realpath(d["file"]), line, msg, d.get("rule"), max(end, line)))
    return diags


# ---- reading types out of messages ------------------------------------------------------

_SHAPES = {
    "Stream": ("T", "L", "B", "O", "R"),
    "KeyedStream": ("K", "V", "L", "B", "O", "R"),
    "Singleton": ("T", "L", "B"),
    "Optional": ("T", "L", "B"),
    "KeyedSingleton": ("K", "V", "L", "B"),
}
_LOCATIONS = ("Process", "Cluster", "Tick", "Atomic", "External")


def _split_top(s: str, sep: str) -> list[str]:
    """Split ``s`` at ``sep`` outside brackets."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(s):
        ch = s[i]
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif depth == 0 and s.startswith(sep, i):
            parts.append(s[start:i])
            i += len(sep)
            start = i
            continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


def _parse(t: str) -> tuple[str, list[str]]:
    """``"hydrologic.lang.singleton.Optional[int, Process[P], Bounded]"`` -> ("Optional", [...])."""
    t = t.strip()
    m = re.match(r"^([\w.]+?)(?:\[(.*)\])?$", t, re.S)
    if not m:
        return t, []
    head = m.group(1).rsplit(".", 1)[-1]
    return head, _split_top(m.group(2), ",") if m.group(2) else []


def _axes(t: str) -> dict[str, str] | None:
    head, args = _parse(t)
    shape = _SHAPES.get(head)
    if shape is None or len(args) != len(shape):
        return None
    return {"kind": head, **dict(zip(shape, args))}


# The type variables hydrologic's signatures use, as mypy prints them (pyright adds ``@method``).
_TYPEVARS = {"L", "B", "O", "R", "B2", "B3", "O2", "O3", "R2", "R3", "TL", "LT", "OD", "RD", "CO", "Never", "Any"}
_TAG_VARS = {"Tag", "Tag2", "TagC", "Never", "Any"}


def _is_var(t: str, *, tag: bool = False) -> bool:
    """A type variable (``L``, ``T2@first``, a tag ``Tag2``) or an unsolved one (``Never``, ``Any``).

    A tag is a user's class, which may well be called ``P``: only the tag variables count there.
    """
    t = t.strip()
    return bool(re.fullmatch(r"\w+@\w+", t)) or t in (_TAG_VARS if tag else _TYPEVARS | _TAG_VARS)


def _union(t: str) -> set[str]:
    return {p.strip() for p in _split_top(t, "|")}


def _weak(present: str, strong: str, weak: str) -> bool:
    """``present`` (maybe a union such as ``TotalOrder | NoOrder``) admits the weak marker."""
    return weak in _union(present) and not _is_var(present)


_ORDER_ONLY_OUTPUTS = {"send_external", "complete"}
_THRESHOLD_READS = {"threshold_greater_or_equal", "threshold_greater_or_equal_uniform"}
# Methods whose first overload takes a Bounded self only to keep a Bounded result (the others
# take any bound): mypy names that first overload, but a Bounded self is not what they need.
_BOUND_PICKS_OUTPUT = {"count", "value_counts", "map", "filter", "ignore_monotonic"}


def _consistency(cluster_args: list[str]) -> str:
    """The ``Con`` of ``Cluster[Tag, Con]`` (``NoConsistency`` when the checker left it out)."""
    return cluster_args[1].strip().rsplit(".", 1)[-1] if len(cluster_args) > 1 else "NoConsistency"


def _location_code(p: str, e: str, op: str) -> tuple[str, str, str] | None:
    """Compare two location types; the rule and (needed, present) they break, if any."""
    if re.fullmatch(r"TL(@\w+)?", e.strip()) and _parse(p)[0] == "Tick":
        # TL is bound to a top-level location (a Process or Cluster)
        return "HL107", "a collection at the top level of a process or cluster", p
    if _is_var(e) or _is_var(p) or p == e:
        return None
    ph, pa = _parse(p)
    eh, ea = _parse(e)
    if eh == "Atomic" and ph != "Atomic":
        return "HL109", f"a collection inside an atomic section ({e})", p
    if eh == "Tick" and ph != "Tick":
        if op in ("complete_next_tick",):
            return "HL403", f"a collection in {e} (the cycle's tick)", p
        return "HL108", f"a collection inside a tick ({e})", p
    if ph == "Tick" and eh != "Tick":
        return "HL107", f"a collection at the top level of {e}", p
    if ph == eh == "Tick" and pa and ea:
        inner = _location_code(pa[0], ea[0], op)
        if inner is None:
            return None
        if inner[0] == "HL201":
            return "HL202", f"a tick of {ea[0]}", f"a tick of {pa[0]}"
        return inner
    if ph == eh == "Cluster" and pa and ea and _consistency(ea) == "EventualConsistency" != _consistency(pa):
        if pa[0] == ea[0] or _is_var(ea[0], tag=True):
            return "HL112", f"a collection at {e} (every member converges on the same value)", p
    if ph != eh:
        if "External" in (ph, eh):
            return "HL204", e, p
        return "HL203", f"a {eh}" if not ea or _is_var(ea[0], tag=True) else e, p
    if pa and ea and not _is_var(ea[0], tag=True) and pa[0] != ea[0]:
        return "HL201", f"a collection at {e}", f"a collection at {p}"
    return None


def _compare(present: str, expected: str, op: str, role: str) -> Finding | None:
    """The first rule ``present`` breaks against ``expected`` (location, bound, order, retries)."""
    # an expected union (``Singleton[..] | Optional[..]``): compare with the alternative of the same kind
    alternatives = _split_top(expected, "|")
    if len(alternatives) > 1:
        head = _parse(present)[0]
        same = [a for a in alternatives if _parse(a)[0] == head]
        expected = same[0] if same else alternatives[0]
    pa, ea = _axes(present), _axes(expected)
    if pa is None or ea is None:
        ph, eh = _parse(present)[0], _parse(expected)[0]
        if ph in _LOCATIONS and eh in _LOCATIONS:
            loc = _location_code(present, expected, op)
            if loc is not None:
                code, needed, pres = loc
                if op in ("batch", "snapshot", "atomic") and code == "HL108":
                    code, needed = "HL107", "a collection at the top level (batch/snapshot start from there)"
                return Finding(code, op, needed, pres)
        if eh == "NonDet":
            return Finding("HL301", op, 'a nondet("why") token', present)
        if eh == "Proof":
            return Finding("HL304", op, 'a proof("why") token', present)
        return None
    loc = _location_code(pa["L"], ea["L"], op)
    if loc is not None:
        code, needed, pres = loc
        return Finding(code, op, needed, f"{pres} ({present})" if pres != present else present)
    output = op in _ORDER_ONLY_OUTPUTS and role == "responses" or op == "send_external"
    # --- monotonicity: a threshold read's self must be Monotonic (or Bounded); each checker names
    # whichever of the two overloads it tried, so both expected bounds mean the same rule
    if op in _THRESHOLD_READS and role == "self" and "B" in ea and ea["B"] in ("Bounded", "Monotonic"):
        if _weak(pa["B"], ea["B"], "Unbounded"):
            return Finding("HL111", op, "Monotonic (or Bounded)", f"Unbounded ({present})")
    if "B" in ea and ea["B"] == "Bounded" and op not in _BOUND_PICKS_OUTPUT:
        # a Monotonic value is not Bounded either (it still grows)
        weak = next((w for w in ("Unbounded", "Monotonic") if _weak(pa["B"], "Bounded", w)), None)
        if weak is not None:
            code = "HL106" if op in ("join", "cross_product", "join_keyed_stream") and role != "self" else "HL105"
            return Finding(code, op, "Bounded", f"{weak} ({present})")
    if "O" in ea and ea["O"] == "TotalOrder" and _weak(pa["O"], "TotalOrder", "NoOrder"):
        code = "HL110" if output else "HL103" if op in ("fold", "reduce") else "HL101"
        return Finding(code, op, "TotalOrder", f"NoOrder ({present})")
    if "R" in ea and ea["R"] == "ExactlyOnce" and _weak(pa["R"], "ExactlyOnce", "AtLeastOnce"):
        code = "HL110" if output else "HL104" if op in ("fold", "reduce") else "HL102"
        return Finding(code, op, "ExactlyOnce", f"AtLeastOnce ({present})")
    return None


def _self_type(signature: str) -> str | None:
    """The ``self`` type in mypy's rendering of a method type."""
    m = re.search(r"\(self: (.*?)(?:, \*?\w+:|, \*,|\) ->)", signature)
    if m:  # "def [T] op(self: S, ...) -> R": keyword-only parameters make mypy print this form
        return m.group(1)
    i = signature.find("Callable[[")
    if i >= 0:
        start = i + len("Callable[[")
        depth = 1
        for j in range(start, len(signature)):
            depth += {"[": 1, "]": -1}.get(signature[j], 0)
            if depth == 0:
                return _split_top(signature[start:j], ",")[0]
    return None


_Q = r'"((?:[^"\\]|\\.)*)"'


def classify(d: Diagnostic) -> Finding:
    """Read one checker diagnostic as a hydrologic rule (``code="static"`` when it is not one)."""
    msg = d.message
    head = d.headline
    # a guard overload (lang/_guards.py): the expected type names the rule
    g = re.search(r"\b(HL10[34])_(NoOrder|AtLeastOnce)_input_needs_(commutative|idempotent)_proof\b", head)
    if g:
        where = re.search(rf"(?:to {_Q} of|in function {_Q})", head)
        name = (where.group(1) or where.group(2)) if where else None
        strong = "TotalOrder" if g.group(2) == "NoOrder" else "ExactlyOnce"
        return Finding(g.group(1), name, f"{strong} input, or {g.group(3)}=proof(...)",
                       f"{g.group(2)} and no {g.group(3)} proof")
    # a send_external guard: the keyword's expected type names the guarantee the stream lacks
    g = re.search(r"\bHL110_(NoOrder|AtLeastOnce)_stream_cannot_feed_", head)
    if g:
        kw = re.search(r'(?:Argument "(\w+)" to|parameter "(\w+)")', head)
        param = (kw.group(1) or kw.group(2)) if kw else ("ordered" if g.group(1) == "NoOrder" else "delivery")
        value = re.search(r'(?:Argument of type "Literal\[(.*?)\]")', head)
        return _contract("send_external", param, value.group(1) if value else "exactly_once/at_most_once")
    if "HL204_send_external_needs_flow_external" in head:
        got = re.search(rf"(?:has incompatible type|Argument of type) {_Q}", head)
        return Finding("HL204", "send_external", "an External location (a client outside the program)",
                       got.group(1) if got else "a location of the program")
    if "HL304_needs_a_proof_token_not_a_str" in head:
        where = re.search(rf"(?:to {_Q} of|in function {_Q})", head)
        kw = re.search(r'(?:Argument "(\w+)" to|parameter "(\w+)")', head)
        param = (kw.group(1) or kw.group(2)) if kw else "commutative/idempotent"
        return Finding("HL304", (where.group(1) or where.group(2)) if where else None,
                       f'{param}=proof("why"), a proof token', "a plain str")
    if "HL203_self_id_exists_only_on_a_Cluster" in head:
        m = re.search(r'"(\w+)" ', msg)
        return Finding("HL203", m.group(1) if m else None, "a Cluster (member identity exists only in a cluster)", "a Process")
    # (mypy) Invalid self argument "P" to attribute function "op" with type "SIG"
    m = re.match(rf"Invalid self argument {_Q} to attribute function {_Q} with type {_Q}", head)
    if m:
        expected = _self_type(m.group(3))
        f = _compare(m.group(1), expected, m.group(2), "self") if expected else None
        return f or Finding("static", m.group(2))
    # (pyright) Cannot access attribute "op" for class "P" / ... is not assignable to "E"
    m = re.match(rf"Cannot access attribute {_Q} for class {_Q}", head)
    if m:
        op = m.group(1)
        e = re.search(rf"\n\s*{_Q} is not assignable to {_Q}", msg)
        f = _compare(e.group(1), e.group(2), op, "self") if e else None
        return f or Finding("static", op)
    # (mypy) Argument N to "op" of "C" has incompatible type "P"; expected "E"
    m = re.match(rf"Argument \d+ to {_Q}(?: of {_Q})? has incompatible type {_Q}; expected {_Q}", head)
    if m:
        op, cls = m.group(1), m.group(2)
        role = "responses" if cls in ("ExternalBidi", "SingleClientPort") else "arg"
        f = _compare(m.group(3), m.group(4), op, role)
        return f or Finding("static", op)
    # (pyright) Argument of type "P" cannot be assigned to parameter "p" of type "E" in function "op"
    m = re.match(rf"Argument of type {_Q} cannot be assigned to parameter {_Q} of type {_Q} in function {_Q}", head)
    if m:
        present, param, expected, op = m.groups()
        if op == "send_external" and param in ("ordered", "delivery"):
            return _contract(op, param, present)
        f = _compare(present, expected, op, param)
        return f or Finding("static", op)
    # (mypy) No overload variant of "op" of "C" matches argument types ... (+ the variants left)
    m = re.match(rf"No overload variant of {_Q} of {_Q} matches argument types? (.*)$", head)
    if m:
        return _overload(m.group(1), m.group(2), m.group(3), msg)
    m = re.match(rf"No overloads for {_Q} match", head)
    if m:
        return _overload(m.group(1), None, "", msg)
    # a fold/reduce whose self matched only one overload: the missing proof is named
    m = re.match(rf'(?:Missing named argument {_Q} for {_Q}|Argument missing for parameter {_Q})', head)
    if m:
        param = m.group(1) or m.group(3)
        if param == "commutative":
            return Finding("HL103", m.group(2), 'TotalOrder input, or commutative=proof(...)', "NoOrder and no commutative proof")
        if param == "idempotent":
            return Finding("HL104", m.group(2), 'ExactlyOnce input, or idempotent=proof(...)', "AtLeastOnce and no idempotent proof")
    return Finding("static")


def _contract(op: str, param: str, present: str) -> Finding:
    if param == "ordered":
        return Finding("HL110", op, "a TotalOrder stream for ordered=True", "a stream that may be NoOrder")
    return Finding("HL110", op, f"an ExactlyOnce stream for delivery={present.replace('Literal[', '').rstrip(']')}",
                   "a stream that may be AtLeastOnce")


def _overload(op: str, cls: str | None, args: str, msg: str) -> Finding:
    variants = msg.splitlines()[1:]
    if op in ("fold", "reduce"):
        if re.search(r'(^|, )"str"', args):
            return Finding("HL304", op, 'a proof("why") token', "a str")
        # the variants left after binding self: the proofs all of them require
        required = [
            prop
            for prop in ("commutative", "idempotent")
            if variants and all(re.search(rf"\b{prop}: Proof(?! \|)", v) for v in variants if "def " in v)
        ]
        if required == ["commutative"]:
            return Finding("HL103", op, "TotalOrder input, or commutative=proof(...)", "NoOrder and no commutative proof")
        if required == ["idempotent"]:
            return Finding("HL104", op, "ExactlyOnce input, or idempotent=proof(...)", "AtLeastOnce and no idempotent proof")
        return Finding("static", op, extra={"needs_build": True})
    if op == "send_external":
        first = re.findall(_Q, args)
        if first and _parse(first[0])[0] != "External":
            return Finding("HL204", op, "an External location (a client outside the program)", first[0])
        return Finding("HL110", op, "the declared contract (ordered=/delivery=) held by the stream", "a weaker stream",
                       extra={"needs_build": True})
    if op == "complete" and cls in ("ExternalBidi", None):
        # compare the responses argument with the first variant's parameter
        argtypes = re.findall(_Q, args)
        v = next((v for v in variants if "responses:" in v), None)
        if argtypes and v:
            m = re.search(r"responses: (.*?), \*", v)
            if m:
                f = _compare(argtypes[0], m.group(1), op, "responses")
                if f is not None:
                    return f
        return Finding("static", op, extra={"needs_build": True})
    return Finding("static", op, extra={"needs_build": True})


# ---- the fix, as code -------------------------------------------------------------------

_FIXES: dict[str, str] = {
    "HL101": 's.assume_ordering(nondet("why any order is acceptable")).{op}(...)   '
    '# or sort a bounded batch: s.batch(tick, nondet("why")).sort().{op}(...)',
    "HL102": "s.unique().{op}(...)   "
    '# or, if duplicates cannot happen: s.assume_retries(nondet("why")).{op}(...)',
    "HL103": 's.{op}(..., commutative=proof("why f(f(acc, a), b) == f(f(acc, b), a)"))',
    "HL104": 's.{op}(..., idempotent=proof("why f(f(acc, a), a) == f(acc, a)"))   # or s.unique().{op}(...)',
    "HL105": 's.batch(tick, nondet("why a per-tick slice is enough")).{op}(...)   '
    '# a singleton: .snapshot(tick, nondet("why"))',
    "HL106": 'unbounded.batch(tick, nondet("why")) so both sides are per-tick, '
    "or bounded.all_ticks() so both are top-level, then .{op}(...)",
    "HL107": "s.all_ticks().{op}(...)   # leave the tick first (a singleton: .latest())",
    "HL108": 's.batch(tick, nondet("why")).{op}()   # or drop the call: the collection is already top-level',
    "HL109": "s.atomic(tick) ... .end_atomic()   # enter the atomic section before leaving it",
    "HL110": "restore the guarantee before the port (s.batch(tick, nondet(\"why\")).sort().all_ticks() for order, "
    's.unique() for duplicates), or declare what the stream has: ordered=False / delivery="at_least_once"',
    "HL111": 's.fold(..., monotone=proof("why it only grows")).{op}(...)   '
    '# or count()/value_counts(); keep it through map with order_preserving=proof("why")',
    "HL112": "consistent.weaken_consistency().{op}(other)   # a mix of consistent and per-member data is "
    "not consistent: weaken self first, or call other.{op}(consistent)",
    "HL201": "other.send(here)  # bring the data to this location first (a cluster: .demux/.broadcast), then .{op}(...)",
    "HL202": "s.batch(loc.tick(), nondet(\"why\"))   # a tick made by this collection's own location",
    "HL203": "cluster = flow.cluster(Tag)   # member ids, demux, broadcast and round_robin need a Cluster; "
    "to a single process use .send(process)",
    "HL204": 's.send(process)   # to a process of the program; a client made by flow.external(Tag) is reached with '
    's.send_external(client, name="...") and heard with loc.source_external(client, name="...")',
    "HL301": 'nondet("why this divergence is acceptable")',
    "HL304": 'commutative=proof("why it holds") / idempotent=proof("why it holds")',
    "HL403": "cycle.complete_next_tick(tick_level_stream)   # complete with a collection of the declared tick",
}


_SEND_TO_CLUSTER_FIX = (
    's.broadcast(cluster, nondet("why")) / s.round_robin(cluster, nondet("why")) / pairs.demux(cluster)   '
    "# .send(...) goes to one Process"
)


_REQUIRE_CONSISTENCY_FIX = (
    "s.broadcast_closed(cluster)   # every member of a fixed membership gets every element (not broadcast, "
    "round_robin or demux); keep nondet sites (batch, snapshot) and per-member inputs out, or claim it: "
    'x.assert_has_consistency_of(hl.EventualConsistency, nondet("why every member converges"))'
)


def fix_code(code: str, op: str | None, needed: str | None = None) -> str | None:
    """The fix for ``code`` at operator ``op``, written as code (``needed`` picks the variant)."""
    if code == "HL112" and op in (None, "make_eventually_consistent"):
        return _REQUIRE_CONSISTENCY_FIX
    if code == "HL203" and needed is not None and needed.startswith("a Process"):
        return _SEND_TO_CLUSTER_FIX
    template = _FIXES.get(code)
    if template is None:
        return None
    return template.replace("{op}", op or "op")
