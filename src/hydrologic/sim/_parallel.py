"""One search on several processes: the exhaustive DFS split into subtrees, fuzzing into iterations.

An execution is pure Python and holds the GIL from start to end, so a second core needs a second
interpreter. Workers are ``fork``ed copies of this process made after the search has started:
they inherit the program, the plan (scripted rules, invariants, fault budget, symmetry), the
scenario closure and, with state caching, every state the search explored so far. Only answer
lists and counts cross between processes, never program values.

**Exhaustive.** A subtree of the decision tree is named by a prefix of answers: the executions
that start with it. The search in this process runs until its cost estimate is made (the probe),
then hands on what it had not explored yet: for each decision of its last execution, each option
after the one taken, a prefix. Those subtrees are disjoint, and with the executions already run
they cover the tree. Workers take prefixes from a shared queue and run each subtree with the same
odometer as the one-process search (``_engines.exhaustive``), never moving an answer above the
prefix. A worker that sees the queue empty gives away the largest part of its own subtree it has
not started (the options after the one taken at its shallowest open decision) and caps that
decision for itself, so the load stays balanced however lopsided the tree is.

Sound with the reductions, because each depends only on the prefix or on this process's past:

* sleep sets are computed from the answers before a decision (the siblings already taken), so a
  subtree replayed elsewhere prunes exactly as it would have here;
* state caching: each worker keeps its own table, starting from the states this process explored
  before the hand-off. A state is pruned only where it was first reached, in this worker or
  before the fork, and every subtree under that first visit is explored by some worker (it was
  handed on, or kept). Workers do not share later states, so two of them may explore the same
  state: more executions than one process would run, never fewer states.

**Fuzz.** Execution ``i`` draws its answers from the ``i``-th seed of the one-process search's
generator, and worker ``k`` runs the executions with ``i % workers == k``: the same executions as
the one-process search, so ``seed=`` still names them, and a failure's iteration number is the
same one.

**Islands** (guided fuzzing, ``_guided``). A coverage-guided search keeps a corpus that each
execution changes, so its executions cannot be dealt out by number. Each worker runs a search
of its own instead (an island: its own seed, corpus and share of the iterations), and only the
counts and a failure's answers come back. A given seed and worker count name the same islands,
but which island meets a failure first depends on timing.

A failure found in a worker is sent here as its answer list and run again in this process, so
the trace, shrinking and reproducer file come from the same code as in a one-process search.
Which failure is reported, when several exist, depends on which worker meets one first.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import queue
import random
import sys
import time
import warnings
from typing import Any, Callable, Generator

from ..types.errors import UsageError
from ._choices import PrefixChooser, RandomChooser

__all__ = ["can_fork", "check_workers", "subtrees", "exhaust_in_workers", "fuzz_in_workers", "islands_in_workers", "Island"]

REPORT_EVERY = 0.1
"""Seconds between a worker's count reports (progress and budgets are checked at this pace)."""

Prefix = list[int]


def can_fork() -> bool:
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def check_workers(workers: int, who: str, at: Any = None) -> None:
    if not isinstance(workers, int) or workers < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise UsageError("HL501", f"{who}(workers={workers!r}): workers must be an int >= 1", site=at)
    if workers > 1 and not can_fork():
        raise UsageError(
            "HL501",
            f"{who}(workers={workers}) needs processes started by fork, which this platform does not have",
            site=at,
            fix="Use workers=1 here (the search is the same, on one core).",
        )


def subtrees(values: list[int], ranges: list[int]) -> list[Prefix]:
    """What a DFS whose last execution answered ``values`` (to questions of ``ranges`` options)
    has not explored: for each decision, every later option. Shallowest (largest) first."""
    out: list[Prefix] = []
    for i, (v, r) in enumerate(zip(values, ranges)):
        out.extend(values[:i] + [j] for j in range(v + 1, r))
    return out


# ---- exhaustive -----------------------------------------------------------------------------------


class _Counts:
    """Executions, pruned executions, decisions and state-cache hits since the last report."""

    __slots__ = ("executions", "pruned", "decisions", "hits", "sent")

    def __init__(self) -> None:
        self.executions = self.pruned = self.decisions = self.hits = 0
        self.sent = time.perf_counter()

    def ran(self, run: Callable[[Any], Any], ch: Any) -> bool:
        """Run one execution with chooser ``ch`` and count it; False if it failed or the search
        itself raised (an error of the search, a false claim or a broken symmetry claim, is raised
        again when this process re-runs the execution)."""
        try:
            res = run(ch)
        except Exception:
            return False
        if res.status == "pruned":
            self.pruned += 1
        else:
            self.executions += 1
        self.decisions += len(ch.values)
        if isinstance(ch, PrefixChooser) and ch.rewinds:  # pruned ones that went back (``_rewind``)
            self.pruned += ch.rewinds
            self.decisions += ch.rewound_decisions
        return bool(res.status != "failed")

    def message(self, kind: str, *extra: Any) -> tuple[Any, ...]:
        m = (kind, self.executions, self.pruned, self.decisions, self.hits, *extra)
        self.executions = self.pruned = self.decisions = self.hits = 0
        self.sent = time.perf_counter()
        return m


def _explore(
    run: Callable[[PrefixChooser], Any],
    prefix: Prefix,
    tasks: Any,
    results: Any,
    counts: _Counts,
    table: Any,
) -> bool:
    """Every execution of the subtree ``prefix``; False if one failed (reported already)."""
    floor = len(prefix)
    caps: dict[int, int] = {}  # decisions whose later options were given away
    advance = functools.partial(_advance, floor, caps)
    excluded: dict[int, frozenset[int]] = {}
    while True:
        ch = PrefixChooser(prefix, prunes=True)
        ch.advance = advance
        ch.excluded = excluded
        ch.caps = caps
        before = table.hits if table is not None else 0
        ok = counts.ran(run, ch)
        if table is not None:
            counts.hits += table.hits - before
        if not ok:
            results.put(counts.message("failed", list(ch.values)))
            return False
        values = ch.values
        ranges = list(ch.ranges)
        for d, c in caps.items():
            if d < len(ranges):
                ranges[d] = min(ranges[d], c)
        if tasks.empty():  # another worker waits (or soon will): give it the largest part not started
            for i in range(floor, len(values)):
                if values[i] + 1 < ranges[i]:
                    skip = ch.excluded.get(i, frozenset())  # (options that ran from that state before)
                    given = [values[:i] + [j] for j in range(values[i] + 1, ranges[i]) if j not in skip]
                    # counted here before anyone can take (and finish) them
                    results.put(("spawned", len(given)))
                    for t in given:
                        tasks.put(t)
                    caps[i] = ranges[i] = values[i] + 1
                    break
        nxt = advance(values, ranges)
        if nxt is None:
            return True
        prefix = nxt
        excluded = ch.keep_excluded(len(nxt) - 1)
        if time.perf_counter() - counts.sent > REPORT_EVERY:
            results.put(counts.message("count"))


def _advance(floor: int, caps: dict[int, int], values: list[int], ranges: list[int]) -> Prefix | None:
    """The next execution of a worker's DFS after one that answered ``values``: the odometer of
    ``_explore``, within its subtree (nothing above ``floor``) and without the options it gave
    away (``caps``, from which it drops the decisions below the one it changes). An execution
    pruned on the way goes back to it (``_rewind``)."""
    i = len(values) - 1
    while i >= floor and values[i] + 1 >= (min(ranges[i], caps[i]) if i in caps else ranges[i]):
        i -= 1
    if i < floor:
        return None
    for d in [d for d in caps if d > i]:  # below the decision that changes, every node is new
        del caps[d]
    return values[:i] + [values[i] + 1]


def _exhaust_worker(run: Callable[[PrefixChooser], Any], table: Any, tasks: Any, results: Any) -> None:
    counts = _Counts()
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            if not _explore(run, task, tasks, results, counts, table):
                return
            results.put(counts.message("done"))
    except BaseException as e:  # an error of the search itself (not a failing execution)
        import traceback

        results.put(("crashed", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


class WorkerFailure(Exception):
    """A worker found a failing execution (``values``), or its search raised (``crash``)."""

    def __init__(self, values: list[int] | None, crash: str | None = None, iteration: int | None = None, island: int | None = None) -> None:
        super().__init__(crash or "a worker found a failing execution")
        self.values = values
        self.crash = crash
        self.island = island  # the island that found it (``islands_in_workers``)
        self.iteration = iteration


def exhaust_in_workers(
    run: Callable[[PrefixChooser], Any],
    table: Any,
    tasks0: list[Prefix],
    workers: int,
    account: Callable[[int, int, int, int], None],
    check: Callable[[], None],
) -> None:
    """Explore the subtrees ``tasks0`` with ``workers`` forked processes, each running
    ``run(chooser)`` per execution. ``account(executions, pruned, decisions, hits)``
    takes the workers' counts as they come; ``check()`` runs between reports (budgets,
    progress) and stops the search by raising. Raises ``WorkerFailure`` for a failing
    execution (its answers) or a worker's own error."""
    if not tasks0:
        return
    ctx = multiprocessing.get_context("fork")
    tasks: Any = ctx.Queue()
    results: Any = ctx.Queue()
    for t in tasks0:
        tasks.put(t)
    procs = [ctx.Process(target=_exhaust_worker, args=(run, table, tasks, results), daemon=True) for _ in range(workers)]
    left = [len(tasks0)]  # subtrees handed out and not finished

    def handle(kind: str, msg: tuple[Any, ...]) -> bool:
        if kind == "spawned":
            left[0] += msg[1]
        elif kind == "done":
            left[0] -= 1
        elif kind == "failed":
            raise WorkerFailure(msg[5])
        return left[0] == 0

    _supervise(procs, tasks, results, account, handle, check)


# ---- fuzz -----------------------------------------------------------------------------------------


def _fuzz_worker(
    run: Callable[[RandomChooser], Any], seed: int, k: int, workers: int, iterations: int, deadline: float | None, results: Any
) -> None:
    counts = _Counts()
    try:
        master = random.Random(seed)
        for i in range(iterations):
            bits = master.getrandbits(64)
            if i % workers != k:
                continue
            ch = RandomChooser(random.Random(bits))
            if not counts.ran(run, ch):
                results.put(counts.message("failed", list(ch.values), i))
                return
            now = time.perf_counter()
            if deadline is not None and now > deadline:
                break
            if now - counts.sent > REPORT_EVERY:
                results.put(counts.message("count"))
        results.put(counts.message("done"))
    except BaseException as e:
        import traceback

        results.put(("crashed", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


def fuzz_in_workers(
    run: Callable[[RandomChooser], Any],
    *,
    seed: int,
    iterations: int,
    workers: int,
    deadline: float | None,
    account: Callable[[int, int, int, int], None],
    check: Callable[[], None],
) -> None:
    """The fuzz search's ``iterations`` executions shared among ``workers`` forked processes
    (see the module docstring); raises ``WorkerFailure`` with the failing execution's answers
    and iteration."""
    ctx = multiprocessing.get_context("fork")
    results: Any = ctx.Queue()
    procs = [
        ctx.Process(target=_fuzz_worker, args=(run, seed, k, workers, iterations, deadline, results), daemon=True)
        for k in range(workers)
    ]
    running = [workers]

    def handle(kind: str, msg: tuple[Any, ...]) -> bool:
        if kind == "done":
            running[0] -= 1
        elif kind == "failed":
            raise WorkerFailure(msg[5], iteration=msg[6])
        return running[0] == 0

    _supervise(procs, None, results, account, handle, check)


Island = Callable[[int, Callable[[Any, Any], None]], "tuple[list[int], int] | None"]
"""An island's search: ``island(k, count)`` runs worker ``k``'s own search, calling
``count(status, chooser)`` after each execution, and returns the failing execution's answers and
its iteration, or None if its share ran out (or its deadline passed) without one."""


def _island_worker(island: Island, k: int, results: Any) -> None:
    counts = _Counts()

    def count(status: Any, ch: Any) -> None:
        if status == "pruned":
            counts.pruned += 1
        else:
            counts.executions += 1
        counts.decisions += len(ch.values)
        if time.perf_counter() - counts.sent > REPORT_EVERY:
            results.put(counts.message("count"))

    try:
        found = island(k, count)
        if found is not None:
            results.put(counts.message("failed", found[0], found[1], k))
            return
        results.put(counts.message("done"))
    except BaseException as e:
        import traceback

        results.put(("crashed", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


def islands_in_workers(
    island: Island,
    *,
    workers: int,
    account: Callable[[int, int, int, int], None],
    check: Callable[[], None],
) -> None:
    """Run ``island(k, count)`` on ``workers`` forked processes, k = 0 .. workers - 1 (see the
    module docstring); raises ``WorkerFailure`` (with the island in ``.island``) for the first
    failure reported."""
    ctx = multiprocessing.get_context("fork")
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=_island_worker, args=(island, k, results), daemon=True) for k in range(workers)]
    running = [workers]

    def handle(kind: str, msg: tuple[Any, ...]) -> bool:
        if kind == "done":
            running[0] -= 1
        elif kind == "failed":
            raise WorkerFailure(msg[5], iteration=msg[6], island=msg[7])
        return running[0] == 0

    _supervise(procs, None, results, account, handle, check)


# ---- process handling -----------------------------------------------------------------------------


def _supervise(
    procs: list[Any],
    tasks: Any,
    results: Any,
    account: Callable[[int, int, int, int], None],
    handle: Callable[[str, tuple[Any, ...]], bool],
    check: Callable[[], None],
) -> None:
    """Start ``procs`` and read their reports until ``handle(kind, message)`` says the search is
    done (or raises); counts go to ``account``, and ``check()`` runs at least every
    ``REPORT_EVERY`` seconds. The workers are ended however this returns."""
    with _quiet_fork_warning():
        for p in procs:
            p.start()
    try:
        while True:
            try:
                msg = results.get(timeout=REPORT_EVERY)
            except queue.Empty:
                for p in procs:  # a worker killed mid-task (SIGKILL, the OOM killer) would hang the search
                    if p.exitcode is not None and p.exitcode != 0:
                        raise WorkerFailure(None, f"worker process {p.pid} ended with exit code {p.exitcode} before the search did")
                if not any(p.is_alive() for p in procs):
                    raise WorkerFailure(None, "every worker process ended before the search did")
            else:
                kind = msg[0]
                if kind == "crashed":
                    raise WorkerFailure(None, msg[1])
                if kind != "spawned":
                    account(*msg[1:5])
                if handle(kind, msg):
                    return
            check()
    finally:
        _stop(procs, tasks, results)


def _stop(procs: list[Any], tasks: Any, results: Any) -> None:
    """End the workers (they may be mid-execution: a failure or a budget stops the search)."""
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)
        if p.is_alive():  # pragma: no cover - a worker stuck in uninterruptible code
            p.kill()
            p.join(timeout=5)
    for q in (tasks, results):
        if q is not None:
            q.cancel_join_thread()
            q.close()


@contextlib.contextmanager
def _quiet_fork_warning() -> Generator[None, None, None]:
    """Python 3.12+ warns when a process with threads forks (a lock held by another thread stays
    held in the child). The workers run only the search, which takes no lock another thread of
    ours holds, so the warning would only alarm."""
    sys.stderr.flush()
    sys.stdout.flush()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*fork\(\).*", category=DeprecationWarning)
        yield
