"""A minimal failing program and its fix for every error code.

These snippets are rendered by ``hydrologic explain`` and into docs/errors.md, and the test suite
*runs* them: each ``bad`` program must fail with its code and each ``good`` one must build (and
run, for run-time codes), so the documentation cannot rot.

Each snippet defines ``build(flow)``; ``hl``, ``nondet`` and ``proof`` are in scope, and the tag
classes ``P``, ``Q``, ``Workers`` and ``Client`` are predefined.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Example", "EXAMPLES", "PRELUDE"]

PRELUDE = """\
import hydrologic as hl
from hydrologic import nondet, proof

class P: ...
class Q: ...
class Workers: ...
class Client: ...
"""


@dataclass(frozen=True)
class Example:
    bad: str
    good: str
    run: bool = False  # the error appears only when the program runs
    sim: bool = False  # the error appears when the simulator explores it (flow.sim().exhaustive(...))


EXAMPLES: dict[str, Example] = {
    "HL101": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    a = p.source_iter([(1, "x")])
    b = p.source_iter([(1, "y")])
    a.join(b).first()                      # join's output is NoOrder
""",
        good="""\
def build(flow):
    p = flow.process(P)
    a = p.source_iter([(1, "x")])
    b = p.source_iter([(1, "y")])
    a.join(b).min()                        # order-insensitive instead of first()
""",
    ),
    "HL102": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_retries().count()
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_retries().unique().count()
""",
    ),
    "HL103": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_ordering().fold(lambda: 0, lambda a, x: a + x)
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_ordering().fold(
        lambda: 0, lambda a, x: a + x, commutative=proof("addition is commutative"))
""",
    ),
    "HL104": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_retries().fold(lambda: 0, lambda a, x: a + x)
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 2]).weaken_retries().fold(
        lambda: 0, lambda a, x: max(a, x), idempotent=proof("max(max(a, x), x) == max(a, x)"))
""",
    ),
    "HL105": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.sort()                               # an unbounded stream never ends
""",
        good="""\
def build(flow):
    p = flow.process(P)
    inp, s = p.sim_input(int)
    s.batch(p.tick(), nondet("sorting each batch is all we need")).sort().all_ticks()
""",
    ),
    "HL106": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    inp, live = p.sim_input(tuple)
    p.source_iter([(1, "x")]).join(live)   # bounded self, unbounded other
""",
        good="""\
def build(flow):
    p = flow.process(P)
    inp, live = p.sim_input(tuple)
    live.join(p.source_iter([(1, "x")]))   # unbounded self: the bounded side is weakened
""",
    ),
    "HL107": Example(
        bad="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    t = p.tick()
    p.source_iter([1]).batch(t, nondet("one batch")).send(q)
""",
        good="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    t = p.tick()
    p.source_iter([1]).batch(t, nondet("one batch")).all_ticks().send(q)
""",
    ),
    "HL108": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).all_ticks()
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), nondet("any batching")).all_ticks()
""",
    ),
    "HL109": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).count().snapshot_atomic(nondet("fresh read"))
""",
        good="""\
def build(flow):
    p = flow.process(P)
    t = p.tick()
    p.source_iter([1]).atomic(t).count().snapshot_atomic(nondet("fresh read"))
""",
    ),
    # --- consistency across a cluster's members
    "HL112": Example(
        bad="""\
def build(flow):
    leader, workers = flow.process(P), flow.cluster(Workers)
    _, cmds = leader.sim_input(int)
    spread = cmds.round_robin(workers, nondet("any member may take a command"))
    spread.fold(lambda: 0, lambda a, x: a + x).make_eventually_consistent()
""",
        good="""\
def build(flow):
    leader, workers = flow.process(P), flow.cluster(Workers)
    _, cmds = leader.sim_input(int)
    every = cmds.broadcast_closed(workers)
    every.fold(lambda: 0, lambda a, x: a + x).make_eventually_consistent()
""",
    ),
    # --- monotonicity
    "HL111": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    _, xs = p.sim_input(int)
    total = xs.fold(lambda: 0, lambda a, x: a + x)
    total.threshold_greater_or_equal(p.singleton(10))
""",
        good="""\
def build(flow):
    p = flow.process(P)
    _, xs = p.sim_input(int)
    total = xs.fold(lambda: 0, lambda a, x: a + max(x, 0), monotone=proof("only non-negative amounts are added"))
    total.threshold_greater_or_equal(p.singleton(10))
""",
    ),
    "HL110": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    c = flow.external(Client)
    a = p.source_external(c, name="a", of=int)
    b = p.source_external(c, name="b", of=int)
    a.merge_unordered(b).send_external(c, name="out", ordered=True)
""",
        good="""\
def build(flow):
    p = flow.process(P)
    c = flow.external(Client)
    a = p.source_external(c, name="a", of=int)
    b = p.source_external(c, name="b", of=int)
    a.merge_ordered(b, nondet("interleave by arrival; each input keeps its order")).send_external(
        c, name="out", ordered=True)
""",
    ),
    "HL201": Example(
        bad="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([(1, "x")]).join(q.source_iter([(1, "y")]))
""",
        good="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([(1, "x")]).send(q).join(q.source_iter([(1, "y")]))
""",
    ),
    "HL202": Example(
        bad="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([1]).batch(q.tick(), nondet("any batch"))
""",
        good="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    p.source_iter([1]).batch(p.tick(), nondet("any batch"))
""",
    ),
    "HL203": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    w = flow.cluster(Workers)
    p.source_iter([1]).send(w)
""",
        good="""\
def build(flow):
    p = flow.process(P)
    w = flow.cluster(Workers)
    p.source_iter([1]).broadcast(w, nondet("members that join late miss earlier elements"))
""",
    ),
    "HL204": Example(
        bad="""\
def build(flow):
    p, q = flow.process(P), flow.process(Q)
    p.source_external(q, name="requests")
""",
        good="""\
def build(flow):
    p = flow.process(P)
    c = flow.external(Client)
    p.source_external(c, name="requests")
""",
    ),
    "HL301": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), "any batch is fine")
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), nondet("any batch is fine"))
""",
    ),
    "HL302": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), nondet(""))
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), nondet("the per-batch sum is only logged"))
""",
    ),
    "HL303": Example(
        bad="""\
def build(flow):
    flow.require(no_nondet=True)
    p = flow.process(P)
    p.source_iter([1]).batch(p.tick(), nondet("any batch")).count()
""",
        good="""\
def build(flow):
    flow.require(no_nondet=True)
    p = flow.process(P)
    p.source_iter([1]).count()
""",
    ),
    "HL304": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).weaken_ordering().fold(
        lambda: 0, lambda a, x: a + x, commutative="addition commutes")
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1]).weaken_ordering().fold(
        lambda: 0, lambda a, x: a + x, commutative=proof("addition commutes"))
""",
    ),
    "HL401": Example(
        bad="""\
def build(flow):
    t = flow.process(P).tick()
    handle, pending = t.cycle(int)
    pending.all_ticks()
""",
        good="""\
def build(flow):
    t = flow.process(P).tick()
    handle, pending = t.cycle(int)
    handle.complete_next_tick(pending.filter(lambda x: x > 0).map(lambda x: x - 1))
    pending.all_ticks()
""",
    ),
    "HL402": Example(
        bad="""\
def build(flow):
    t = flow.process(P).tick()
    handle, s = t.forward_ref(int)
    total = s.fold(lambda: 0, lambda a, x: a + x)
    handle.complete(t.source_iter([1]).chain(total.into_stream()).filter(lambda x: x < 10))
""",
        good="""\
def build(flow):
    t = flow.process(P).tick()
    handle, s = t.cycle(int)               # feed the total into the *next* tick
    total = s.fold(lambda: 0, lambda a, x: a + x)
    handle.complete_next_tick(t.source_iter([1]).chain(total.into_stream()).filter(lambda x: x < 10))
""",
    ),
    "HL403": Example(
        bad="""\
def build(flow):
    t = flow.process(P).tick()
    handle, s = t.cycle(int)
    handle.complete_next_tick(s)
    handle.complete_next_tick(s.map(lambda x: x + 1))
""",
        good="""\
def build(flow):
    t = flow.process(P).tick()
    handle, s = t.cycle(int)
    handle.complete_next_tick(s.map(lambda x: x + 1))
""",
    ),
    "HL501": Example(
        bad="""\
def build(flow):
    flow.process(P).source_iter([1]).map("str.upper")
""",
        good="""\
def build(flow):
    flow.process(P).source_iter(["a"]).map(str.upper)
""",
    ),
    "HL502": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    s = p.source_iter([1])
    flow.build()
    s.map(lambda x: x + 1)
""",
        good="""\
def build(flow):
    p = flow.process(P)
    s = p.source_iter([1])
    s.map(lambda x: x + 1)
    flow.build()
""",
    ),
    "HL503": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    xs = p.source_iter([1, 2])
    xs.scan(lambda: 0, lambda a, x: a + x, durable="total")
    xs.scan(lambda: 1, lambda a, x: a * x, durable="total")
""",
        good="""\
def build(flow):
    p = flow.process(P)
    xs = p.source_iter([1, 2])
    xs.scan(lambda: 0, lambda a, x: a + x, durable="total")
    xs.scan(lambda: 1, lambda a, x: a * x, durable="product")
""",
    ),
    "HL601": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 0]).map(lambda x: 10 // x).sim_output()
""",
        good="""\
def build(flow):
    p = flow.process(P)
    p.source_iter([1, 0]).filter(lambda x: x != 0).map(lambda x: 10 // x).sim_output()
""",
        run=True,
    ),
    # --- monotonicity
    "HL611": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    t = p.tick()
    first = t.optional_first_tick(5).into_stream()
    amounts = first.chain(first.defer_tick().map(lambda x: -8)).all_ticks()
    total = amounts.fold(lambda: 0, lambda a, x: a + x, monotone=proof("amounts are positive"))
    total.threshold_greater_or_equal(p.singleton(100)).sim_output()
""",
        good="""\
def build(flow):
    p = flow.process(P)
    t = p.tick()
    first = t.optional_first_tick(5).into_stream()
    amounts = first.chain(first.defer_tick().map(lambda x: -8)).all_ticks()
    total = amounts.fold(lambda: 0, lambda a, x: a + max(x, 0), monotone=proof("negative amounts are dropped"))
    total.threshold_greater_or_equal(p.singleton(100)).sim_output()
""",
        run=True,
    ),
    "HL610": Example(
        bad="""\
def build(flow):
    p = flow.process(P)
    diffs = p.source_iter([5, 3]).weaken_ordering()
    diffs.reduce(lambda a, b: a - b, commutative=proof("any order")).into_stream().sim_output()
""",
        good="""\
def build(flow):
    p = flow.process(P)
    diffs = p.source_iter([5, 3]).weaken_ordering()
    diffs.reduce(lambda a, b: a + b, commutative=proof("addition commutes")).into_stream().sim_output()
""",
        sim=True,
    ),
    "HL612": Example(
        bad="""\
def build(flow):
    workers = flow.cluster(Workers)
    ids = workers.self_id().map(lambda m: m.raw_id)
    ids.assert_has_consistency_of(hl.EventualConsistency, nondet("all members agree")).make_eventually_consistent()
""",
        good="""\
def build(flow):
    workers = flow.cluster(Workers)
    ones = workers.self_id().map(lambda m: 1)
    ones.assert_has_consistency_of(hl.EventualConsistency, nondet("every id maps to 1")).make_eventually_consistent()
""",
        sim=True,
    ),
}
