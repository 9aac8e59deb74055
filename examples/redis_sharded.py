"""The Redis-protocol store (examples/redis_store.py) sharded over a cluster, to use every core.

    python -m hydrologic run examples/redis_sharded.py:build --cluster Shards=4        # one port
    python -m hydrologic run examples/redis_sharded.py:build_ports --cluster Shards=4  # a port per shard
    redis-cli -p <port> SET greeting hello
    redis-benchmark -p <port> -t set,get -q

A single store process runs on one core. Sharding splits the keys over the members of a
``Shards`` cluster by a stable hash of the key (``shard_of``), so N shards can use N cores.
Two ways to reach them:

* ``build``: **one port**, on a ``Front`` process that speaks RESP to every client and routes
  each command to the shard that owns its key. Clients need nothing special (``redis-cli``,
  ``redis-benchmark``, any Redis client). The front numbers each client's requests, and
  answers each client in that order whatever order the shards reply in (a client pipelines
  commands for keys on several shards). It is one process, so it caps the throughput at what
  one core can parse, route and answer (docs/benchmarks.md, "Scaling").
* ``build_ports``: **a port per shard** (``d.port("redis", member=i)``): each shard is a whole
  store on its own port, and the client sends each key to the shard ``shard_of(key, n)``
  names, as a Redis Cluster client does. No process sits between the clients and the shards,
  so the throughput grows with the shards until the machine runs out of cores.

Through the front, a command that names keys goes to the one shard owning them. A command whose
keys live on different shards gets Redis Cluster's ``-CROSSSLOT`` error; put related keys on one
shard with a hash tag, as in Redis Cluster: only the part between the first ``{`` and the next
``}`` is hashed, so ``{user1}.name`` and ``{user1}.mail`` share a shard. Commands that touch no
key (``PING``, ``ECHO``, ``CONFIG GET``, ``HELLO``, ...) are answered by the front;
``DBSIZE``, ``FLUSHDB`` and ``FLUSHALL``, which would need every shard, get an error.

Each shard applies its commands in the order the front sent them (one ordered channel), so for
every key the commands of all clients take effect in one order, and each client's in the order
it sent them; a reply leaves the shard after its command took effect. An acknowledged ``SET`` is
therefore visible to every later ``GET`` of that key, from any client (read-after-write), as in
the single-process store.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any, cast

import hydrologic as hl
from hydrologic import nondet
from hydrologic.net.resp import RespError
from hydrologic.std.kv import Reply, Store, apply_command, serve_sequentially


class Front: ...


class Shards: ...


class RedisClient: ...


COMMAND: type[list[bytes]] = list  # a request: [b"SET", b"key", b"value"]

Routed = tuple[int, int, list[bytes]]
"""A command on its way to a shard: (client id, the client's request number, the command)."""

Answered = tuple[int, int, Reply]
"""A shard's reply on its way back: (client id, request number, reply)."""

CROSSSLOT = RespError("CROSSSLOT Keys in request don't hash to the same slot")

_ONE_KEY = frozenset({b"GET", b"SET", b"INCR", b"DECR", b"INCRBY", b"DECRBY", b"APPEND", b"STRLEN"})
_ALL_KEYS = frozenset({b"DEL", b"UNLINK", b"EXISTS", b"MGET"})
_EVERY_SHARD = frozenset({b"DBSIZE", b"FLUSHDB", b"FLUSHALL"})


def hash_slot_key(key: bytes) -> bytes:
    """The part of ``key`` that is hashed: the hash tag between the first ``{`` and the next
    ``}`` when it is not empty (Redis Cluster's rule), else the whole key."""
    start = key.find(b"{")
    if start >= 0:
        end = key.find(b"}", start + 1)
        if end > start + 1:
            return key[start + 1 : end]
    return key


def shard_of(key: bytes, shards: int) -> int:
    """The index of the shard that owns ``key`` among ``shards`` (CRC-32 of its hash slot key:
    the same in every process and every run)."""
    return zlib.crc32(hash_slot_key(key)) % shards


def keys_of(command: list[bytes]) -> list[bytes] | None:
    """The keys a command names (``[]`` for a key-less command), or ``None`` when it needs every
    shard. A malformed command names no key: the front answers it with the store's own error."""
    if not command or type(command[0]) is not bytes:
        return []
    name = command[0].upper()
    if name in _ONE_KEY:
        return command[1:2]
    if name in _ALL_KEYS:
        return command[1:]
    if name == b"MSET":
        return command[1::2]
    if name in _EVERY_SHARD:
        return None
    return []


def route(command: list[bytes], shards: int) -> int | RespError | None:
    """The shard index for ``command``; ``None`` when the front answers it itself (no key); an
    error reply when no single shard can serve it."""
    keys = keys_of(command)
    if keys is None:
        name = command[0].decode(errors="replace").upper()
        return RespError(f"ERR {name} needs every shard; the sharded store does not support it")
    if not keys or not all(type(k) is bytes for k in keys):
        return None
    first = shard_of(keys[0], shards)
    for k in keys[1:]:
        if shard_of(k, shards) != first:
            return CROSSSLOT
    return first


# ---- the front: number, route, answer in order ---------------------------------------------------


@dataclass(eq=False)
class FrontState:
    """Per client with requests in flight: the next request number to give, the next one to
    answer, and the replies that came back ahead of an earlier one. A client with nothing in
    flight has no entry (numbers restart at 0), so the state holds only busy clients."""

    given: dict[int, int] = field(default_factory=lambda: {})
    answered: dict[int, int] = field(default_factory=lambda: {})
    held: dict[int, dict[int, Reply]] = field(default_factory=lambda: {})


FrontStep = tuple[FrontState, list[tuple[hl.MemberId[Shards], Routed]], list[tuple[hl.ClientId, Reply]]]
"""The front's scan accumulator: its state, the commands this step routes, the replies it releases."""


def new_front() -> FrontStep:
    return FrontState(), [], []


def front_step(
    acc: FrontStep,
    batch: tuple[tuple[list[tuple[hl.ClientId, list[bytes]]], list[Answered]], tuple[hl.MemberId[Shards], ...]],
) -> FrontStep:
    """Number and route this tick's new requests; release every reply whose predecessors (in
    its client's order) have been released."""
    st = acc[0]
    (requests, replies), members = batch
    n = len(members)
    given, answered, held = st.given, st.answered, st.held
    routed: list[tuple[hl.MemberId[Shards], Routed]] = []
    touched: set[int] = set()
    for cid, command in requests:
        seq = given.get(cid, 0)
        given[cid] = seq + 1
        where = route(command, n) if n else RespError("ERR the store has no shard")
        if type(where) is int:
            routed.append((members[where], (cid, seq, command)))
        else:  # answered here: key-less, malformed or impossible to route
            reply = apply_command({}, command) if where is None else where
            held.setdefault(cid, {})[seq] = reply
            touched.add(cid)
    for client, seq, reply in replies:
        held.setdefault(client, {})[seq] = reply
        touched.add(client)
    released: list[tuple[hl.ClientId, Reply]] = []
    for client in sorted(touched):
        waiting = held[client]
        nxt = answered.get(client, 0)
        while nxt in waiting:
            released.append((hl.ClientId(client), waiting.pop(nxt)))
            nxt += 1
        if not waiting:
            del held[client]
            if nxt == given[client]:  # nothing in flight: forget the client
                del given[client]
                answered.pop(client, None)
                continue
        answered[client] = nxt
    return st, routed, released


def _routed(step: FrontStep) -> list[tuple[hl.MemberId[Shards], Routed]]:
    return step[1]


def _released(step: FrontStep) -> list[tuple[hl.ClientId, Reply]]:
    return step[2]


def _client_of(entry: tuple[hl.ClientId, Any]) -> int:
    return entry[0]


def _client_and_seq(answer: Answered) -> tuple[int, int]:
    return answer[0], answer[1]


# ---- a shard: apply in arrival order --------------------------------------------------------------

ShardStep = tuple[Store, list[Answered]]


def new_shard() -> ShardStep:
    return {}, []


def shard_step(acc: ShardStep, commands: list[Routed]) -> ShardStep:
    """Apply one tick's commands to the shard's store, in the order the front sent them."""
    store = acc[0]
    return store, [(cid, seq, apply_command(store, command)) for cid, seq, command in commands]


def _answers(step: ShardStep) -> list[Answered]:
    return step[1]


@dataclass
class Sharded:
    """What ``sharded_store`` builds: the front's RESP port, and at each shard the commands it
    received (in the order it applies them) and its replies (for tests)."""

    port: hl.ExternalBidi[hl.Process[Front]]
    received: hl.Stream[Routed, hl.Cluster[Shards], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]
    applied: hl.Stream[Answered, hl.Cluster[Shards], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]


def sharded_store(
    front: hl.Process[Front], shards: hl.Cluster[Shards], redis: hl.External[RedisClient], port: int | None = None
) -> Sharded:
    """The store with one RESP port at ``front`` and its keys spread over ``shards``."""
    requests, replies = front.source_external_bidi(redis, name="redis", of=COMMAND, codec="resp", port=port)
    tick = front.tick()
    new_requests = (
        requests.batch(
            tick,
            nondet(
                "which requests of concurrent clients a tick takes only decides how they interleave "
                "at the shards; each client's requests keep their order and numbers"
            ),
        )
        .entries()
        .sort(key=_client_of)
        .collect_list()
    )
    answers_ref: hl.ForwardRef[hl.Stream[Answered, hl.Cluster[Shards], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]]
    answers: hl.Stream[Answered, hl.Cluster[Shards], hl.Unbounded, hl.TotalOrder, hl.ExactlyOnce]
    answers_ref, answers = cast(Any, shards.forward_ref(tuple, hl.TotalOrder))
    new_answers = (
        answers.send(front)
        .values()
        .batch(
            tick,
            nondet(
                "replies of different shards may come back in any order; the front puts each "
                "client's back in request order before answering"
            ),
        )
        .sort(key=_client_and_seq)
        .collect_list()
    )
    steps = (
        new_requests.zip(new_answers)
        .zip(tick.cluster_members(shards))
        .into_stream()
        .all_ticks()
        .scan(new_front, front_step)
    )
    at_shards = steps.flat_map_ordered(_routed).demux(shards)
    shard_tick = shards.tick()
    applied = (
        at_shards.batch(
            shard_tick,
            nondet("how many of the front's commands a shard applies per tick does not change their order"),
        )
        .collect_list()
        .into_stream()
        .all_ticks()
        .scan(new_shard, shard_step)
        .flat_map_ordered(_answers)
    )
    answers_ref.complete(applied)
    replies.complete(steps.flat_map_ordered(_released).into_keyed())
    return Sharded(replies, at_shards, applied)


def store_per_port(
    shards: hl.Cluster[Shards], redis: hl.External[RedisClient], port: int | None = None
) -> hl.ExternalBidi[hl.Cluster[Shards]]:
    """Every shard a whole store on its own RESP port; clients route keys with ``shard_of``."""
    requests, replies = shards.source_external_bidi(redis, name="redis", of=COMMAND, codec="resp", port=port)
    replies.complete(
        serve_sequentially(
            shards,
            requests,
            dict[bytes, bytes],
            apply_command,
            nondet("concurrent clients of a shard are independent: it may order their commands either way"),
        )
    )
    return replies


def build(flow: hl.FlowBuilder) -> None:
    """One port (``HL_REDIS_PORT`` fixes it), at a front that routes to ``--cluster Shards=N``."""
    port = os.environ.get("HL_REDIS_PORT")
    sharded_store(flow.process(Front), flow.cluster(Shards), flow.external(RedisClient), int(port) if port else None)


def build_ports(flow: hl.FlowBuilder) -> None:
    """A port per shard (``d.port("redis", member=i)``); clients route with ``shard_of``."""
    store_per_port(flow.cluster(Shards), flow.external(RedisClient))


def main() -> None:
    """Demo: deploy the front and 3 shards on local processes, SET and GET through the front."""
    with hl.deploy.Localhost(log=lambda _: None, log_level="WARNING").start(f"{os.path.abspath(__file__)}:build", {"Shards": 3}) as d:
        port = d.port("redis").port
        print(f"sharded store listening on 127.0.0.1:{port} (try: redis-cli -p {port})")
        with d.client("redis") as a:
            for key in (b"apple", b"banana", b"cherry", b"{user1}.name", b"{user1}.mail"):
                a.send([b"SET", key, key.upper()])
                print(f"SET {key.decode()} -> {a.take(1)[0]!r} (shard {shard_of(key, 3)})")
            print("MGET {user1}.name {user1}.mail ->", a.request([b"MGET", b"{user1}.name", b"{user1}.mail"]))
            print("MGET apple cherry ->", a.request([b"MGET", b"apple", b"cherry"]))


if __name__ == "__main__":
    main()
