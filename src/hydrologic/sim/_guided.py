"""Coverage-guided fuzzing: steer random executions towards behaviour not seen yet.

Plain fuzzing (``_engines.fuzz``) draws every answer afresh, so an execution that reached a rare
state (a batch that released an unusual combination, a tick that ran before its peer for once) is
forgotten as soon as it ends. This engine keeps it, the way AFL and libFuzzer keep inputs that
reached new edges:

* **Coverage.** Each execution yields *features*, small hashes of what it did at its nondet sites:
  (site, options offered, answer class) for every decision and for every pair of consecutive
  decisions (an "edge"), which unit the scheduler ran (instance, tick or observation), and
  program state at the site: the values each ``batch`` released (and how many it held back) and
  the version each ``snapshot`` revealed, hashed. A site feature hashes only that site's data,
  a few microseconds. Once per execution, each location's state at the end is a feature too
  (``final_states``): the sites show single decisions, the states show what combinations of
  them achieved.
* **Corpus.** An execution that produced a feature never seen before is kept as its list of
  answers. After the warm-up (below), new executions are mostly *mutations* of a kept one: change one or a few answers
  (keeping the rest of the list, or answering at random after the change), or splice the head
  of one kept execution onto the tail of another. Replaying a kept head reaches the rare state
  again cheaply, and the changed answer explores next to it.
* **Schedule.** Early on, plain random executions (drawn like ``fuzz``'s) find new coverage in
  a third to two thirds of runs, and most bugs a test suite seeds are found in that phase; a
  mutation of the few executions kept so far explores a narrower neighbourhood and finds them
  later (measured: 1.2-2x the executions on such bugs). So the search stays plain random while
  random executions keep finding new coverage (``Schedule``: at least ``WARMUP`` of them, and
  until the share of the recent ones that did falls below ``WARM_YIELD``). After that each
  execution is random or a mutation in proportion to how often each kind has recently found
  new coverage, never less than ``RANDOM_SHARE`` of either: guidance gets the budget only where
  it measurably pays, and the random share keeps finding bugs that need no guidance.

Failures are shrunk and reported exactly as plain fuzzing does (``_engines.shrink``/``failure``).
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, Iterator

from ._choices import Chooser
from ._reuse import Recycler
from ._engines import Make, Progress, RunResult, Scenario, Stats, failure, raise_fuzz_failure, run_once, shrink
from ._engines import _add_counts, _show_progress, _tick  # pyright: ignore[reportPrivateUsage]
from ._instance import SimInstance
from ._location import Observer, SimLocation
from ._plan import Plan
from ._parallel import WorkerFailure, islands_in_workers
from ._scheduler import Unit
from ._states import Unknown, _Encoder, _env_types, _ops  # pyright: ignore[reportPrivateUsage]
from ..ir.node import Node

__all__ = ["GuidedChooser", "Corpus", "Schedule", "executions", "guided_fuzz", "island_seed", "RANDOM_SHARE", "WARMUP", "WARM_YIELD"]

RANDOM_SHARE = 0.25
"""After the warm-up, the least share of executions of either kind (plain random, mutation)."""

WARMUP = 32
"""Plain random executions before the first mutation, at least."""

WARM_YIELD = 0.25
"""The warm-up lasts while at least this share of recent random executions found new coverage."""

_MEMORY = 1 / 16
"""Weight of the newest execution in each kind's running yield (about the last 16 count)."""

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


def final_states(inst: SimInstance, ch: GuidedChooser) -> None:
    """Program-state coverage: a feature for each location's operator state when the execution
    ends (the state the exhaustive search's key encodes, without inboxes and wiring), hashed.

    The site features above only see what crossed a nondet site; a protocol bug usually needs
    a *combination* of such decisions, and the states the locations reach on the way are what
    marks progress towards it (a client that counted a duplicate acknowledgement, a replica
    that holds an old version while the others moved on). A location's state is keyed by its
    location, not its member index, so members of a cluster in the same state count as one
    feature, as in the symmetry reduction. A state the encoder does not understand gives no
    feature. Measured on the register's bugs with 5 replicas over 40 seeds (docs/benchmarks.md),
    guided fuzzing needed 419 and 904 executions with these features, 451 and 1,123 without,
    and plain random 725 and at least 2,032; they cost about 0.1 ms per location per execution."""
    env = _env_types()
    for st in inst.locs:
        try:
            enc = _ops(_Encoder(env), st.keyed_ops)
        except (Unknown, TypeError, RecursionError):
            continue
        try:
            h = hash(enc)
        except TypeError:  # an unhashable atom the encoder kept as it is
            h = hash(repr(enc))
        ch.state(("final", id(st.info.loc), h))


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


class Schedule:
    """Decides, execution by execution, between plain random and a mutation of the corpus, by
    how often each kind has recently found new coverage (its *yield*, a running average).

    Plain random runs first, for at least ``WARMUP`` executions and while its yield stays at or
    above ``WARM_YIELD``: while random executions keep discovering, nothing steers better, and
    the cheap shallow bugs are found at random's rate. Then mutations start (their yield taken
    equal to random's, so the first comparison is fair) and the share of each kind follows the
    ratio of the yields, clamped to [``random_share``, 1 - ``random_share``]."""

    def __init__(self, random_share: float = RANDOM_SHARE, warmup: int = WARMUP, warm_yield: float = WARM_YIELD) -> None:
        self.random_share = random_share
        self.warmup = warmup
        self.warm_yield = warm_yield
        self.warming = True
        self.runs = 0
        self.yields = {"random": 1.0, "mutate": 1.0}

    def next_is_mutation(self, rng: random.Random) -> bool:
        if self.warming:
            if self.runs < self.warmup or self.yields["random"] >= self.warm_yield:
                return False
            self.warming = False
            self.yields["mutate"] = self.yields["random"]
        yr, ym = self.yields["random"], self.yields["mutate"]
        share = ym / (yr + ym) if yr + ym > 0 else 0.5
        lo = self.random_share
        return rng.random() < min(max(share, lo), 1 - lo)

    def record(self, mutation: bool, found_new: bool) -> None:
        """Account an execution: which kind it was and whether it found new coverage."""
        kind = "mutate" if mutation else "random"
        self.runs += 1
        y = self.yields[kind]
        self.yields[kind] = y + _MEMORY * ((1.0 if found_new else 0.0) - y)


def executions(
    plan: Plan, scenario: Scenario, *, iterations: int, seed: int, make: Make = SimInstance, random_share: float = RANDOM_SHARE
) -> Iterator[tuple[int, RunResult]]:
    """The guided search's executions, in order, as (iteration, result): each is drawn by the
    schedule (random or a mutation of the corpus), run, and, if it ran to the end, offered to
    the corpus before the next is drawn. The consumer decides when to stop."""
    master = random.Random(seed)
    corpus = Corpus()
    schedule = Schedule(random_share)
    made = instrument(Recycler(make))  # one instance reused (``_reuse``), its decider wrapped afresh each time
    for i in range(iterations):
        rng = random.Random(master.getrandbits(64))
        prefix: list[int] = []
        mutation = bool(corpus.entries) and schedule.next_is_mutation(rng)
        if mutation:
            prefix = corpus.mutate(rng)
        ch = GuidedChooser(prefix, rng)
        res = run_once(plan, scenario, ch, made)
        if res.status == "ok":
            if res.instance is not None:
                final_states(res.instance, ch)
            schedule.record(mutation, corpus.offer(ch))
        yield i, res


def island_seed(seed: int, k: int) -> int:
    """Island ``k``'s seed: island 0 is the one-process search itself."""
    return seed if k == 0 else random.Random(seed * 7_919 + k).getrandbits(63)


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
    workers: int = 1,
) -> Stats:
    """Like ``_engines.fuzz`` (same arguments, same failures), steered by coverage.

    ``workers > 1``: that many islands on forked processes (``_parallel.islands_in_workers``),
    each a guided search of its own with ``island_seed(seed, k)`` and its share of
    ``iterations``; the first failure any island reports is run again here, shrunk and raised.
    Islands do not share their corpora: what one learns the others find for themselves, which
    keeps them exploring apart."""
    stats = stats or Stats("fuzz", target=iterations)
    if workers > 1:
        return _in_islands(plan, scenario, iterations, seed, time_limit, shrink_failures, progress, stats, make, random_share, workers)
    last = [0.0]
    for i, res in executions(plan, scenario, iterations=iterations, seed=seed, make=make, random_share=random_share):
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
        if time_limit is not None and time.perf_counter() - stats.started > time_limit:
            break
    stats.complete = True
    stats.seconds = time.perf_counter() - stats.started
    if progress is not None:
        progress(stats)
    return stats


def _in_islands(
    plan: Plan,
    scenario: Scenario,
    iterations: int,
    seed: int,
    time_limit: float | None,
    shrink_failures: bool,
    progress: Progress | None,
    stats: Stats,
    make: Make,
    random_share: float,
    workers: int,
) -> Stats:
    __tracebackhide__ = True
    last = [0.0]
    deadline = None if time_limit is None else stats.started + time_limit
    shares = [iterations // workers + (1 if k < iterations % workers else 0) for k in range(workers)]

    def island(k: int, count: Callable[[Any, Any], None]) -> tuple[list[int], int] | None:
        search = executions(plan, scenario, iterations=shares[k], seed=island_seed(seed, k), make=make, random_share=random_share)
        for i, res in search:
            count(res.status, res.chooser)
            if res.status == "failed":
                return list(res.chooser.values), i
            if deadline is not None and time.perf_counter() > deadline:
                break
        return None

    def account(executions: int, pruned: int, decisions: int, _hits: int) -> None:
        _add_counts(stats, executions, pruned, decisions)

    def check() -> None:
        _show_progress(stats, progress, last)

    try:
        islands_in_workers(island, workers=workers, account=account, check=check)
    except WorkerFailure as w:
        stats.seconds = time.perf_counter() - stats.started
        how = f"coverage-guided fuzz seed={seed}, island {w.island} of {workers}, iteration {(w.iteration or 0) + 1}"
        raise_fuzz_failure(plan, scenario, make, w, how, shrink_failures)
    stats.complete = True
    stats.seconds = time.perf_counter() - stats.started
    if progress is not None:
        progress(stats)
    return stats
