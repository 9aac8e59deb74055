"""The Redis-compatible store (examples/redis_store.py), replicated by Multi-Paxos over 3 replicas.

    python -m hydrologic run examples/redis_replicated.py:build --cluster Replicas=3 --cluster Acceptors=3
    redis-cli -p <port of 'redis'> SET greeting hello
    redis-benchmark -p <port> -t set,get -q

Locations: a ``Gateway`` process with the RESP port, a ``Replicas`` cluster (the Paxos
proposers, each a learner holding a full copy of the store) and an ``Acceptors`` cluster
(2f + 1 = 3, f = 1). Set ``HL_REDIS_PORT`` to serve on a fixed port.

``python examples/redis_replicated.py`` is a demo client (it needs redis-py:
``pip install -e '.[examples]'``): it deploys the store on 7 local processes, sends a few
commands, kills the leader, sends more, then keeps serving until Ctrl-C (``--once`` exits
after the scripted part).

Design (the simplest that keeps each client's replies in request order):

1. The gateway numbers each client's requests (``seq`` per client, in arrival order) and sends
   every command, reads included, tagged ``(client, seq, command)``, to **every** replica: a
   replica keeps a command until it sees it in the log, so whichever replica leads next still
   has it (``std.paxos``). Tags make commands distinct, as ``std.paxos`` requires.
2. Paxos orders the commands into a log. Each replica applies the log in slot order with
   ``apply_tagged``: a plain
   deterministic function over ``std.kv.apply_command`` that applies each client's commands in
   ``seq`` order, once. A command committed twice (a leader change) is skipped; one committed
   before an earlier command of the same client (a new leader may re-propose a pipelined
   client's commands in another order) is held until its predecessors commit. So every copy of
   the store goes through the same states, and each client's commands take effect in the order
   it sent them.
3. Each replica sends the replies an entry released to the gateway, which keeps the first copy
   of each slot (each replica sends its slots in order, so the highest slot released so far is
   all it remembers) and answers each client in its order.

Linearizability: a command takes effect at its position in the one log, between its request
and its reply (it is committed after the gateway received it, and the reply is sent after it
is applied); reads go through the log like writes, so an acknowledged ``SET`` is visible to
every read sent after the acknowledgement. Killing one replica or one acceptor (f = 1) does
not stop the store: another replica times out and takes office, recovering the log.

``build_durable`` is the same store with durable state (``paxos(durable=...)`` and the
gateway's generation, below): run it with a data directory (``--data-dir DIR``) and every
process can be restarted, or all 7 SIGKILLed and started again on the same directory, without
losing an acknowledged write (``python examples/redis_replicated.py --data-dir DIR`` runs the
demo on it). Its replicas checkpoint the store every 20,000 slots (``HL_REDIS_CHECKPOINT_EVERY``
changes it; ``0`` turns checkpoints off), acceptors and learners drop the log below the
checkpoints, so memory and disk stay bounded, and a replica that restarts or falls behind
catches up from its own checkpoint and a peer's snapshot. A restarted store starts every
replica from its checkpoint; the first leader re-proposes only the entries above the
acceptors' compaction point.

The gateway is the one place clients connect to; it is not a Paxos participant and holds no
copy of the store. Killed, it is restarted by the supervisor (``hydrologic run`` restarts by
default) on the same port: clients reconnect (redis-py's retry, redis-cli) and go on. Its new
incarnation numbers clients past every id the old one used, so no request number or reply is
confused with an old client's; a command that was in flight when it died may or may not have
been applied, and a client that sends it again sends a new command, as with Redis itself.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, cast

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std.kv import Reply, Store, apply_command
from hydrologic.std.paxos import CHECKPOINT_EVERY, Paxos, TrackedDict, checkpointed_replica, ordered_log, paxos, replicated_state_machine


class Gateway: ...


class Replicas: ...


class Acceptors: ...


class RedisClient: ...


COMMAND: type[list[bytes]] = list  # a request: [b"SET", b"key", b"value"]

TICK_SECONDS = 0.05  # a replica's clock: heartbeats and timeouts are counted in these ticks
ELECTION_TIMEOUT = 20  # silent ticks before the first replica campaigns (1 s: a loaded leader must not look dead)
STAGGER = 3  # extra silent ticks per replica index, so that replicas do not duel

Tagged = tuple[int, int, tuple[bytes, ...]]
"""A command in the log: (client id, the client's request number, the command's words)."""


# ---- the state machine (plain, deterministic) ----------------------------------------------------


@dataclass(eq=False)
class TaggedStore:
    """A store plus, per client, the next request number to apply and the commands held back
    until their predecessors commit. It lives in one scan, which updates it in place.

    It is an ``IncrementalCheckpoint``: its records are ``("s", key)`` for the store's keys,
    ``("n", client)`` and ``("h", client)`` for the per-client numbers and held commands, and it
    keeps the keys each command changes, so a replica's checkpoint writes only those and a state
    transfer sends the store a slice at a time."""

    store: TrackedDict[bytes, bytes] = field(default_factory=lambda: TrackedDict())
    next_seq: dict[int, int] = field(default_factory=lambda: {})
    held: dict[int, dict[int, tuple[bytes, ...]]] = field(default_factory=lambda: {})
    clients_changed: set[int] = field(default_factory=lambda: set())

    def all_keys(self) -> list[Hashable]:
        out: list[Hashable] = [("s", k) for k in self.store]
        out += [("n", c) for c in self.next_seq]
        out += [("h", c) for c in self.held]
        return out

    def changed_keys(self) -> list[Hashable]:
        out: list[Hashable] = [("s", k) for k in self.store.drain()]
        for c in self.clients_changed:
            out += [("n", c), ("h", c)]
        self.clients_changed = set()
        return out

    def dump_keys(self, keys: Iterable[Hashable]) -> list[tuple[Hashable, Any]]:
        out: list[tuple[Hashable, Any]] = []
        for key in keys:
            kind, k = cast(tuple[str, Any], key)
            table: dict[Any, Any] = self.store if kind == "s" else self.next_seq if kind == "n" else self.held
            if k in table:
                value = table[k]
                out.append((key, dict(value) if kind == "h" else value))
        return out

    def load_keys(self, items: Iterable[tuple[Hashable, Any]]) -> None:
        store, next_seq, held = self.store, self.next_seq, self.held
        for key, value in items:
            kind, k = cast(tuple[str, Any], key)
            if kind == "s":
                store[k] = value
            elif kind == "n":
                next_seq[k] = value
            else:
                held[k] = dict(value)


def new_state() -> TaggedStore:
    return TaggedStore()


def apply_tagged(state: TaggedStore, command: Tagged) -> tuple[TaggedStore, list[tuple[int, Reply]]]:
    """Apply one log entry; returns the (client, reply) pairs it released, in apply order.

    Each client's commands are applied in ``seq`` order, each once: a repeat (committed twice
    across a leader change) is dropped; one that committed ahead of an earlier one of its client
    waits for it. Deterministic, so every replica computes the same store and replies.
    """
    client, seq, words = command
    expected = state.next_seq.get(client, 0)
    if seq < expected:
        return state, []
    state.clients_changed.add(client)
    if seq == expected and client not in state.held:  # the usual case: next in order, nothing held
        state.next_seq[client] = seq + 1
        return state, [(client, apply_command(state.store, list(words)))]
    held = state.held.setdefault(client, {})
    if seq in held:
        return state, []
    held[seq] = words
    out: list[tuple[int, Reply]] = []
    while expected in held:
        out.append((client, apply_command(state.store, list(held.pop(expected)))))
        expected += 1
    state.next_seq[client] = expected
    if not held:
        del state.held[client]
    return state, out


# ---- the gateway: numbering requests, releasing replies ------------------------------------------

SlotReplies = tuple[int, list[tuple[int, Reply]]]
"""What a replica sends the gateway per applied entry: the slot and the (tagged client, reply) pairs it released."""

CLIENT_BITS = 48  # a tagged client is (gateway generation << CLIENT_BITS) | the connection's ClientId


@dataclass(eq=False)
class GatewayState:
    """The gateway's one scan: per client, the next request number; the highest slot whose
    replies were released; and its generation, which makes the clients of a restarted gateway
    distinct from every earlier one's in the log (``durable`` gateways only: see
    ``DurableGatewayState``). ``tagged`` and ``released`` hold the latest step's output."""

    generation: int = 0
    counters: dict[int, int] = field(default_factory=lambda: {})
    highest: int = -1
    tagged: list[Tagged] = field(default_factory=lambda: [])
    released: list[tuple[hl.ClientId, Reply]] = field(default_factory=lambda: [])
    generation_changed: bool = True


class DurableGatewayState(GatewayState):
    """A gateway whose generation survives a restart of the whole store: each incarnation takes
    the next one (written before its first command leaves), so its clients' tags never repeat a
    tag already in the durable log, and replies to an earlier generation's clients, which a
    restarted store computes again as it replays its log, are not released to new clients that
    happen to get the same connection id."""

    def durable_records(self) -> list[tuple[Any, Any]]:
        if not self.generation_changed:
            return []
        self.generation_changed = False
        return [("generation", self.generation)]

    def restore_records(self, records: dict[Any, Any]) -> None:
        self.generation = int(records.get("generation", -1)) + 1
        self.generation_changed = True


def _gateway_step(
    st: GatewayState, batch: tuple[list[tuple[hl.ClientId, list[bytes]]], list[SlotReplies]]
) -> GatewayState:
    """Number each client's new requests (in arrival order), and release each slot's replies
    once: the first copy of a slot always comes after the first copy of every lower slot (each
    replica sends its slots in order), so the highest slot released so far is all the state
    needed, whatever slot a restarted gateway starts at."""
    requests, replies = batch
    counters = st.counters
    base = st.generation << CLIENT_BITS
    tagged: list[Tagged] = []
    for cid, words in requests:
        n = counters.get(cid, 0)
        counters[cid] = n + 1
        tagged.append((base | int(cid), n, tuple(words) if isinstance(words, list) else ()))  # pyright: ignore[reportUnnecessaryIsInstance]
    released: list[tuple[hl.ClientId, Reply]] = []
    for slot, out in replies:
        if slot > st.highest:
            st.highest = slot
            released.extend((hl.ClientId(c & _CLIENT_MASK), r) for c, r in out if c >> CLIENT_BITS == st.generation)
    st.tagged, st.released = tagged, released
    return st


_CLIENT_MASK = (1 << CLIENT_BITS) - 1


def _numbered(st: GatewayState) -> list[Tagged]:
    return st.tagged


def _released(st: GatewayState) -> list[tuple[hl.ClientId, Reply]]:
    return st.released


def _client_of(entry: tuple[hl.ClientId, Any]) -> int:
    return entry[0]


def _to_every(pair: tuple[Tagged, tuple[hl.MemberId[Replicas], ...]]) -> list[tuple[hl.MemberId[Replicas], Tagged]]:
    command, members = pair
    return [(m, command) for m in members]


def _slot_and_replies(applied: tuple[int, Tagged, list[tuple[int, Reply]]]) -> SlotReplies:
    return applied[0], applied[2]


def _slot_of(entry: tuple[int, Any]) -> int:
    return entry[0]


@dataclass
class Service:
    """What ``replicated_store`` builds: the RESP port, the Paxos instance and each replica's
    applied log (slot, command, released replies), for tests."""

    port: hl.ExternalBidi[hl.Process[Gateway]]
    paxos: Paxos[Tagged, Replicas]
    applied: hl.Stream[tuple[int, Tagged, list[tuple[int, Reply]]], hl.Cluster[Replicas], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]


def replicated_store(
    gateway: hl.Process[Gateway],
    replicas: hl.Cluster[Replicas],
    acceptors: hl.Cluster[Acceptors],
    redis: hl.External[RedisClient],
    clock: hl.Stream[Any, hl.Cluster[Replicas], hl.Unbounded, hl.NoOrder, hl.ExactlyOnce],
    *,
    port: int | None = None,
    election_timeout: int = ELECTION_TIMEOUT,
    stagger: int = STAGGER,
    durable: bool = False,
    checkpoint_every: int | None = None,
) -> Service:
    """The replicated store; ``clock`` is each replica's time source (``source_interval`` when
    deployed, a ``sim_input`` in tests). ``durable``: Paxos members and the gateway's generation
    are durable state, so every process can be restarted, and the whole store restarted on the
    same data directories keeps every acknowledged write. ``checkpoint_every``: replicas
    checkpoint the store every that many slots, acceptors and learners drop the log below the
    checkpoints, and a lagging or restarted replica catches up from a peer's snapshot (memory and
    disk stay bounded; ``None``: the log is kept whole)."""
    requests, replies = gateway.source_external_bidi(redis, name="redis", of=COMMAND, codec="resp", port=port)
    tick = gateway.tick()
    # Each client's requests in its order; a stable sort by client keeps that order in the batch.
    new_requests = (
        requests.batch(
            tick,
            nondet(
                "which requests of concurrent clients a tick takes only decides how they are "
                "numbered together; each client's requests keep their order and numbers"
            ),
        )
        .entries()
        .sort(key=_client_of)
        .collect_list()
    )
    # The replicas send the replies each entry released to the gateway, which keeps the first
    # copy of each slot and answers. It holds no copy of the store, so a restarted gateway answers
    # its new clients at once (its client ids never repeat an earlier incarnation's).
    # Keyed by replica, each replica's slots stay in order (a tick takes a prefix of each), which
    # is what makes "the highest slot released so far" enough state.
    # (a forward reference on the replicas' side: the edge is built here, keyed by replica)
    from_replicas_ref: hl.ForwardRef[hl.Stream[SlotReplies, hl.Cluster[Replicas], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]]
    from_replicas: hl.Stream[SlotReplies, hl.Cluster[Replicas], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]
    from_replicas_ref, from_replicas = cast(Any, replicas.forward_ref(tuple, hl.TotalOrder))
    new_replies = (
        from_replicas.send(gateway)
        .batch(
            tick,
            nondet(
                "every replica sends the same replies for a slot, each replica in slot order; which "
                "copy a tick sees first does not change which replies are released, or their order"
            ),
        )
        .values()
        .sort(key=_slot_of)
        .collect_list()
    )
    steps = (
        new_requests.zip(new_replies)
        .into_stream()
        .all_ticks()
        .scan(DurableGatewayState if durable else GatewayState, _gateway_step, durable="gateway" if durable else None)
    )
    tagged = steps.flat_map_ordered(_numbered)
    at_replicas = tagged.cross_singleton(gateway.cluster_members(replicas)).flat_map_ordered(_to_every).demux(replicas)
    # checkpoints: reported by the replicas (below), sent to the acceptors by paxos
    ckpt_ref, ckpt = replicas.forward_ref(int, hl.TotalOrder) if checkpoint_every is not None else (None, None)
    px: Paxos[Tagged, Replicas] = paxos(
        replicas,
        acceptors,
        at_replicas,
        clock,
        f=1,
        nondet_leader=nondet("clients only need some replica to lead at a time; which one does not change replies"),
        nondet_commit=nondet(
            "concurrent clients' commands may take effect in any order (each client's own order is "
            "restored by apply_tagged), and a command repeated across a leader change is applied once"
        ),
        election_timeout=election_timeout,
        stagger=stagger,
        durable="paxos" if durable else None,
        checkpoints=ckpt,
    )
    applied: hl.Stream[tuple[int, Tagged, list[tuple[int, Reply]]], hl.Cluster[Replicas], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]
    if checkpoint_every is None:
        # every replica applies the log to its own copy of the store
        applied = replicated_state_machine(ordered_log(px.committed, replicas.tick()), new_state, apply_tagged, dedupe=False)
    else:
        replica = checkpointed_replica(
            px.committed, replicas, clock, new_state, apply_tagged,
            nondet_catch_up=nondet(
                "a replica that catches up from a peer's snapshot skips the replies of the slots it "
                "covers; the gateway has them from the replicas that applied those slots"
            ),
            checkpoint_every=checkpoint_every,
            durable="replica" if durable else None,
        )
        assert ckpt_ref is not None
        ckpt_ref.complete(replica.checkpoints)
        applied = replica.applied
    from_replicas_ref.complete(applied.map(_slot_and_replies))
    replies.complete(steps.flat_map_ordered(_released).into_keyed())
    return Service(replies, px, applied)


def build(flow: hl.FlowBuilder) -> None:
    port = os.environ.get("HL_REDIS_PORT")
    replicas = flow.cluster(Replicas)
    clock = replicas.source_interval(
        TICK_SECONDS, nondet("the clock only decides when replicas time out and send heartbeats")
    )
    replicated_store(
        flow.process(Gateway), replicas, flow.cluster(Acceptors), flow.external(RedisClient), clock,
        port=int(port) if port else None,
    )


def build_durable(flow: hl.FlowBuilder) -> None:
    """``build`` with durable Paxos members and gateway: run it with a data directory
    (``hydrologic run ... --data-dir DIR``, ``Localhost(data_dir=DIR)``); SIGKILL every process,
    start again on the same directory, and every acknowledged write is still there."""
    port = os.environ.get("HL_REDIS_PORT")
    replicas = flow.cluster(Replicas)
    clock = replicas.source_interval(
        TICK_SECONDS, nondet("the clock only decides when replicas time out and send heartbeats")
    )
    every = os.environ.get("HL_REDIS_CHECKPOINT_EVERY")
    replicated_store(
        flow.process(Gateway), replicas, flow.cluster(Acceptors), flow.external(RedisClient), clock,
        port=int(port) if port else None, durable=True,
        checkpoint_every=None if every == "0" else int(every) if every else CHECKPOINT_EVERY,
    )


SIZES = {"Replicas": 3, "Acceptors": 3}


def main(argv: list[str] | None = None) -> None:
    """Demo: deploy on local processes, talk RESP to the gateway, kill the leader, keep talking,
    then keep serving (try redis-cli) until Ctrl-C; ``--once`` exits after the scripted part."""
    args = sys.argv[1:] if argv is None else argv
    once = "--once" in args
    data_dir = args[args.index("--data-dir") + 1] if "--data-dir" in args[:-1] else None
    try:
        import redis
    except ModuleNotFoundError:
        sys.exit(
            "this demo talks to the store with redis-py, which is not installed; install the examples' "
            "extras with: pip install -e '.[examples]'"
        )

    target = "build" if data_dir is None else "build_durable"
    localhost = hl.deploy.Localhost(log=lambda _: None, log_level="WARNING", data_dir=data_dir)
    with localhost.start(f"{os.path.abspath(__file__)}:{target}", SIZES) as d:
        port = d.port("redis").port
        print(f"store listening on 127.0.0.1:{port}", flush=True)
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
        print("SET greeting hello ->", r.set("greeting", "hello"))
        print("INCR visits ->", r.incr("visits"))
        print("killing replica 0 (the first leader)")
        d.kill("Replicas", 0)
        print("GET greeting ->", r.get("greeting"))
        print("INCR visits ->", r.incr("visits"))
        if once:
            return
        print(f"still serving: try `redis-cli -p {port} GET greeting`; Ctrl-C to stop", flush=True)
        try:
            d.wait()
        except KeyboardInterrupt:
            print("stopping")


if __name__ == "__main__":
    main()
