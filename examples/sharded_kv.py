"""Sharded key-value service that rebalances its keys when a shard joins or leaves.

    python examples/sharded_kv.py                 # deploy 1 router + 2 shards, grow to 3, drop one
    python -m hydrologic run examples/sharded_kv.py:build --cluster Shards=2
    python -m hydrologic scale examples/sharded_kv.py:build Shards=3     # while it runs

A client writes ``[key, value]`` pairs (strings) to ``put`` (each acknowledged on ``ack`` with its
key) and keys to ``get`` (each answered once on ``value`` with ``[key, value]``, ``null`` for a key
never written). The shards hold the data and answer the reads; the router sends every key to
its owner: the current member that wins rendezvous hashing for it (the highest
``crc32(member:key)``), so a join or a leave moves only the keys that member wins or held.

The router follows the shards with ``source_cluster_members``. When the membership it sees
changes, it **rebalances**: every key whose owner changed, or whose owner has just joined (a new
member, or one that restarted empty), is loaded into its owner, and every read still waiting
for an answer about such a key is sent again. A shard that
leaves (or crashes) takes its data with it, so the router keeps the latest value of every key
it wrote (its write log, in memory here) to re-seed the new owners; reads are still served by
the shards. Everything for one shard leaves the router on one ordered channel, loads before
reads, so a read that reaches a new owner finds its keys there.

``rebalance_on_leave=False`` builds the bug this design exists to avoid: keys are moved to a
member that joins, but a leave is ignored. Every test without a leave passes; the simulator,
allowed one leave (``sim.faults(leaves=1)``), finds a read answered ``null`` for a key that was
written and acknowledged.
"""

from __future__ import annotations

import argparse
import os
import sys
import zlib
from typing import NamedTuple, cast

import hydrologic as hl
from hydrologic import Cluster, ExactlyOnce, MembershipEvent, MemberId, NoOrder, Process, Stream, TotalOrder, Unbounded, nondet


class Router: ...


class Shards: ...


class Client: ...


Request = tuple[str, str, str]  # ("put", key, value) | ("get", key, "")
ToShard = tuple[str, int, str, str]  # ("put" | "load", 0, key, value) | ("get", read id, key, "")
Reply = tuple[int, str, str | None]  # (read id, key, value)


def owner(key: str, members: tuple[int, ...]) -> int | None:
    """The member that owns ``key`` among ``members`` (rendezvous hashing), None if there is none."""
    if not members:
        return None
    return max(members, key=lambda m: (zlib.crc32(f"{m}:{key}".encode()), m))


class RouterState(NamedTuple):
    members: tuple[int, ...]  # the shards as of the last membership change seen, ascending
    data: dict[str, str]  # the latest value of every key written (the write log)
    waiting: dict[int, str]  # reads sent and not answered yet: read id -> key
    next_read: int


INITIAL = RouterState((), {}, {}, 0)


def router_step(
    st: RouterState,
    changes: list[tuple[MemberId[Shards], MembershipEvent]],
    requests: list[Request],
    replies: frozenset[Reply],
    rebalance_on_leave: bool = True,
) -> tuple[RouterState, list[tuple[MemberId[Shards], ToShard]], list[str], list[tuple[str, str | None]]]:
    """One tick of the router: apply the membership changes (rebalancing if the members changed),
    answer the reads the shards replied to, then route this tick's requests.

    Returns the new state, what to send to which shard (in order), the keys of the puts to
    acknowledge and the ``(key, value)`` answers."""
    members, data, waiting, next_read = set(st.members), dict(st.data), dict(st.waiting), st.next_read
    for m, event in changes:
        (members.add if event is MembershipEvent.JOINED else members.discard)(m.raw_id)
    now = tuple(sorted(members))
    sends: list[tuple[MemberId[Shards], ToShard]] = []

    def send(key: str, msg: ToShard) -> None:
        to = owner(key, now)
        if to is not None:  # no shard at all: the write log and the waiting reads keep it for later
            sends.append((MemberId(to), msg))

    # A member whose last event here is JOINED starts empty: new, or restarted (its LEFT may be
    # in this same batch, so the set of members can look unchanged).
    fresh = {m.raw_id for m, event in changes if event is MembershipEvent.JOINED}
    left = set(st.members) - members
    before = st.members if rebalance_on_leave or not left else now  # the bug: a leave moves nothing

    def moved(key: str) -> bool:
        new = owner(key, now)
        return new is not None and (new in fresh or new != owner(key, before))

    for key, value in sorted(data.items()):
        if moved(key):
            send(key, ("load", 0, key, value))
    for rid, key in sorted(waiting.items()):
        if moved(key):  # it may have been lost with the old owner: ask the new one
            send(key, ("get", rid, key, ""))
    answers: list[tuple[str, str | None]] = []
    for rid, key, found in sorted(replies, key=repr):
        if waiting.pop(rid, None) is not None:  # the first answer to a read; a late twin is dropped
            answers.append((key, found))
    acks: list[str] = []
    for kind, key, value in requests:
        if kind == "put":
            data[key] = value
            send(key, ("put", 0, key, value))
            acks.append(key)
        else:
            waiting[next_read] = key
            send(key, ("get", next_read, key, ""))
            next_read += 1
    return RouterState(now, data, waiting, next_read), sends, acks, answers


def shard_step(state: tuple[dict[str, str], Reply | None], msg: ToShard) -> tuple[dict[str, str], Reply | None]:
    """A shard applies writes and loads, and answers reads from what it holds."""
    store, _ = state
    kind, rid, key, value = msg
    if kind == "get":
        return store, (rid, key, store.get(key))
    return {**store, key: value}, None


class Outputs(NamedTuple):
    acks: Stream[str, Process[Router], Unbounded, TotalOrder, ExactlyOnce]
    values: Stream[tuple[str, str | None], Process[Router], Unbounded, TotalOrder, ExactlyOnce]


def sharded_kv(
    router: Process[Router],
    shards: Cluster[Shards],
    requests: Stream[Request, Process[Router], Unbounded, TotalOrder, ExactlyOnce],
    *,
    rebalance_on_leave: bool = True,
) -> Outputs:
    """The service, as a function over live collections."""
    tick = router.tick()
    handle, state = tick.cycle_with_initial(tick.singleton(INITIAL))
    changes = (
        router.source_cluster_members(shards)
        .batch(tick, nondet("the router sees joins and leaves some ticks after they happen; until then it routes by the old members"))
        .last()
        .entries()
        .sort()
        .collect_list()
    )
    batch = requests.batch(tick, nondet("requests are routed in whichever tick sees them, in order")).collect_list()
    # the shards' answers, defined below (a cycle through the shards); a Reply is a plain tuple
    replies_handle, replies_from_shards = router.forward_ref(cast("type[Reply]", tuple), NoOrder)
    replies = replies_from_shards.batch(tick, nondet("a reply is used in whichever tick sees it")).fold(
        lambda: frozenset[Reply](),
        lambda acc, r: acc | {r},
        commutative=hl.proof("set union"),
    )
    result = state.zip(changes).zip(batch).zip(replies).map(
        lambda s: router_step(s[0][0][0], s[0][0][1], s[0][1], s[1], rebalance_on_leave)
    )
    handle.complete_next_tick(result.map(lambda r: r[0]))
    to_shards = result.flat_map_ordered(lambda r: r[1]).all_ticks().demux(shards)
    answers_back = (
        to_shards.scan(lambda: ({}, None), shard_step)
        .filter_map(lambda st: st[1])
        .send(router)
        .values()
    )
    replies_handle.complete(answers_back)
    acks = result.flat_map_ordered(lambda r: r[2]).all_ticks()
    values = result.flat_map_ordered(lambda r: r[3]).all_ticks()
    return Outputs(acks, values)


def parse_put(message: object) -> Request | None:
    """``[key, value]`` (two strings) from an untrusted client, or None (dropped)."""
    if not isinstance(message, list):
        return None
    pair = cast("list[object]", message)
    if len(pair) == 2 and isinstance(pair[0], str) and isinstance(pair[1], str):
        return ("put", pair[0], pair[1])
    return None


def build(flow: hl.FlowBuilder) -> None:
    router = flow.process(Router)
    shards = flow.cluster(Shards)
    client = flow.external(Client)
    puts = router.source_external(client, name="put", codec="json").filter_map(parse_put)
    gets = router.source_external(client, name="get", of=str, codec="json").map(lambda key: ("get", key, ""))
    requests = puts.merge_ordered(gets, nondet("puts and gets from separate ports interleave in arrival order"))
    out = sharded_kv(router, shards, requests)
    out.acks.send_external(client, name="ack", codec="json")
    out.values.map(lambda kv: [kv[0], kv[1]]).send_external(client, name="value", codec="json")


class SimPorts(NamedTuple):
    shards: Cluster[Shards]
    requests: hl.SimInput[Request]
    acks: hl.SimOutput[str]
    values: hl.SimOutput[tuple[str, str | None]]


def build_sim(flow: hl.FlowBuilder, *, rebalance_on_leave: bool = True) -> SimPorts:
    """The same service with simulator ports in place of the External client."""
    router = flow.process(Router)
    shards = flow.cluster(Shards)
    port, requests = router.sim_input(Request)
    out = sharded_kv(router, shards, requests, rebalance_on_leave=rebalance_on_leave)
    return SimPorts(shards, port, out.acks.sim_output(), out.values.sim_output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args(argv)
    program = f"{os.path.abspath(__file__)}:build"
    keys = [f"k{i}" for i in range(20)]
    with hl.deploy.Localhost(log=lambda _line: None).start(program, {"Shards": args.shards}) as d:
        with d.input("put") as put, d.output("ack") as acks, d.input("get") as get, d.output("value") as values:
            put.send_many([[k, f"v{k}"] for k in keys])
            acks.take(len(keys), timeout=30)
            print(f"wrote {len(keys)} keys on shards {d.members('Shards')}")
            d.add_member("Shards")
            d.remove_member("Shards", 0)
            print(f"rebalanced: shards are now {d.members('Shards')}")
            get.send_many(keys)
            got = dict(map(tuple, values.take(len(keys), timeout=30)))  # pyright: ignore[reportUnknownArgumentType]
            ok = all(got.get(k) == f"v{k}" for k in keys)
            print("every key was found at its new owner" if ok else f"lost keys: {sorted(k for k in keys if got.get(k) != f'v{k}')}")
            return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
