"""Partitioned counter: per-key counts sharded over a cluster by a stable hash of the key.

    python examples/partitioned_counter.py          # deploy 1 router + 3 shards, act as the client
    python -m hydrologic run examples/partitioned_counter.py:build --cluster Shards=3

A client sends keys to ``increment`` (each adds one to that key's count) and keys to ``get``
(each is answered on ``value`` with ``[key, count]``, 0 for a key never incremented). Every
increment is acknowledged on ``ack`` with its key once the shard owning the key has applied it.

The router routes both increments and reads with ``std.partition_by_key`` (a hash that is the
same in every process) and ``demux``, so all traffic for a key meets at one shard. Each shard
counts its keys inside an atomic section: the acknowledgement leaves the section, and reads
take ``snapshot_atomic`` of the counts, so **an acknowledged increment is visible to every
read sent after the acknowledgement arrived** (read-after-write), whichever tick serves the
read. Reads sent concurrently with increments may see any of the counts in between; the
simulator explores exactly those choices.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import NamedTuple

import hydrologic as hl
from hydrologic import Cluster, ExactlyOnce, NoOrder, Process, Stream, TotalOrder, Unbounded, nondet
from hydrologic.std import partition_by_key


class Router: ...


class Shards: ...


class Client: ...


Keys = Stream[str, Process[Router], Unbounded, TotalOrder, ExactlyOnce]


class CounterOutputs(NamedTuple):
    acks: Stream[str, Process[Router], Unbounded, NoOrder, ExactlyOnce]
    """The key of each applied increment (from all shards: no order across shards)."""
    values: Stream[tuple[str, int], Process[Router], Unbounded, NoOrder, ExactlyOnce]
    """``(key, count)`` for each read."""


def partitioned_counter(router: Process[Router], shards: Cluster[Shards], increments: Keys, reads: Keys) -> CounterOutputs:
    """The service, as a function over live collections (Hydro's style)."""
    members = router.cluster_members(shards)
    increments_here = partition_by_key(increments, lambda key: key, members).demux(shards)
    reads_here = partition_by_key(reads, lambda key: key, members).demux(shards)

    # On each shard: apply increments atomically; acknowledge them as they leave the section.
    tick = shards.tick()
    applying = increments_here.atomic(tick)
    counts = applying.map(lambda key: (key, 1)).into_keyed().value_counts()
    acks = applying.end_atomic().send(router).values()

    # Answer each batch of reads from the counts as of that tick.
    batch = reads_here.batch(
        tick, nondet("a read may be served in any later tick: it can only see more increments, never fewer")
    )
    seen = counts.snapshot_atomic(
        nondet(
            "reads see every increment whose ack was sent before them (atomic section); "
            "increments still in flight may or may not be counted, as with any concurrent write"
        )
    )
    asked = batch.map(lambda key: (key, None)).into_keyed()
    found = seen.join_keyed_stream(asked).entries().map(lambda e: (e[0], e[1][1]))
    never_incremented = batch.map(lambda key: (key, 0)).anti_join(seen.keys())
    values = found.chain(never_incremented).all_ticks().send(router).values()
    return CounterOutputs(acks, values)


def build(flow: hl.FlowBuilder) -> None:
    router = flow.process(Router)
    shards = flow.cluster(Shards)
    client = flow.external(Client)
    increments = router.source_external(client, name="increment", of=str, codec="json")
    reads = router.source_external(client, name="get", of=str, codec="json")
    out = partitioned_counter(router, shards, increments, reads)
    out.acks.send_external(client, name="ack", codec="json")
    out.values.send_external(client, name="value", codec="json")


class SimPorts(NamedTuple):
    shards: Cluster[Shards]
    increment: hl.SimInput[str]
    get: hl.SimInput[str]
    acks: hl.SimOutput[str]
    values: hl.SimOutput[tuple[str, int]]


def build_sim(flow: hl.FlowBuilder) -> SimPorts:
    """The same service with simulator ports in place of the External client."""
    router = flow.process(Router)
    shards = flow.cluster(Shards)
    inc, increments = router.sim_input(str)
    get, reads = router.sim_input(str)
    out = partitioned_counter(router, shards, increments, reads)
    return SimPorts(shards, inc, get, out.acks.sim_output(), out.values.sim_output())


WORDS = "to be or not to be that is the question whether tis nobler in the mind to suffer".split()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=3)
    args = parser.parse_args(argv)
    program = f"{os.path.abspath(__file__)}:build"
    with hl.deploy.Localhost(log=lambda _line: None).start(program, {"Shards": args.shards}) as d:
        with d.output("ack") as acks, d.output("value") as values, d.input("increment") as inc, d.input("get") as get:
            inc.send_many(WORDS)
            acked = acks.take(len(WORDS), timeout=30)  # every increment applied ...
            keys = sorted(set(WORDS)) + ["absent"]
            get.send_many(keys)  # ... so these reads must see all of them
            answers: dict[str, int] = {key: n for key, n in values.take(len(keys), timeout=30)}
    expected = Counter(WORDS)
    for key in keys:
        print(f"{key:10} {answers[key]}")
    ok = sorted(acked) == sorted(WORDS) and all(answers[k] == expected.get(k, 0) for k in keys)
    print("every acknowledged increment was read back:", ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
