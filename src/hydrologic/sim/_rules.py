"""Scripted decisions: a test fixes or restricts what a named nondet site may decide.

``sim.fix(site, pick)`` and ``sim.restrict(site, allowed)`` (the simulator's counterpart of
Hydro's simulation hooks) attach a ``SiteRule`` to every nondet site the name matches. A site
is named by its ``nondet`` reason, by the ``NonDet`` token itself, by the collection its operator
returned, or by its ``file:line``.

How a rule applies, for every kind of decision at once: each decision is a small pure procedure
over ``choose`` (a prefix of a batch, a subset, a permutation, a version, deliver-or-lose). With a
rule, the ``Decider`` first *enumerates* that procedure's outcomes (a DFS over its answers, as
the exhaustive search does over a whole execution), keeps those the rule allows, asks the chooser
to pick one of them (a single decision, with one option fewer per excluded outcome: nothing at
all when the rule fixes it), then replays the answers of the picked outcome into the real
procedure. So the search, the replay tokens and the cost estimate all see the smaller space.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from ..ir.node import Node
from ..types.errors import UsageError
from ..types.nondet import NonDet
from ..types.site import Site
from ._hooks import Choose, MergeObservation, OrderObservation, keyed_permute
from ._trace import describe_site, show_value, show_values

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = [
    "SiteRule",
    "ScriptError",
    "MAX_OPTIONS",
    "decision_nodes",
    "resolve_site",
    "site_matches",
    "enumerate_outcomes",
    "replayer",
    "observation_outcome",
    "rules_tag",
]

MAX_OPTIONS = 10_000
"""A rule enumerates the options of a decision; beyond this many it refuses (an unordered batch
of 14 elements already has 16,384 subsets)."""

Outcome = Callable[[Choose], Any]


class ScriptError(UsageError):
    """HL501: a scripted rule cannot apply (an unknown site, or no option left to choose)."""


@dataclass(frozen=True)
class SiteRule:
    """What ``fix``/``restrict`` said about one site: ``kind`` is "fix" (``fn(options)`` returns
    the one option to take) or "restrict" (``fn(option)`` says whether it may be taken)."""

    kind: str
    fn: Callable[..., Any]
    name: str  # how the test named the site, for messages
    site: Site  # where the test called fix/restrict

    def allowed(self, node: Node, options: list[Any]) -> list[int]:
        """The indices of ``options`` this rule allows (exactly one for ``fix``)."""
        where = f"sim.{self.kind}({self.name!r}) at {self.site}"
        if self.kind == "fix":
            picked = self.fn(list(options))
            for i, o in enumerate(options):
                if o is picked:
                    return [i]
            for i, o in enumerate(options):
                if _equal(o, picked):
                    return [i]
            raise ScriptError(
                "HL501",
                f"{where}: the function returned {show_value(picked)}, which is not one of the options of "
                f"{describe_site(node)} here: {show_values(options)}. Return one of the options it is given.",
                site=self.site,
            )
        keep = [i for i, o in enumerate(options) if self.fn(o)]
        if not keep:
            raise ScriptError(
                "HL501",
                f"{where} allows none of the options of {describe_site(node)} here: {show_values(options)}. "
                "Allow at least one (every decision needs an answer), or fix the site instead.",
                site=self.site,
            )
        return keep

    def tag(self) -> str:
        code = getattr(self.fn, "__code__", None)
        where = f"{os.path.basename(code.co_filename)}:{code.co_firstlineno}" if code is not None else repr(self.fn)
        return f"{self.kind}:{self.name}:{getattr(self.fn, '__qualname__', '')}:{where}"


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def decision_nodes(plan: Plan) -> list[Node]:
    """Every node at which the simulator makes a decision that a rule can fix or restrict."""
    out: dict[int, Node] = {}
    for lp in plan.locs.values():
        for tp in lp.ticks:
            for n in tp.batches + tp.snapshots + tp.orderings:
                out[n.id] = n
        for n in lp.observations:
            out[n.id] = n
    for n in plan.graph.nodes:
        if n.op == "network" and n.params.get("channel", "fail_stop") != "fail_stop":
            out[n.id] = n
        elif n.op == "sim_input":
            out[n.id] = n
    return sorted(out.values(), key=lambda n: n.id)


def _reasons(node: Node) -> Iterator[NonDet]:
    tok = node.nondet
    if tok is not None:
        yield from tok.chain()
    ch = node.params.get("channel_nondet")
    if isinstance(ch, NonDet):
        yield from ch.chain()


def site_matches(site: Site, text: str) -> bool:
    """Does ``text`` ("file:line", the file as a path or a path's tail) name ``site``?"""
    if ":" not in text:
        return False
    file, _, line = text.rpartition(":")
    if not line.isdigit() or int(line) != site.line:
        return False
    return site.file == file or site.file.endswith("/" + file) or str(site) == text


def resolve_site(plan: Plan, site: Any, *, who: str, at: Site) -> list[Node]:
    """The decision nodes ``site`` names: a ``NonDet`` token, a collection built by a nondet
    operator, a ``nondet`` reason, or ``file:line``. ``ScriptError`` lists the known sites."""
    nodes = decision_nodes(plan)
    found: list[Node]
    if isinstance(site, NonDet):
        found = [n for n in nodes if any(t is site for t in _reasons(n))]
    elif isinstance(site, str):
        found = [n for n in nodes if any(t.reason == site for t in _reasons(n))]
        if not found:
            found = [n for n in nodes if site_matches(n.site, site)]
    else:
        target = getattr(site, "_node", None)
        found = [n for n in nodes if n is target]
    if not found:
        known = "\n".join(f"  {describe_site(n)}" for n in nodes) or "  (none: this program makes no decision)"
        raise ScriptError(
            "HL501",
            f"{who}({site!r}) names no nondet site of this program. Name a site by its nondet reason, its "
            f"NonDet token, the collection its operator returned, or its file:line. Known sites:\n{known}",
            site=at,
        )
    return found


def enumerate_outcomes(proc: Outcome, *, node: Node, limit: int = MAX_OPTIONS) -> list[tuple[list[int], Any]]:
    """Every outcome of the decision procedure ``proc`` with the answers that lead to it, in the
    order the search would try them (depth first, first option first)."""
    out: list[tuple[list[int], Any]] = []
    prefix: list[int] = []
    while True:
        values: list[int] = []
        ranges: list[int] = []

        def choose(n: int) -> int:
            if n <= 1:
                return 0
            i = len(values)
            v = prefix[i] if i < len(prefix) else 0
            values.append(v)
            ranges.append(n)
            return v

        out.append((values, proc(choose)))
        if len(out) > limit:
            raise ScriptError(
                "HL501",
                f"{describe_site(node)} has more than {limit:,} options here, too many to fix or restrict "
                "one by one: give it less to decide (fewer elements pending at once)",
            )
        i = len(values) - 1
        while i >= 0 and values[i] + 1 >= ranges[i]:
            i -= 1
        if i < 0:
            return out
        prefix = values[:i] + [values[i] + 1]


def replayer(answers: list[int]) -> Choose:
    """A ``choose`` that gives ``answers`` back in order (the picked outcome's path)."""
    it = iter(answers)

    def choose(n: int) -> int:
        return next(it, 0) if n > 1 else 0

    return choose


def observation_outcome(obs: OrderObservation | MergeObservation) -> Outcome:
    """What a top-level observation would release, as a pure procedure (it mutates nothing)."""
    if isinstance(obs, MergeObservation):
        left, right = list(obs.left), list(obs.right)

        def merged(choose: Choose) -> Any:
            if left and right:
                return right[0] if choose(2) else left[0]
            return left[0] if left else right[0]

        return merged
    buf = list(obs.buffer)
    if obs.node.kind == "keyed_stream":
        return lambda choose: keyed_permute(choose, buf)
    return lambda choose: buf[choose(len(buf))]


def rules_tag(rules: dict[int, SiteRule]) -> str:
    """A fingerprint suffix: replay tokens made under rules only replay under the same rules."""
    if not rules:
        return ""
    text = ";".join(f"{k}={r.tag()}" for k, r in sorted(rules.items()))
    return "s" + hashlib.sha256(text.encode()).hexdigest()[:6]
