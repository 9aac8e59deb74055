"""What the type-level API infers: checked by tests/test_typing_api.py, never run.

Each ``reveal_type(...)`` line carries ``# reveal: <type>``, the type both mypy and pyright must
infer, written with unqualified names (the test strips mypy's module prefixes).
"""

from typing import AsyncIterator, Optional, Union

from typing_extensions import TypeAlias, reveal_type

import hydrologic as hl
from hydrologic import nondet, proof


class Leader: ...


class Backup: ...


class Worker: ...


Quote = tuple[str, float]  # element types named by type aliases, implicit and explicit
Reading: TypeAlias = tuple[str, int]
Key: TypeAlias = Union[int, str]
MaybeInt = Optional[int]


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    backup = flow.process(Backup)
    workers = flow.cluster(Worker)
    tick = leader.tick()

    nums = leader.source_iter([3, 1, 2])
    _, live = leader.sim_input(int)
    unordered = nums.weaken_ordering()
    retried = nums.weaken_retries()

    # sources and free weakening
    reveal_type(nums)  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(live)  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(unordered)  # reveal: Stream[int, Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(retried)  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, AtLeastOnce]

    # element-wise operators keep every guarantee
    reveal_type(unordered.map(str))  # reveal: Stream[str, Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(retried.filter(lambda n: n > 1))  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, AtLeastOnce]
    reveal_type(nums.flat_map_unordered(lambda n: {n, -n}))  # reveal: Stream[int, Process[Leader], Bounded, NoOrder, ExactlyOnce]

    # chain: the first side must be Bounded; the result has the other's boundedness and the
    # weaker of both orderings and of both retry guarantees, written as a union of markers
    # (`TotalOrder | NoOrder` admits exactly what `NoOrder` admits, since TotalOrder <: NoOrder)
    reveal_type(nums.chain(live))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(nums.chain(live.weaken_ordering()))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder | NoOrder, ExactlyOnce]
    reveal_type(unordered.chain(retried))  # reveal: Stream[int, Process[Leader], Bounded, NoOrder | TotalOrder, ExactlyOnce | AtLeastOnce]
    reveal_type(retried.chain(nums))  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, AtLeastOnce | ExactlyOnce]
    reveal_type(unordered.chain(unordered))  # reveal: Stream[int, Process[Leader], Bounded, NoOrder, ExactlyOnce]

    # pairing and merging lose order
    pairs = leader.source_iter([(1, "a")])
    prices = leader.source_iter([(1, 2.5)])
    reveal_type(pairs.join(prices))  # reveal: Stream[tuple[int, tuple[str, float]], Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(nums.cross_product(pairs))  # reveal: Stream[tuple[int, tuple[int, str]], Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(live.merge_unordered(live))  # reveal: Stream[int, Process[Leader], Unbounded, NoOrder, ExactlyOnce]
    reveal_type(live.merge_ordered(live, nondet("interleaving")))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    _, quotes = leader.sim_input(tuple[str, float])
    reveal_type(quotes)  # reveal: Stream[tuple[str, float], Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(quotes.merge_unordered(quotes))  # reveal: Stream[tuple[str, float], Process[Leader], Unbounded, NoOrder, ExactlyOnce]
    _, aliased = leader.sim_input(Quote)
    reveal_type(aliased)  # reveal: Stream[tuple[str, float], Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    quote_in, _ = leader.sim_input(Quote)
    reveal_type(quote_in)  # reveal: SimInput[tuple[str, float]]
    _, readings = leader.sim_input(Reading)
    reveal_type(readings)  # reveal: Stream[tuple[str, int], Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    _, keys = leader.sim_input(Key)
    reveal_type(keys)  # reveal: Stream[int | str, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    _, maybe = leader.sim_input(MaybeInt)
    reveal_type(maybe)  # reveal: Stream[int | None, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]

    # restoring guarantees
    reveal_type(unordered.sort())  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(retried.unique())  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(live.weaken_ordering().assume_ordering(nondet("why")))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(retried.assume_retries(nondet("why")))  # reveal: Stream[int, Process[Leader], Bounded, TotalOrder, ExactlyOnce]

    # aggregations
    reveal_type(live.fold(lambda: 0, lambda acc, n: acc + n))  # reveal: Singleton[int, Process[Leader], Unbounded]
    reveal_type(unordered.fold(lambda: 0, lambda acc, n: acc + n, commutative=proof("+ commutes")))  # reveal: Singleton[int, Process[Leader], Bounded]
    reveal_type(live.reduce(lambda a, b: a + b))  # reveal: Optional[int, Process[Leader], Unbounded]
    reveal_type(live.first())  # reveal: Optional[int, Process[Leader], Unbounded]
    reveal_type(unordered.max())  # reveal: Optional[int, Process[Leader], Bounded]
    reveal_type(live.count())  # reveal: Singleton[int, Process[Leader], Monotonic]
    reveal_type(nums.enumerate())  # reveal: Stream[tuple[int, int], Process[Leader], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(nums.collect_list())  # reveal: Singleton[list[int], Process[Leader], Bounded]

    # keyed streams
    words = leader.source_iter([("a", 1)]).into_keyed()
    reveal_type(words)  # reveal: KeyedStream[str, int, Process[Leader], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(words.values())  # reveal: Stream[int, Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(words.entries())  # reveal: Stream[tuple[str, int], Process[Leader], Bounded, NoOrder, ExactlyOnce]
    reveal_type(words.fold(lambda: 0, lambda acc, n: acc + n))  # reveal: KeyedSingleton[str, int, Process[Leader], Bounded]
    reveal_type(words.first())  # reveal: KeyedSingleton[str, int, Process[Leader], Bounded]
    reveal_type(words.value_counts())  # reveal: KeyedSingleton[str, int, Process[Leader], Bounded]
    reveal_type(words.fold(lambda: 0, lambda acc, n: acc + n).entries())  # reveal: Stream[tuple[str, int], Process[Leader], Bounded, NoOrder, ExactlyOnce]

    # ticks
    batch = live.batch(tick, nondet("per tick"))
    reveal_type(tick)  # reveal: Tick[Process[Leader]]
    reveal_type(batch)  # reveal: Stream[int, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(live.weaken_ordering().batch(tick, nondet("per tick")))  # reveal: Stream[int, Tick[Process[Leader]], Bounded, NoOrder, ExactlyOnce]
    reveal_type(batch.all_ticks())  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(batch.fold(lambda: 0, lambda acc, n: acc + n))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
    reveal_type(live.count().snapshot(tick, nondet("why")))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
    reveal_type(batch.count().latest())  # reveal: Singleton[int, Process[Leader], Unbounded]
    reveal_type(batch.count().into_stream())  # reveal: Stream[int, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(tick.cycle(str)[1])  # reveal: Stream[str, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]

    # networking (SPEC §6)
    reveal_type(live.send(backup))  # reveal: Stream[int, Process[Backup], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(nums.weaken_ordering().send(backup))  # reveal: Stream[int, Process[Backup], Unbounded, NoOrder | TotalOrder, ExactlyOnce]
    reveal_type(live.send(backup, channel=hl.Channel.lossy_delayed_forever()))  # reveal: Stream[int, Process[Backup], Unbounded, TotalOrder | NoOrder, ExactlyOnce]
    from_workers = workers.source_iter([1]).send(leader)
    reveal_type(from_workers)  # reveal: KeyedStream[MemberId[Worker], int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(from_workers.values())  # reveal: Stream[int, Process[Leader], Unbounded, NoOrder, ExactlyOnce]
    reveal_type(live.round_robin(workers, nondet("any worker")))  # reveal: Stream[int, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.broadcast(workers, nondet("membership")))  # reveal: Stream[int, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.self_id())  # reveal: Singleton[MemberId[Worker], Cluster[Worker, NoConsistency], Bounded]
    reveal_type(leader.peer_liveness(workers))  # reveal: KeyedStream[MemberId[Worker], Liveness, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.peer_liveness(leader).entries())  # reveal: Stream[tuple[MemberId[Leader], Liveness], Cluster[Worker, NoConsistency], Unbounded, NoOrder, ExactlyOnce]

    # monotonicity and thresholds
    reveal_type(live.count().map(lambda n: n + 1))  # reveal: Singleton[int, Process[Leader], Unbounded]
    reveal_type(live.count().map(lambda n: n + 1, order_preserving=proof("+1 keeps the order")))  # reveal: Singleton[int, Process[Leader], Monotonic]
    reveal_type(batch.count().map(lambda n: n + 1))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
    reveal_type(live.fold(lambda: 0, max, monotone=proof("max grows")))  # reveal: Singleton[int, Process[Leader], Monotonic]
    reveal_type(live.count().threshold_greater_or_equal(leader.singleton(3)))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.map(lambda n: (n, n)).into_keyed().value_counts())  # reveal: KeyedSingleton[int, int, Process[Leader], Monotonic]

    # sliced regions and atomic reads
    with hl.sliced(leader) as s:
        reveal_type(s.batch(live, nondet("why")))  # reveal: Stream[int, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]
        reveal_type(s.snapshot(live.count(), nondet("why")))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
        carried = s.state(lambda t: t.singleton(0))
        reveal_type(carried.value)  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
        carried.set(carried.value)
        reveal_type(s.unslice(s.batch(live, nondet("why"))))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.atomic())  # reveal: Stream[int, Atomic[Tick[Process[Leader]]], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.atomic().batch_atomic(nondet("why")))  # reveal: Stream[int, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(batch.across_ticks(lambda s: s.count()))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
    reveal_type(leader.singleton(1).clone_into_tick(tick))  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]

    # --- async user functions and timers
    reveal_type(live.map(_lookup).resolve_futures())  # reveal: Stream[str, Process[Leader], Unbounded, NoOrder, ExactlyOnce]
    reveal_type(retried.map(_lookup).resolve_futures_ordered(max_in_flight=4))  # reveal: Stream[str, Process[Leader], Unbounded, TotalOrder, AtLeastOnce]
    reveal_type(batch.map(_lookup).resolve_futures_blocking())  # reveal: Stream[str, Tick[Process[Leader]], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(leader.source_stream(_feed))  # reveal: Stream[str, Process[Leader], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.sample_every(1.0, nondet("clock")))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, AtLeastOnce]
    reveal_type(live.timeout(1.0, nondet("clock")))  # reveal: Optional[None, Process[Leader], Unbounded]
    reveal_type(live.count().sample_eager(nondet("clock")))  # reveal: Stream[int, Process[Leader], Unbounded, TotalOrder, AtLeastOnce]
    reveal_type(workers.spin())  # reveal: Stream[None, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.source_interval_delayed(0, 1.0, nondet("clock")))  # reveal: Stream[float, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]


    # consistency across a cluster's members (Cluster[Tag, Con])
    reveal_type(live.broadcast_closed(workers))  # reveal: Stream[int, Cluster[Worker, EventualConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.broadcast_closed(workers, channel=hl.Channel.lossy(nondet("drops"))))  # reveal: Stream[int, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(live.broadcast_closed(workers, channel=hl.Channel.lossy_delayed_forever()))  # reveal: Stream[int, Cluster[Worker, EventualConsistency], Unbounded, TotalOrder | NoOrder, ExactlyOnce]
    reveal_type(workers.source_iter([1]).broadcast_closed(workers))  # reveal: KeyedStream[MemberId[Worker], int, Cluster[Worker, EventualConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.source_iter([1]))  # reveal: Stream[int, Cluster[Worker, NoConsistency], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.singleton(1))  # reveal: Singleton[int, Cluster[Worker, NoConsistency], Bounded]
    total = live.broadcast_closed(workers).count()
    reveal_type(total)  # reveal: Singleton[int, Cluster[Worker, EventualConsistency], Monotonic]
    reveal_type(total.make_eventually_consistent())  # reveal: Singleton[int, Cluster[Worker, EventualConsistency], Monotonic]
    reveal_type(total.weaken_consistency())  # reveal: Singleton[int, Cluster[Worker, NoConsistency], Monotonic]
    reveal_type(total.weaken_consistency().assert_has_consistency_of(hl.EventualConsistency, nondet("why")))  # reveal: Singleton[int, Cluster[Worker, EventualConsistency], Monotonic]
    reveal_type(live.count().make_eventually_consistent())  # reveal: Singleton[int, Process[Leader], Monotonic]
    reveal_type(total.snapshot(workers.tick(), nondet("why")))  # reveal: Singleton[int, Tick[Cluster[Worker, NoConsistency]], Bounded]
    keyed = live.broadcast_closed(workers).map(lambda n: (n, n)).into_keyed().fold(lambda: 0, lambda a, x: a + x)
    reveal_type(keyed.make_eventually_consistent())  # reveal: KeyedSingleton[int, int, Cluster[Worker, EventualConsistency], Unbounded]
    reveal_type(keyed.weaken_consistency())  # reveal: KeyedSingleton[int, int, Cluster[Worker, NoConsistency], Unbounded]
    reveal_type(live.broadcast_closed(workers).first().make_eventually_consistent())  # reveal: Optional[int, Cluster[Worker, EventualConsistency], Unbounded]
    reveal_type(batch.count().make_eventually_consistent())  # reveal: Singleton[int, Tick[Process[Leader]], Bounded]
    reveal_type(live.broadcast_closed(workers).batch(workers.tick(), nondet("why")))  # reveal: Stream[int, Tick[Cluster[Worker, NoConsistency]], Bounded, TotalOrder, ExactlyOnce]
    reveal_type(workers.singleton(1).clone_into_tick(workers.tick()))  # reveal: Singleton[int, Tick[Cluster[Worker, NoConsistency]], Bounded]
    # a consistent self with a per-member other: the result is NoConsistency, in either order
    everyone = live.broadcast_closed(workers)
    reveal_type(everyone.cross_singleton(workers.self_id()))  # reveal: Stream[tuple[int, MemberId[Worker]], Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    reveal_type(everyone.cross_singleton(workers.singleton(1)))  # reveal: Stream[tuple[int, int], Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]
    config: list[tuple[int, str]] = [(1, "x")]
    reveal_type(everyone.map(lambda n: (n, n)).join(workers.source_iter(config)))  # reveal: Stream[tuple[int, tuple[int, str]], Cluster[Worker, NoConsistency], Unbounded, NoOrder, ExactlyOnce]
    reveal_type(total.zip(workers.self_id()))  # reveal: Singleton[tuple[int, MemberId[Worker]], Cluster[Worker, NoConsistency], Monotonic | Bounded]
    reveal_type(total.zip(total))  # reveal: Singleton[tuple[int, int], Cluster[Worker, EventualConsistency], Monotonic]
    reveal_type(total.equals(total))  # reveal: Singleton[bool, Cluster[Worker, EventualConsistency], Monotonic]
    reveal_type(total.equals(workers.singleton(3)))  # reveal: Singleton[bool, Cluster[Worker, NoConsistency], Monotonic | Bounded]
    reveal_type(live.broadcast_closed(workers).weaken_consistency())  # reveal: Stream[int, Cluster[Worker, NoConsistency], Unbounded, TotalOrder, ExactlyOnce]


async def _lookup(key: int) -> str:
    return str(key)


async def _feed() -> AsyncIterator[str]:
    yield "x"


def typed_port_handles(d: hl.deploy.LocalDeployment) -> None:
    # --- typed port handles
    reveal_type(d.input("in", of=int))  # reveal: InputClient[int]
    reveal_type(d.output("out", of=str))  # reveal: OutputClient[str]
    reveal_type(d.client("kv", of=str, replies=int))  # reveal: DuplexClient[str, int]
    reveal_type(hl.net.connect_output(("127.0.0.1", 1), "lines", of=str))  # reveal: OutputClient[str]
