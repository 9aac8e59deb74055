"""Word count across a cluster of workers: the SPEC §2 example, run in this process.

    python examples/wordcount.py

Words arrive from an external client in order; the leader spreads them over the workers
round-robin (which worker gets which word is a nondet site); each worker counts per key; the
per-worker counts come back to the leader keyed by worker and are summed per word.
"""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet, proof


class Leader: ...


class Workers: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> hl.SimOutput[tuple[str, int]]:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    words = leader.source_external(client, name="words", of=str)
    partial = (
        words.round_robin(workers, nondet("any worker may count any word; the sum is the same"))
        .map(lambda w: (w, 1))
        .into_keyed()
        .fold(lambda: 0, lambda acc, one: acc + one)
    )
    # Each worker reports its per-word count whenever it changes; the leader keeps the latest
    # report per (worker, word) and sums over workers.
    reports = partial.entries().send(leader)  # KeyedStream[MemberId, (word, count)]
    latest = (
        reports.entries()
        .map(lambda e: ((e[0], e[1][0]), e[1][1]))
        .into_keyed()
        .reduce(lambda old, new: max(old, new), commutative=proof("counts only grow, so max is order-free"))
    )
    tick = leader.tick()
    totals = (
        latest.snapshot(tick, nondet("report the totals seen so far"))
        .entries()
        .map(lambda e: (e[0][1], e[1]))
        .into_keyed()
        .fold(lambda: 0, lambda a, b: a + b, commutative=proof("addition is commutative"))
        .entries()
        .all_ticks()
    )
    return totals.sim_output()


def main() -> None:
    flow = hl.FlowBuilder("wordcount")
    out = build(flow)
    text = "the quick brown fox jumps over the lazy dog the end"
    with flow.run_in_process(cluster_sizes={Workers: 3}) as run:
        run.external_send("words", text.split())
        final: dict[str, int] = {}
        for word, count in out.collect():
            final[word] = count
    for word in sorted(final):
        print(f"{word:8} {final[word]}")
    print("nondet sites:")
    for site in flow.nondet_sites():
        print(f"  {site}")


if __name__ == "__main__":
    main()
