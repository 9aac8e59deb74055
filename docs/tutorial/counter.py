"""The tutorial's program: a per-key counter service with read-after-write (docs/tutorial.md)."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    tick = server.tick()

    # 1. inputs: increments and reads from one client, each in the order the client sent them
    increments = server.source_external(client, name="increment", of=str, codec="json")
    reads = server.source_external(client, name="get", of=str, codec="json")

    # 2. state: a count per key. Entering the tick's atomic section makes the acknowledgement
    #    below happen-before every later read of the counts (read-after-write).
    atomic = increments.atomic(tick)
    counts = atomic.map(lambda key: (key, 1)).into_keyed().value_counts()
    atomic.end_atomic().map(lambda key: f"ok {key}").send_external(client, name="ack", codec="json")

    # 3. reads: answer each batch of reads from a snapshot of the counts
    batch = reads.map(lambda key: (key, None)).into_keyed().batch(tick, nondet("reads may see any later state"))
    snapshot = counts.snapshot_atomic(nondet("a read reflects every acknowledged increment"))
    answers = snapshot.join_keyed_stream(batch).entries().map(lambda e: (e[0], e[1][1]))
    answers.all_ticks().send_external(client, name="value", codec="json")
