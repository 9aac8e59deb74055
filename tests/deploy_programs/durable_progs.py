"""Programs with durable state that the deployment tests run over real processes."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Leader: ...


class Workers: ...


class Client: ...


def durable_kv(flow: hl.FlowBuilder) -> None:
    """A running total (durable scan) and per-key sums (durable keyed fold) of what ``add`` gets."""
    server = flow.process(Server)
    client = flow.external(Client)
    xs = server.source_external(client, name="add", of=int)
    xs.scan(lambda: 0, lambda a, x: a + x, durable="total").send_external(client, name="total")
    sums = xs.map(lambda x: (x % 3, x)).into_keyed().fold(lambda: 0, lambda a, x: a + x, durable="by3")
    sums.entries().assume_ordering(nondet("test output: one entry per changed key")).map(
        lambda kv: [kv[0], kv[1]]
    ).send_external(client, name="by3")


def durable_cluster(flow: hl.FlowBuilder) -> None:
    """Every worker keeps a durable running total of what the leader broadcasts; the leader
    reports each worker's total as ``[member, total]``."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int)
    totals = xs.broadcast(workers, nondet("every member")).scan(lambda: 0, lambda a, x: a + x, durable="total")
    totals.send(leader).entries().map(lambda kv: [kv[0].raw_id, kv[1]]).send_external(client, name="out")
