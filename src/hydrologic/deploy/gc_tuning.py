"""How often the garbage collector of a location process runs: less often than CPython's default.

A location process is a long-running server whose heap grows with its state (a Paxos log, a
replica's store, join tables) while each tick allocates and frees many short-lived objects. With
CPython's default thresholds, ``(700, 10, 10)``, the cyclic collector starts a young collection
every 700 net allocations, and a full collection (a walk over every object in the process) every
100 young ones once the heap has grown by a quarter since the last. Almost everything a tick
frees is acyclic and already freed by reference counting, so that work finds little garbage, and
the full collections walk the growing state again and again. Measured on the Paxos-replicated
store (``bench/bench_replicated.py --n 100000 --pipelines 16``, docs/benchmarks.md): each
replica spent 1.0–2.1 s of its 3.2–3.8 s of CPU in the collector, and the three acceptors 40%.

So a location process, once its program is built, (1) freezes what exists then (the imported
modules and the program's graph: ``gc.freeze`` moves them out of every later collection), and
(2) collects young objects every 50,000 net allocations instead of 700, with a full collection
after 20 × 10 young ones (still only once the heap has grown by a quarter). Cyclic garbage is
still collected, later; a process's memory did not change in the measurements (about 130 MiB per
replica either way).

``HYDROLOGIC_GC`` in a location's environment overrides this: ``python`` keeps CPython's
defaults (no freeze), ``a,b,c`` sets those thresholds (with the freeze).
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Mapping

__all__ = ["ENV", "THRESHOLDS", "tune_gc"]

ENV = "HYDROLOGIC_GC"
THRESHOLDS = (50_000, 20, 10)

log = logging.getLogger("hydrologic.deploy")


def tune_gc(env: Mapping[str, str] | None = None) -> tuple[int, int, int] | None:
    """Apply the settings above (or ``HYDROLOGIC_GC``'s) to this process; call it once the
    program is built. Returns the thresholds set, or None when CPython's defaults are kept."""
    spec = (os.environ if env is None else env).get(ENV, "").strip()
    if spec.lower() == "python":
        return None
    thresholds = THRESHOLDS
    if spec:
        try:
            parts = tuple(int(p) for p in spec.split(","))
            if len(parts) != 3 or parts[0] < 1 or parts[1] < 0 or parts[2] < 0:
                raise ValueError(spec)
            thresholds = (parts[0], parts[1], parts[2])
        except ValueError:
            log.warning(
                "%s=%r is not `python` or three thresholds `a,b,c` (a >= 1); using %s",
                ENV, spec, ",".join(map(str, THRESHOLDS)),
            )
    gc.freeze()
    gc.set_threshold(*thresholds)
    return thresholds
