"""Batch operators: one class per IR op, each processing a whole delta list per call.

The runtime hands an operator the elements that arrived on each stream input since its last run
(a Python list) and the producer of each scalar input (to read ``.value``). Operators use the
builtins (``map``, ``filter``, ``functools.reduce``, comprehensions) on whole batches, so the
per-element cost is that of a hand-written loop; the per-tick overhead is one method call per
node.

One module per family, each registering its classes in ``OP_CLASSES`` (``base``) by op name:

- ``sources``: source_iter, the inboxes filled from outside, constant singletons, self_id,
  cluster_members
- ``elementwise``: map, filter, filter_map, inspect, flat_map, partition, pass-throughs, batch,
  values, keyed map/filter
- ``stateful``: enumerate, scan, unique, join, cross_product, anti_join, threshold and the
  other operators that remember what they saw
- ``combine``: chain, merge, sort, cross_singleton, ks_join_keyed_stream, keyed_get
- ``aggregates``: fold, reduce, count, first, last, max/min, collect_list and their keyed forms
- ``scalar``: singleton and keyed-singleton transformations, snapshot, latest, into_stream
- ``next_tick``: defer_tick, cycle, cycle_with_initial
- ``sinks``: for_each and the outputs a driver drains
- ``generators``: generator state machines (and the keyed scan/enumerate/fold_early_stop on them)
- ``asyncs``: resolve_futures (and its ordered and blocking forms), source_stream, dest_sink:
  user coroutines, run by the driver's async host
- ``timers``: timeout, spin

Importing this package imports every family, so the registry is complete, and then checks it
against the operator table (``hydrologic.ir.ops``): every declared op implemented exactly once,
in the module of its declared family, and nothing implemented that is not declared.
"""

from __future__ import annotations

# Every family, imported for its registrations (in the registry's order; `as` marks them used).
from . import sources as sources
from . import elementwise as elementwise
from . import stateful as stateful
from . import combine as combine
from . import aggregates as aggregates
from . import scalar as scalar
from . import next_tick as next_tick
from . import sinks as sinks
from . import generators as generators
from . import asyncs as asyncs
from . import timers as timers
from ...ir.ops import OP_SPECS
from .base import ABSENT, OP_CLASSES, Inbox, Op, RuntimeContext
from .elementwise import Batch, PassThrough
from .next_tick import Deferred
from .scalar import Snapshot
from .sinks import OutputSink
from .sources import SourceInbox


def _check_registry() -> None:
    declared, implemented = set(OP_SPECS), set(OP_CLASSES)
    if declared != implemented:
        raise ImportError(
            f"runtime operators and hydrologic.ir.ops disagree: declared but not implemented "
            f"{sorted(declared - implemented)}, implemented but not declared {sorted(implemented - declared)}"
        )
    for name, cls in OP_CLASSES.items():
        module = cls.__module__.rpartition(".")[2]
        if module != OP_SPECS[name].family.value:
            raise ImportError(f"op {name!r} is declared in family {OP_SPECS[name].family.value!r} but implemented in {module!r}")


_check_registry()

__all__ = [
    "ABSENT",
    "OP_CLASSES",
    "Batch",
    "Deferred",
    "Inbox",
    "Op",
    "OutputSink",
    "PassThrough",
    "RuntimeContext",
    "Snapshot",
    "SourceInbox",
]
