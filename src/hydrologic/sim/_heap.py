"""Keeps the garbage collector off the objects that existed before a search started.

A search builds and drops thousands of short-lived instances. CPython's collector runs a young
collection every few hundred allocations and, every so often, an older one that walks every
tracked object in the process: the program's graph and plan, the caller's data, and in a test
session everything pytest and the other tests left behind. None of that becomes garbage during
the search, so walking it is wasted. ``frozen_heap`` moves it out of the collector's sight for
the search (``gc.freeze``, constant time) and gives it back afterwards (``gc.unfreeze``, also
constant time); garbage the search itself makes is collected as usual. If objects are frozen
already, the search leaves the heap as it is. Forked workers
(``_parallel``) also gain: the collector no longer writes to the frozen objects' headers, so the
pages they share with the parent stay shared.

Measured with ``python bench/ab.py --rounds 4 -- bench/bench_sim.py --rates-only`` (medians of
4 interleaved runs per side, quiet machine): 7-8% more executions per second for the
3-location program, 8-16% for the 1-location one, 19% (exhaustive) and 36% (fuzz) for Paxos,
whose larger executions trigger more of the older collections. Raising the collector's
thresholds for the search as well (as ``deploy/gc_tuning`` does for a long-running process)
gained nothing more here and lost up to 15% on the small programs. Nested searches (a search
started from a scenario, a worker's own search) freeze once, at the outermost level.
"""

from __future__ import annotations

import functools
import gc
from contextlib import contextmanager
from typing import Callable, Generator, ParamSpec, TypeVar

__all__ = ["frozen_heap", "with_frozen_heap"]

_depth = 0

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def frozen_heap() -> Generator[None, None, None]:
    """Within the block, the objects that exist when it starts are not scanned by the collector."""
    global _depth
    # Not when the collector is off, nor when someone else froze objects already (a deployed
    # location process does, ``deploy/gc_tuning``): unfreezing afterwards would undo theirs.
    # ``gc.get_freeze_count()`` walks the frozen objects, so it is asked only at the outermost
    # level, where it is usually zero and free.
    froze = _depth == 0 and gc.isenabled() and gc.get_freeze_count() == 0
    if froze:
        gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if froze:
            gc.unfreeze()


def with_frozen_heap(f: Callable[P, R]) -> Callable[P, R]:
    """``f`` runs inside ``frozen_heap()``."""

    @functools.wraps(f)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with frozen_heap():
            return f(*args, **kwargs)

    return run
