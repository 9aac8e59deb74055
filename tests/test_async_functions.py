"""Async user functions: resolve_futures (unordered, ordered, blocking), source_stream, dest_sink.

In-process and deployed runs talk to a real asyncio line server on a loopback socket
(``tests/async_support.py``); the simulator tests check that completion order is a decision it
explores (and the only one), and that everything else about async functions is deterministic.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, AsyncIterator, Iterator

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.deploy import Localhost
from hydrologic.types.errors import UserFunctionError

from async_support import LineServer

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "async_progs.py")
pytestmark = pytest.mark.timeout(120)


class Svc: ...


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LineServer]:
    with LineServer() as s:
        monkeypatch.setenv("HL_TEST_LINE_SERVER", str(s.port))
        yield s


# ---- in-process, against the real server --------------------------------------------------------


def test_resolve_futures_runs_calls_concurrently_up_to_the_limit_and_emits_in_completion_order(server: LineServer) -> None:
    from deploy_programs.async_progs import lookup

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, keys = p.sim_input(str)
    unordered = keys.map(lookup).resolve_futures(max_in_flight=3).sim_output()
    keys6 = [str(k) for k in range(6)]
    with flow.run_in_process():
        inp.send_many(keys6)
        got = unordered.collect()
    assert sorted(got) == [(k, f"value-of-{k}") for k in keys6]
    assert server.max_active == 3  # three at a time, never more
    # lower keys answer later: calls started together complete (and are emitted) out of order
    assert [k for k, _ in got] != keys6


def test_resolve_futures_ordered_keeps_input_order_while_calls_overlap(server: LineServer) -> None:
    from deploy_programs.async_progs import lookup

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, keys = p.sim_input(str)
    ordered = keys.map(lookup).resolve_futures_ordered(max_in_flight=4).sim_output()
    with flow.run_in_process():
        inp.send_many([str(k) for k in range(8)])
        got = ordered.collect()
    assert got == [(str(k), f"value-of-{k}") for k in range(8)]
    assert 2 <= server.max_active <= 4


def test_resolve_futures_blocking_awaits_the_batch_inside_the_tick(server: LineServer) -> None:
    from deploy_programs.async_progs import lookup

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, keys = p.sim_input(str)
    tick = p.tick()
    batch = keys.batch(tick, nondet("requests are served per tick"))
    answered = batch.map(lookup).resolve_futures_blocking(max_in_flight=2)
    # still bounded and in the tick: count() of the batch is available in the same tick
    counted = answered.count().into_stream().all_ticks().sim_output()
    out = answered.all_ticks().sim_output()
    with flow.run_in_process():
        inp.send_many(["5", "1", "3"])
        assert out.collect() == [("5", "value-of-5"), ("1", "value-of-1"), ("3", "value-of-3")]
        assert counted.collect()[-1] == 3
    assert server.max_active == 2


def test_source_stream_and_dest_sink_talk_to_the_server(server: LineServer) -> None:
    from deploy_programs.async_progs import feed, store

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, words = p.sim_input(str)
    words.dest_sink(store)
    lines = p.source_stream(feed).sim_output()
    with flow.run_in_process():
        inp.send_many(["x", "y", "z"])
        assert lines.collect() == ["a", "b", "c"]
    assert server.puts == ["x", "y", "z"]


def test_an_async_function_that_raises_is_a_user_function_error() -> None:
    async def boom(x: int) -> int:
        raise ValueError(f"no value for {x}")

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, s = p.sim_input(int)
    out = s.map(boom).resolve_futures().sim_output()
    # the culprit is `boom`, the function given to `map` (the runtime finds its frame in the
    # traceback); without fusion the operator that awaited it, `resolve_futures`, is named
    hl601 = r"HL601: the function passed to `(map|resolve_futures)` \(built at .*test_async_functions.py:\d+\) raised ValueError: no value for 7"
    with flow.run_in_process(), pytest.raises(UserFunctionError, match=hl601):
        inp.send(7)
        out.collect()


def test_a_plain_value_where_an_awaitable_is_expected_says_how_to_fix_it() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, s = p.sim_input(int)
    plain: Any = s.map(lambda x: x + 1)  # statically this is already an error: ints are not awaitable
    out: hl.SimOutput[Any] = plain.resolve_futures_ordered().sim_output()
    with flow.run_in_process(), pytest.raises(UserFunctionError, match=r"not awaitable: map each element with an `async def`"):
        inp.send(1)
        out.collect()


def test_source_stream_given_a_generator_object_instead_of_its_function_is_hl501() -> None:
    async def gen() -> AsyncIterator[int]:
        yield 1

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    with pytest.raises(hl.BuildError, match=r"HL501.*not a call of it"):
        p.source_stream(gen())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


@pytest.mark.parametrize("bad", [0, -1, 2.5, "8", None])
def test_max_in_flight_must_be_a_positive_int(bad: object) -> None:
    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    _, s = p.sim_input(int)

    async def f(x: int) -> int:
        return x

    with pytest.raises(hl.BuildError, match=r"HL501.*max_in_flight must be a positive int"):
        s.map(f).resolve_futures(max_in_flight=bad)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# ---- the simulator: completion order is the decision ---------------------------------------------


async def _times_ten(x: int) -> int:
    await asyncio.sleep(0)
    return x * 10


def _sim_program(method: str, limit: int) -> tuple[hl.FlowBuilder, hl.SimInput[int], hl.SimOutput[int]]:
    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    inp, s = p.sim_input(int)
    calls = s.map(_times_ten)
    out = (calls.resolve_futures(max_in_flight=limit) if method == "unordered" else calls.resolve_futures_ordered(max_in_flight=limit))
    return flow, inp, out.sim_output()


@pytest.mark.parametrize(
    ("method", "limit", "expected"),
    [
        # three calls in flight at once: any of the 3! completion orders
        ("unordered", 3, {(10, 20, 30), (10, 30, 20), (20, 10, 30), (20, 30, 10), (30, 10, 20), (30, 20, 10)}),
        # two in flight: the third starts when one completes, so 30 is never first
        ("unordered", 2, {(10, 20, 30), (10, 30, 20), (20, 10, 30), (20, 30, 10)}),
        # one at a time: input order, no decision
        ("unordered", 1, {(10, 20, 30)}),
        # ordered: completion order is invisible, so it is not explored
        ("ordered", 3, {(10, 20, 30)}),
    ],
)
def test_simulator_explores_exactly_the_completion_orders_the_limit_allows(method: str, limit: int, expected: set[tuple[int, ...]]) -> None:
    flow, inp, out = _sim_program(method, limit)
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        seen.add(tuple(out.collect()))

    runs = flow.sim().exhaustive(scenario)
    assert seen == expected
    assert runs == len(expected)


def test_a_simulated_failure_trace_names_the_completion_that_came_first() -> None:
    flow, inp, out = _sim_program("unordered", 2)

    def scenario() -> None:
        inp.send_many([1, 2])
        assert out.collect() == [10, 20]

    with pytest.raises(AssertionError) as info:
        flow.sim().exhaustive(scenario)
    assert "call #1 completes first of the 2 in flight: 20" in str(info.value)


def test_simulated_async_source_and_sink_are_deterministic() -> None:
    written: list[list[str]] = []

    async def letters() -> AsyncIterator[str]:
        for x in "abc":
            await asyncio.sleep(0)
            yield x

    flow = hl.FlowBuilder()
    p = flow.process(Svc)
    out = p.source_stream(letters).map(str.upper).sim_output()
    mine: list[str] = []

    async def put(x: str) -> None:
        mine.append(x)

    p.source_stream(letters).dest_sink(put)

    def scenario() -> None:
        assert out.collect() == ["A", "B", "C"]
        written.append(list(mine))
        mine.clear()

    assert flow.sim().exhaustive(scenario) == 1
    assert written == [["a", "b", "c"]]


# ---- deployed over real processes -------------------------------------------------------------------


def test_deployed_async_functions_serve_from_the_location_event_loop(server: LineServer) -> None:
    logs: list[str] = []
    with Localhost(log=logs.append).start(f"{PROGS}:lookups") as d:
        with d.output("out") as out, d.output("feed") as feed, d.input("in") as inp:
            keys = [str(k) for k in range(9)]
            inp.send_many(keys)
            got = out.take(9, timeout=30)
            assert feed.take(3, timeout=30) == ["a", "b", "c"]
        deadline = time.monotonic() + 10
        while len(server.puts) < 9 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sorted((k, v) for k, v in got) == sorted((k, f"value-of-{k}") for k in keys)
    assert server.puts == keys  # dest_sink: in order, each once
    assert 2 <= server.max_active <= 3, logs
