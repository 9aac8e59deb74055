"""The sharded Redis-protocol store (examples/redis_sharded.py).

* routing on its own: the stable hash, hash tags, commands the front answers or refuses, and the
  front's reordering of replies that come back out of order;
* the simulator: every command reaches the shard that owns its key, each client's replies come
  in request order, and an acknowledged SET is visible to a later GET of another client;
* deployed on real processes and sockets: through the one port (redis-py and redis-cli), and a
  port per shard.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from redis_cli_support import cli, needs_redis_cli

import hydrologic as hl
from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.net.resp import RespError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_sharded.py")
sys.path.insert(0, str(ROOT / "examples"))

import redis_sharded as rs  # noqa: E402


def c(*words: str) -> list[bytes]:
    return [w.encode() for w in words]


def keys_on(shard: int, shards: int, count: int, prefix: str = "k") -> list[str]:
    """``count`` key names that ``shard_of`` puts on ``shard``."""
    out = [f"{prefix}{i}" for i in range(10_000) if rs.shard_of(f"{prefix}{i}".encode(), shards) == shard]
    return out[:count]


# ---- routing ------------------------------------------------------------------------------------


def test_shard_of_is_stable_and_spreads_keys() -> None:
    import zlib

    assert rs.shard_of(b"apple", 3) == zlib.crc32(b"apple") % 3  # not Python's salted hash()
    counts = [0] * 4
    for i in range(4000):
        counts[rs.shard_of(f"key:{i}".encode(), 4)] += 1
    assert all(800 < n < 1200 for n in counts), counts


def test_hash_tags_put_related_keys_on_one_shard() -> None:
    assert rs.hash_slot_key(b"{user1}.name") == b"user1"
    assert rs.hash_slot_key(b"plain") == b"plain"
    assert rs.hash_slot_key(b"{}.empty-tag") == b"{}.empty-tag"  # an empty tag hashes the whole key
    assert rs.hash_slot_key(b"a{b}c{d}") == b"b"  # the first tag only
    assert all(rs.shard_of(f"{{user1}}.{f}".encode(), 7) == rs.shard_of(b"user1", 7) for f in ("name", "mail", "age"))


def test_route_names_one_shard_or_says_why_not() -> None:
    a, b = keys_on(0, 2, 1)[0], keys_on(1, 2, 1)[0]
    assert rs.route(c("SET", a, "v"), 2) == 0 and rs.route(c("get", b), 2) == 1
    assert rs.route(c("MSET", a, "1", f"{{{a}}}x", "2"), 2) == 0
    assert rs.route(c("MGET", a, b), 2) == rs.CROSSSLOT
    assert rs.route(c("DEL", a, b), 2) == rs.CROSSSLOT
    assert rs.route(c("PING"), 2) is None and rs.route(c("CONFIG", "GET", "save"), 2) is None
    assert rs.route(c("GET"), 2) is None  # malformed: the front answers with the store's arity error
    err = rs.route(c("DBSIZE"), 2)
    assert isinstance(err, RespError) and "DBSIZE needs every shard" in err.message


def test_front_releases_each_clients_replies_in_request_order() -> None:
    members = (hl.MemberId[rs.Shards](0), hl.MemberId[rs.Shards](1))
    a0, a1 = keys_on(0, 2, 1)[0], keys_on(1, 2, 1)[0]
    acc = rs.new_front()
    one, two = hl.ClientId(1), hl.ClientId(2)
    acc = rs.front_step(acc, (([(one, c("SET", a0, "x")), (one, c("PING")), (one, c("GET", a1)), (two, c("GET", a1))], []), members))
    assert [(m.raw_id, r) for m, r in acc[1]] == [(0, (1, 0, c("SET", a0, "x"))), (1, (1, 2, c("GET", a1))), (1, (2, 0, c("GET", a1)))]
    assert acc[2] == []  # PING's reply waits for the SET before it
    acc = rs.front_step(acc, (([], [(1, 2, b"late"), (2, 0, None)]), members))  # shard 1 answered first
    assert acc[2] == [(two, None)]
    acc = rs.front_step(acc, (([], [(1, 0, "OK")]), members))
    assert acc[2] == [(one, "OK"), (one, "PONG"), (one, b"late")]
    st = acc[0]
    assert st.given == {} and st.answered == {} and st.held == {}  # idle clients are forgotten


# ---- the simulator -------------------------------------------------------------------------------


def _program() -> tuple[hl.FlowBuilder, rs.Sharded, hl.SimOutput[Any]]:
    flow = hl.FlowBuilder()
    shards = flow.cluster(rs.Shards)
    front = flow.process(rs.Front)
    svc = rs.sharded_store(front, shards, flow.external(rs.RedisClient))
    received = svc.received.send(front).entries().sim_output()
    return flow, svc, received


SIZES: dict[Any, int] = {rs.Shards: 2}


def test_commands_reach_their_shard_and_replies_keep_order_sim() -> None:
    flow, svc, received = _program()
    a, b = svc.port.client(1), svc.port.client(2)
    k0, k1 = keys_on(0, 2, 1)[0], keys_on(1, 2, 1)[0]
    runs = [0]

    def scenario() -> None:
        a.send_many([c("SET", k0, "a0"), c("SET", k1, "a1"), c("PING"), c("GET", k0), c("INCR", k1)])
        b.send_many([c("GET", k1), c("MGET", k0, k1)])
        ra = [a.next() for _ in range(5)]
        rb = [b.next() for _ in range(2)]
        assert ra[:4] == ["OK", "OK", "PONG", b"a0"], ra
        assert ra[4] == RespError("ERR value is not an integer or out of range")
        assert rb[0] in (None, b"a1") and rb[1] == rs.CROSSSLOT, rb
        for member, (_, _, command) in received.collect():
            assert rs.route(command, 2) == member.raw_id, (member, command)
        # read-after-write across clients: a's SET was acknowledged before this GET was sent
        b.send(c("GET", k1))
        assert b.next() == b"a1"
        runs[0] += 1

    flow.sim(cluster_sizes=SIZES).fuzz(scenario, iterations=300, seed=3)
    assert runs[0] == 300


def test_concurrent_increments_on_two_shards_linearize_sim() -> None:
    flow, svc, _ = _program()
    a, b = svc.port.client(1), svc.port.client(2)
    k0, k1 = keys_on(0, 2, 1)[0], keys_on(1, 2, 1)[0]
    outcomes: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        a.send_many([c("INCR", k0), c("INCR", k1)])
        b.send_many([c("INCR", k1), c("INCR", k0)])
        ra, rb = [a.next(), a.next()], [b.next(), b.next()]
        assert sorted([ra[0], rb[1]]) == [1, 2] and sorted([ra[1], rb[0]]) == [1, 2], (ra, rb)
        outcomes.add((tuple(ra), tuple(rb)))

    flow.sim(cluster_sizes=SIZES).fuzz(scenario, iterations=300, seed=5)
    assert len(outcomes) > 1  # both orders at the shards were explored


def test_in_process_run_with_four_shards() -> None:
    flow, _, received = _program()
    with flow.run_in_process(cluster_sizes={rs.Shards: 4}) as run:
        keys = [f"key:{i}" for i in range(40)]
        run.external_send("redis", [c("SET", k, k.upper()) for k in keys], client=1)
        assert run.external_collect("redis", client=1) == ["OK"] * 40
        run.external_send("redis", [c("GET", k) for k in keys], client=2)
        assert run.external_collect("redis", client=2) == [k.upper().encode() for k in keys]
        per = {m.raw_id for m, _ in received.collect()}
        assert per == {0, 1, 2, 3}


# ---- deployed ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def front() -> Iterator[LocalDeployment]:
    with Localhost(log=lambda _: None).start(f"{EXAMPLE}:build", {"Shards": 3}) as d:
        yield d


@pytest.mark.timeout(90)
def test_get_after_set_through_the_front(front: LocalDeployment) -> None:
    import redis

    r = redis.Redis(host="127.0.0.1", port=front.port("redis").port, socket_timeout=30)
    keys = [f"user:{i}" for i in range(60)]
    assert {rs.shard_of(k.encode(), 3) for k in keys} == {0, 1, 2}
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.set(k, k[::-1])
    assert pipe.execute() == [True] * 60
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.get(k)
        pipe.incr(f"{{{k}}}.visits")
    got = pipe.execute()
    assert got[0::2] == [k[::-1].encode() for k in keys] and got[1::2] == [1] * 60
    assert r.mget("{t}a", "{t}b") == [None, None]
    with pytest.raises(redis.ResponseError, match="don.t hash to the same slot"):
        r.mget(*keys_on(0, 3, 1), *keys_on(1, 3, 1))
    assert r.ping() is True


@needs_redis_cli
@pytest.mark.timeout(60)
def test_redis_cli_through_the_front(front: LocalDeployment) -> None:
    port = front.port("redis").port
    assert cli(port, "SET", "cli:greeting", "hello world") == "OK"
    assert cli(port, "GET", "cli:greeting") == "hello world"
    assert cli(port, "DBSIZE") == "ERR DBSIZE needs every shard; the sharded store does not support it"


@pytest.mark.timeout(90)
def test_a_port_per_shard() -> None:
    import redis

    with Localhost(log=lambda _: None).start(f"{EXAMPLE}:build_ports", {"Shards": 2}) as d:
        ports = [d.port("redis", member=i).port for i in range(2)]
        assert len(set(ports)) == 2
        clients = [redis.Redis(host="127.0.0.1", port=p, socket_timeout=30) for p in ports]
        keys = [f"k{i}" for i in range(20)]
        for k in keys:  # a client routes with shard_of, as a Redis Cluster client does
            assert clients[rs.shard_of(k.encode(), 2)].set(k, k) is True
        for k in keys:
            owner = rs.shard_of(k.encode(), 2)
            assert clients[owner].get(k) == k.encode()
            assert clients[1 - owner].get(k) is None  # each shard is its own store
        assert sum(cl.dbsize() for cl in clients) == 20
