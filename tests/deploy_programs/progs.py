"""Programs the deployment tests run over real processes (each addressed as progs.py:NAME)."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet


class Server: ...


class Leader: ...


class Workers: ...


class Client: ...


def echo(flow: hl.FlowBuilder) -> None:
    """Upper-cases each string from the client (JSON lines in, JSON lines out)."""
    server = flow.process(Server)
    client = flow.external(Client)
    words = server.source_external(client, name="in", codec="json", of=str)
    words.map(lambda s: s.upper()).send_external(client, name="out", codec="json")


def aggregate(flow: hl.FlowBuilder) -> None:
    """Cluster -> process: every member sends [1, 2, 3]; the leader sees them keyed by sender."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    member = workers.self_id()
    sent = workers.source_iter([1, 2, 3]).cross_singleton(member).map(lambda p: p[0] * 10 + p[1].raw_id)
    sent.send(leader).entries().send_external(client, name="out")


def spread(flow: hl.FlowBuilder) -> None:
    """Process -> cluster by broadcast and by round robin; results come back keyed by member."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="bcast", of=int)
    xs.broadcast(workers, nondet("every member")).map(lambda x: ("b", x)).send(leader).entries().send_external(
        client, name="bcast_out"
    )
    ys = leader.source_external(client, name="rr", of=int)
    ys.round_robin(workers, nondet("any member")).map(lambda x: ("r", x)).send(leader).entries().send_external(
        client, name="rr_out"
    )


def faults(flow: hl.FlowBuilder) -> None:
    """Two broadcast channels to a cluster: one ordered (fail-stop for good), one NoOrder (may resume)."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    ordered = leader.source_external(client, name="ordered", of=int)
    ordered.broadcast(workers, nondet("every member")).map(lambda x: ("o", x)).send(leader).entries().send_external(
        client, name="ordered_out"
    )
    loose = leader.source_external(client, name="loose", of=int).weaken_ordering()
    loose.broadcast(workers, nondet("every member")).map(lambda x: ("l", x)).send(leader).entries().send_external(
        client, name="loose_out"
    )
    hello = leader.source_external(client, name="ping", codec="json")
    hello.map(lambda s: ["pong", s]).send_external(client, name="pong", codec="json")


def crash(flow: hl.FlowBuilder) -> None:
    """A worker whose function raises on 0: its process fails; the deployment stops."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int)
    xs.broadcast(workers, nondet("every member")).map(lambda x: 1 // x).send(leader).entries().send_external(
        client, name="out"
    )


def many_clients(flow: hl.FlowBuilder) -> None:
    """An ordered port (one client at a time) beside an unordered one (any number of clients)."""
    server = flow.process(Server)
    client = flow.external(Client)
    ordered = server.source_external(client, name="ordered", codec="json", of=str)
    shared = server.source_external(client, name="shared", codec="json", of=str, order=hl.NoOrder)
    ordered.send_external(client, name="ordered_out", codec="json")
    shared.send_external(client, name="shared_out", codec="json")


def crash_at_start(flow: hl.FlowBuilder) -> None:
    """Every worker fails in its first tick, however often it is restarted: a crash loop."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    leader.source_external(client, name="ping", codec="json").map(lambda s: ["pong", s]).send_external(
        client, name="pong", codec="json"
    )
    workers.source_iter([0]).map(lambda x: 1 // x).for_each(print)


def restarts(flow: hl.FlowBuilder) -> None:
    """An ordered round trip leader -> every worker -> leader, and the leader's view of the
    workers' liveness, both as External outputs."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int)
    xs.broadcast(workers, nondet("every member")).map(lambda x: x * 10).send(leader).entries().map(
        lambda kv: [kv[0].raw_id, kv[1]]
    ).send_external(client, name="out")
    leader.peer_liveness(workers).entries().map(
        lambda kv: [kv[0].raw_id, kv[1].kind.value, kv[1].incarnation]
    ).send_external(client, name="liveness")



def no_restart(flow: hl.FlowBuilder) -> None:
    """A leader and workers whose state must not be forgotten: a dead worker stays dead."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    workers.forbid_restart("test: the workers' state lives in memory only")
    xs = leader.source_external(client, name="loose", of=int).weaken_ordering()
    xs.broadcast(workers, nondet("every member")).map(lambda x: ("l", x)).send(leader).entries().send_external(
        client, name="loose_out"
    )


# --- cluster membership


def closed_membership(flow: hl.FlowBuilder) -> None:
    """``in``/``out``: a ``broadcast_closed`` round trip to the workers, and (``total``) each
    worker's running sum, required eventually consistent (typed so, and checked at build)."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int).broadcast_closed(workers)
    xs.map(lambda x: x * 10).send(leader).entries().map(lambda kv: [kv[0].raw_id, kv[1]]).send_external(client, name="out")
    total = xs.fold(lambda: 0, lambda acc, x: acc + x).make_eventually_consistent()
    tick = workers.tick()
    total.snapshot(tick, nondet("a tick sees some version")).into_stream().all_ticks().send(leader).entries().map(
        lambda kv: [kv[0].raw_id, kv[1]]
    ).send_external(client, name="total")


def membership(flow: hl.FlowBuilder) -> None:
    """The leader's view of the workers' membership, a broadcast round trip and a round-robin
    round trip (``in``/``out``, ``spread``/``spread_out``), all as External outputs."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="in", of=int)
    xs.broadcast(workers, nondet("the members of the moment")).map(lambda x: x * 10).send(leader).entries().map(
        lambda kv: [kv[0].raw_id, kv[1]]
    ).send_external(client, name="out")
    ys = leader.source_external(client, name="spread", of=int)
    ys.round_robin(workers, nondet("the members of the moment")).send(leader).entries().map(
        lambda kv: [kv[0].raw_id, kv[1]]
    ).send_external(client, name="spread_out")
    leader.source_cluster_members(workers).entries().map(lambda kv: [kv[0].raw_id, kv[1].value]).send_external(
        client, name="members"
    )


def streamed(flow: hl.FlowBuilder) -> None:
    """One request expanded into several frames' worth of elements, which leave while they are
    made: to a process and back (both hops streamed), and round robin over a cluster."""
    leader, server = flow.process(Leader), flow.process(Server)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    xs = leader.source_external(client, name="go", of=int).flat_map_ordered(lambda k: range(k))
    xs.send(server).map(lambda x: x + 1).send(leader).send_external(client, name="out")
    ys = leader.source_external(client, name="go_rr", of=int).flat_map_ordered(lambda k: range(k))
    ys.round_robin(workers, nondet("any member")).map(lambda x: ("r", x)).send(leader).entries().send_external(
        client, name="rr_out"
    )
