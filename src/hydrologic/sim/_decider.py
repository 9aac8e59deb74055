"""Decisions: the one object through which a simulated execution branches.

Every nondet site asks the ``Decider``: what each batch of a tick releases and which version
each snapshot reveals (with the forced-release rule, so that no tick runs empty), the order an
in-tick ``assume_ordering`` sees, which element a top-level observation releases, whether each
message on a lossy channel arrives, the arrival order of ``send_many_unordered``, and, asked by
the scheduler and the absence checks, which unit runs next and whether to check now.

It owns the ``Chooser`` (the only source of branching: an execution *is* its list of answers) and
writes the note each decision leaves in the trace. It keeps no other state: what a decision
picked is written into the location's hooks (``Batch.release``, ``Snapshot.choose``, see
``_hooks``) and into the ``SimLocation``'s snapshot bookkeeping. The order of the ``choose``
calls is part of the contract: replay tokens and exhaustive search enumerate answer sequences.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..ir.node import Node
from ..runtime.ops import ABSENT, Batch, Snapshot
from ..types.markers import NoOrder
from ._choices import Chooser
from ._hooks import Choose, choose_subset, fixed_value, keep_value, permute, release_fixed, release_nothing
from ._location import Observer, SimLocation
from ._plan import TickPlan
from ._rules import SiteRule, enumerate_outcomes, observation_outcome, replayer
from ._trace import Trace, show_value, show_values

__all__ = ["Decider"]

Routed = list[tuple[int, list[Any]]]


class Decider:
    """Answers every nondet site of one execution with ``chooser``; notes each answer in ``trace``."""

    def __init__(self, chooser: Chooser, trace: Trace, rules: dict[int, SiteRule] | None = None) -> None:
        self.chooser = chooser
        self.trace = trace
        self.rules: dict[int, SiteRule] = rules or {}

    def choose(self, n: int) -> int:
        """An int in ``range(n)``; a single option is not a decision and is not asked."""
        if n <= 1:
            return 0
        return self.chooser.choose(n)

    def note(self, node: Node, what: str | Callable[[], str]) -> None:
        self.trace.note(node, what)

    def site_choose(self, node: Node, outcome: Callable[[Choose], Any]) -> Choose:
        """The ``choose`` that the decision at ``node`` must use: ``self.choose`` unless a test
        fixed or restricted the site (``sim.fix``/``sim.restrict``). Then the outcomes of the
        pure procedure ``outcome`` are enumerated, the chooser picks one of those the rule allows
        (one decision; none if only one is allowed), and the returned ``choose`` replays the
        answers that lead to it."""
        rule = self.rules.get(node.id)
        if rule is None:
            return self.choose
        options = enumerate_outcomes(outcome, node=node)
        allowed = rule.allowed(node, [v for _, v in options])
        k = self.choose(len(allowed))
        return replayer(options[allowed[k]][0])

    # ---- ticks --------------------------------------------------------------------------------

    def decide_tick(self, st: SimLocation, tp: TickPlan) -> None:
        """Decide what each batch and snapshot of the tick about to run releases.

        Hooks are decided in node order. Unless the tick has work of its own, the last hook that
        could release something must (it is *forced*) if none before it did, so that no tick runs
        without new input: an empty tick is indistinguishable from the tick not running yet.
        """
        triggered = st.tick_self_triggered(tp)
        hooks = tp.hooks  # in node order; an atomic section's entry is released like a batch
        if len(hooks) == 1:  # the common case, without the lists
            h, like_batch = hooks[0]
            forced = not triggered and st.hook_can_trigger(h)
            (self.decide_batch if like_batch else self.decide_snapshot)(st, h, forced)
            return
        can = [st.hook_can_trigger(h) for h, _ in hooks]
        for i, (h, like_batch) in enumerate(hooks):
            forced = not triggered and can[i] and not any(can[i + 1 :])
            if like_batch:
                triggered = self.decide_batch(st, h, forced) or triggered
            else:
                triggered = self.decide_snapshot(st, h, forced) or triggered

    def decide_batch(self, st: SimLocation, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Batch)
        pending = op.pending
        n = len(pending)
        if n == 0:
            op.release = release_nothing
            return False
        if node.order is NoOrder:
            ch = self.site_choose(node, lambda c: [pending[i] for i in choose_subset(c, n, forced)])
            idx = choose_subset(ch, n, forced)
            chosen = set(idx)
            out = [pending[i] for i in idx]
            op.pending = [x for i, x in enumerate(pending) if i not in chosen]
            kind = "unordered "
        elif node.kind == "keyed_stream":
            ch = self.site_choose(node, lambda c: self._keyed_prefix(c, pending, forced)[0])
            out, rest = self._keyed_prefix(ch, pending, forced)
            op.pending = rest
            kind = "per-key prefix of "
        else:
            f = 1 if forced else 0
            m = n - f + 1  # how many items it releases beyond the forced one: 0..n-f
            if node.id in self.rules:
                ch = self.site_choose(node, lambda c: pending[: f + (c(m) if m > 1 else 0)])
                c = f + ch(m)
            else:  # (no rule fixes this site: ``site_choose`` would return ``choose``)
                c = f + (self.chooser.choose(m) if m > 1 else 0)
            out = pending[:c]
            op.pending = pending[c:]
            kind = ""
        op.release = functools.partial(release_fixed, out)
        if out:
            held = f", holding back {len(op.pending)}" if op.pending else ""
            self.note(node, lambda: f"releasing {kind}items: {show_values(out)}{held}")
        else:
            self.note(node, f"releasing no items ({n} waiting)")
        return bool(out)

    def _keyed_prefix(self, choose: Choose, pending: list[Any], forced: bool) -> tuple[list[Any], list[Any]]:
        counts: dict[Any, int] = {}
        for k, _ in pending:
            counts[k] = counts.get(k, 0) + 1
        keys = list(counts)
        take: dict[Any, int] = {}
        any_taken = False
        for j, k in enumerate(keys):
            f = 1 if (forced and not any_taken and j == len(keys) - 1) else 0
            m = counts[k] - f + 1
            take[k] = f + (choose(m) if m > 1 else 0)
            any_taken = any_taken or take[k] > 0
        out: list[Any] = []
        rest: list[Any] = []
        seen: dict[Any, int] = {}
        for kv in pending:
            s = seen.get(kv[0], 0)
            (out if s < take[kv[0]] else rest).append(kv)
            seen[kv[0]] = s + 1
        return out, rest

    def decide_snapshot(self, st: SimLocation, node: Node, forced: bool) -> bool:
        op = st.rt.ops[node.id]
        assert isinstance(op, Snapshot)
        vs = st.versions[node.id]
        has_current = node.id in st.current
        if not vs:
            op.choose = functools.partial(fixed_value, st.current[node.id]) if has_current else keep_value
            return False
        keep = has_current and not forced
        cur0 = st.current.get(node.id)
        ch = self.site_choose(node, lambda c: _version(c, vs, cur0, keep))
        if keep:
            k = ch(len(vs) + 1)
            if k == 0:
                cur = st.current[node.id]
                op.choose = functools.partial(fixed_value, cur)
                m = len(vs)
                self.note(node, lambda: f"releasing unchanged snapshot: {_show(cur)} ({m} newer version(s) not yet seen)")
                return False
            i = k - 1
        else:
            i = ch(len(vs))
        v = vs[i]
        skipped = vs[:i]
        del vs[: i + 1]
        st.current[node.id] = v
        op.choose = functools.partial(fixed_value, v)
        self.note(node, lambda: f"releasing snapshot: {_show(v)}{_skipped(skipped)}")
        return True

    # ---- other nondet sites --------------------------------------------------------------------

    def observe(self, obs: Observer) -> None:
        """A scheduled top-level observation releases its next element (or per-key order)."""
        # the outcome procedure copies the buffer, so it is built only when a rule needs it
        self.note(obs.node, obs.decide(self.site_choose(obs.node, lambda c: observation_outcome(obs)(c))))

    def lossy(self, net: Node, routed: Routed, receiver: Callable[[int], str]) -> Routed:
        """What a lossy channel delivers: each message to each receiver is a decision, deliver or
        lose it (drops on channels the program declares lossy)."""
        token = net.params.get("channel_nondet")
        reason = token.reason if token is not None else "a lossy_delayed_forever channel may delay a message forever"
        step_open = False
        kept: Routed = []
        for i, batch in routed:
            for x in batch:
                if self.site_choose(net, _delivered)(2) == 0:
                    kept.append((i, [x]))
                    continue
                if not step_open:
                    self.trace.step(f"lossy channel `{net.method}` at {net.site}, nondet {reason!r}")
                    step_open = True
                self.note(net, f"losing {show_value(x)} on its way to {receiver(i)}")
        return kept

    def arrival_order(self, node: Node, values: list[Any], receiver: str) -> list[Any]:
        """``send_many_unordered`` into an order-sensitive input: any permutation arrives."""
        vals = values
        values = permute(self.site_choose(node, lambda c: permute(c, vals)), values)
        self.trace.step(f"send_many_unordered into {receiver}")
        self.trace.note(f"`sim_input` at {node.site} (the values arrive in any order)", f"arrival order: {show_values(values)}")
        return values


def _version(choose: Choose, vs: list[Any], current: Any, keep: bool) -> Any:
    """The version a snapshot reveals (``current`` is "keep what it showed last tick")."""
    if keep:
        k = choose(len(vs) + 1)
        return current if k == 0 else vs[k - 1]
    return vs[choose(len(vs)) if len(vs) > 1 else 0]


def _delivered(choose: Choose) -> bool:
    """A lossy channel's decision for one message: True if it arrives."""
    return choose(2) == 0


def _skipped(vs: list[Any]) -> str:
    return f" (skipping earlier versions: {', '.join(_show(x) for x in vs)})" if vs else ""


def _show(v: Any) -> str:
    return "absent" if v is ABSENT else show_value(v)
