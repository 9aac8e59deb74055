"""Coverage-guided fuzzing: steer random executions towards behaviour not seen yet.

Plain fuzzing (``_engines.fuzz``) draws every answer afresh, so an execution that reached a rare
state (a batch that released an unusual combination, a tick that ran before its peer for once) is
forgotten as soon as it ends. This engine keeps it, the way AFL and libFuzzer keep inputs that
reached new edges:

* **Coverage.** Each execution yields *features*, small hashes of what it did at its nondet sites:
  (site, options offered, answer class) for every decision and for every pair of consecutive
  decisions (an "edge"), which unit the scheduler ran (instance, tick or observation), and
  program state at the site: the values each ``batch`` released (and how many it held back) and
  the version each ``snapshot`` revealed, hashed. Only a site's own data is hashed, never a
  whole location, so a feature costs a few microseconds.
* **Corpus.** An execution that produced a feature never seen before is kept as its list of
  answers. New executions are mostly *mutations* of a kept one: change one or a few answers
  (keeping the rest of the list, or answering at random after the change), or splice the head
  of one kept execution onto the tail of another. Replaying a kept head reaches the rare state
  again cheaply, and the changed answer explores next to it.
* **Fallback.** One execution in four (and every execution while the corpus is empty) is plain
  random, drawn like ``fuzz``'s, so the search is never worse than random by more than that
  share, and it still finds bugs that need no guidance.

Failures are shrunk and reported exactly as plain fuzzing does (``_engines.shrink``/``failure``).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

from ._choices import Chooser
from ._engines import Make, Progress, RunResult, Scenario, Stats, _tick, failure, run_once, shrink  # pyright: ignore[reportPrivateUsage]
from ._instance import SimInstance
from ._location import Observer, SimLocation
from ._plan import Plan
from ._scheduler import Unit
from ..ir.node import Node

__all__ = ["GuidedChooser", "Corpus", "guided_fuzz", "RANDOM_SHARE"]

RANDOM_SHARE = 0.25
"""The share of executions drawn plainly at random (the fallback)."""

_MASK = (1 << 62) - 1


def _digest(value: Any) -> int:
    """A cheap, stable-within-a-run hash of a site's data (unhashable values by a bounded repr)."""
    try:
        return hash(value) & _MASK
    except TypeError:
        if isinstance(value, (list, tuple)):
            items: list[Any] = list(value[:64])  # pyright: ignore[reportUnknownArgumentType]
            return hash(tuple(_digest(v) for v in items)) & _MASK
        return hash(repr(value)[:256]) & _MASK


def _answer_class(v: int, n: int) -> int:
    """Small option counts keep the exact answer; larger ones keep first/last/quartile."""
    if n <= 4:
        return v
    if v == 0:
        return -1
    if v == n - 1:
        return -2
    return v * 4 // n


class GuidedChooser:
    """Replays ``prefix`` (clamped to each question's options), then answers at random like
    ``RandomChooser`` (biased towards the extremes); records the execution's coverage features."""

    prunes = False

    def __init__(self, prefix: list[int], rng: random.Random) -> None:
        self.prefix = prefix
        self.rng = rng
        self.values: list[int] = []
        self.ranges: list[int] = []
        self.features: set[int] = set()
        self.site: Any = None  # the nondet site deciding now (set by the instrumented decider)
        self._prev = 0

    def choose(self, n: int) -> int:
        i = len(self.values)
        if i < len(self.prefix):
            v = min(self.prefix[i], n - 1)
        else:
            r = self.rng.random()
            v = 0 if r < 0.1 else n - 1 if r < 0.2 else self.rng.randrange(n)
        self.values.append(v)
        self.ranges.append(n)
        f = hash((self.site, min(n, 17), _answer_class(v, n))) & _MASK
        self.features.add(f)
        self.features.add(hash((self._prev, f)) & _MASK)
        self._prev = f
        return v

    def state(self, key: tuple[Any, ...]) -> None:
        """A program-state feature seen at a site (released values, a revealed version, a step)."""
        self.features.add(hash(key) & _MASK)


def instrument(make: Make) -> Make:
    """Wrap ``make`` so that a ``GuidedChooser``'s execution reports its site and state features:
    the decider's per-site methods and the scheduler's pick are wrapped on the instance (the class
    is untouched, so the other engines and the naive explorer are unaffected)."""

    def made(plan: Plan, chooser: Chooser) -> SimInstance:
        inst = make(plan, chooser)
        if isinstance(chooser, GuidedChooser):
            _wrap(inst, chooser)
        return inst

    return made


def _wrap(inst: SimInstance, ch: GuidedChooser) -> None:
    d = inst.decider
    batch = d.decide_batch
    snapshot = d.decide_snapshot
    observe = d.observe
    pick = inst.scheduler.pick

    def decide_batch(st: SimLocation, node: Node, forced: bool) -> bool:
        ch.site = node.id
        released = batch(st, node, forced)
        op: Any = st.rt.ops[node.id]
        args = getattr(op.release, "args", None)
        out: Any = args[0] if args else ()
        ch.state((node.id, st.info.index, "batch", _digest(out), len(getattr(op, "pending", ()))))
        ch.site = None
        return released

    def decide_snapshot(st: SimLocation, node: Node, forced: bool) -> bool:
        ch.site = node.id
        changed = snapshot(st, node, forced)
        ch.state((node.id, st.info.index, "snapshot", _digest(st.current.get(node.id))))
        ch.site = None
        return changed

    def do_observe(obs: Observer) -> None:
        ch.site = obs.node.id
        observe(obs)
        ch.site = None

    def do_pick(cands: list[Unit]) -> Unit:
        ch.site = "scheduler"
        u = pick(cands)
        ch.state(("ran", u[0], u[1], u[2], len(cands)))
        ch.site = None
        return u

    setattr(d, "decide_batch", decide_batch)
    setattr(d, "decide_snapshot", decide_snapshot)
    setattr(d, "observe", do_observe)
    setattr(inst.scheduler, "pick", do_pick)


class Corpus:
    """Kept executions (answer lists) that reached new coverage, and how often each feature was hit."""

    def __init__(self) -> None:
        self.entries: list[tuple[list[int], list[int], frozenset[int]]] = []  # (answers, option counts, features)
        self.hits: dict[int, int] = {}

    def offer(self, ch: GuidedChooser) -> bool:
        """Count ``ch``'s features; keep its execution if one of them was never seen (True then)."""
        hits = self.hits
        new = False
        for f in ch.features:
            n = hits.get(f, 0)
            new = new or n == 0
            hits[f] = n + 1
        if new:
            self.entries.append((list(ch.values), list(ch.ranges), frozenset(ch.features)))
        return new

    def _rarity(self, i: int) -> int:
        """How often the rarest feature of entry ``i`` has been hit since (lower: rarer)."""
        hits = self.hits
        return min((hits[f] for f in self.entries[i][2]), default=0)

    def pick(self, rng: random.Random) -> int:
        """A tournament: of a few entries drawn at random, the one whose rarest feature has been
        hit least often, so executions near rarely reached behaviour are mutated most."""
        k = len(self.entries)
        best = rng.randrange(k)
        score = self._rarity(best)
        for _ in range(min(3, k - 1)):
            j = rng.randrange(k)
            sj = self._rarity(j)
            if sj < score:
                best, score = j, sj
        return best

    def mutate(self, rng: random.Random) -> list[int]:
        """A prefix to replay: a kept execution with one to four answers changed (the rest kept
        or left to chance), or a splice of two kept executions."""
        k = len(self.entries)
        values, ranges, _ = self.entries[self.pick(rng)]
        if not values:
            return []
        how = rng.random()
        if how < 0.15 and k > 1:
            other = self.entries[rng.randrange(k)][0]
            cut = rng.randrange(len(values))
            return values[:cut] + other[cut:]
        out = list(values)
        last = 0
        for _ in range(1 + int(rng.expovariate(1.0)) % 4):
            j = rng.randrange(len(out))
            out[j] = rng.randrange(ranges[j])
            last = max(last, j)
        if how < 0.55:
            return out[: last + 1]  # answer at random after the change
        return out


def guided_fuzz(
    plan: Plan,
    scenario: Scenario,
    *,
    iterations: int,
    seed: int,
    time_limit: float | None = None,
    shrink_failures: bool = True,
    progress: Progress | None = None,
    stats: Stats | None = None,
    make: Make = SimInstance,
    random_share: float = RANDOM_SHARE,
    on_execution: Callable[[RunResult], None] | None = None,
) -> Stats:
    """Like ``_engines.fuzz`` (same arguments, same failures), steered by coverage."""
    stats = stats or Stats("fuzz", target=iterations)
    last = [0.0]
    master = random.Random(seed)
    corpus = Corpus()
    made = instrument(make)
    for i in range(iterations):
        rng = random.Random(master.getrandbits(64))
        prefix: list[int] = []
        if corpus.entries and rng.random() >= random_share:
            prefix = corpus.mutate(rng)
        ch = GuidedChooser(prefix, rng)
        res = run_once(plan, scenario, ch, made)
        _tick(stats, res, progress, last)
        if on_execution is not None:
            on_execution(res)
        if res.status == "failed":
            stats.seconds = time.perf_counter() - stats.started
            found = len(res.chooser.values)
            if shrink_failures:
                res = shrink(plan, scenario, res)
            how = f"coverage-guided fuzz seed={seed}, iteration {i + 1}"
            if shrink_failures:
                how += f", shrunk from {found} to {len(res.chooser.values)} decision(s)"
            raise failure(plan, res, how)
        if res.status == "ok":
            corpus.offer(ch)
        if time_limit is not None and time.perf_counter() - stats.started > time_limit:
            break
    stats.complete = True
    stats.seconds = time.perf_counter() - stats.started
    if progress is not None:
        progress(stats)
    return stats
