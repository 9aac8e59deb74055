"""Seeded bugs the simulator must find, with the trace that explains them."""

from __future__ import annotations

import time

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure, sim


class P: ...


class Store: ...


class Client: ...


def batch_sum_program(flow: hl.FlowBuilder) -> tuple[hl.SimInput[int], hl.SimOutput[int]]:
    p = flow.process(P)
    inp, s = p.sim_input(int)
    out = (
        s.batch(p.tick(), nondet("a tick takes whatever has arrived"))
        .fold(lambda: 0, lambda acc, v: acc + v)
        .into_stream()
        .all_ticks()
        .sim_output()
    )
    return inp, out


def batch_sum_scenario(inp: hl.SimInput[int], out: hl.SimOutput[int], fillers: int) -> None:
    """Hydro's `sim_crash_with_fuzzed_batching`: only the batch [100, 23] sums to 123, and a batch
    of a single 456 ends the run early, so trivial batchings never reach the bug."""
    inp.send_many([456] * fillers)
    inp.send_many([100, 23])
    inp.send(99)
    while True:
        try:
            v = out.next()
        except AssertionError:  # nothing more comes
            return
        if v == 456:
            return
        assert v != 123, "boom: a batch summed to 123"


def test_batch_123_bug_found_by_fuzz_within_seconds() -> None:
    flow = hl.FlowBuilder()
    inp, out = batch_sum_program(flow)
    sm = sim(flow)
    t0 = time.perf_counter()
    with pytest.raises(SimulationFailure) as info:
        sm.fuzz(lambda: batch_sum_scenario(inp, out, 1000), iterations=10_000, seed=0)
    assert time.perf_counter() - t0 < 10
    msg = str(info.value)
    assert "boom: a batch summed to 123" in msg
    assert "releasing items: [100, 23]" in msg
    # shrunk to the essential two ticks: all 1,000 fillers at once, then the bad batch
    assert info.value.decisions == 2
    assert "(1000 total)" in msg


def test_batch_123_bug_found_by_exhaustive_on_a_smaller_input() -> None:
    flow = hl.FlowBuilder()
    inp, out = batch_sum_program(flow)
    sm = sim(flow)
    with pytest.raises(SimulationFailure, match=r"releasing items: \[100, 23\]"):
        sm.exhaustive(lambda: batch_sum_scenario(inp, out, 8))
    assert sm.last is not None and sm.last.executions < 100


def test_sequence_payloads_assumes_arrival_order() -> None:
    # Like Hydro's trophy bug: payloads arrive unordered; the buggy code claims an order and
    # emits only the contiguous prefix of sequence numbers, silently dropping the rest.
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    ordered = s.weaken_ordering().assume_ordering(nondet("payloads arrive in sequence order (wrong!)"))
    out = ordered.enumerate().filter(lambda iv: iv[0] == iv[1]).map(lambda iv: iv[1]).sim_output()

    def scenario() -> None:
        inp.send_many_unordered([0, 1, 2, 3])
        out.assert_yields_only([0, 1, 2, 3])

    with pytest.raises(SimulationFailure) as info:
        sim(flow).exhaustive(scenario)
    msg = str(info.value)
    assert "payloads arrive in sequence order (wrong!)" in msg and "released next:" in msg


def test_stale_snapshot_read_across_three_locations() -> None:
    # A client writes to a store through a proxy and then reads back; the store answers reads from
    # a snapshot of its state, which may be stale: "read your writes" does not hold.
    flow = hl.FlowBuilder()
    client = flow.process(Client)
    proxy = flow.process(P)
    store = flow.process(Store)
    writes_in, writes = client.sim_input(int)
    reads_in, reads = client.sim_input(str)
    total = writes.send(proxy).map(lambda x: x).send(store).fold(lambda: 0, lambda a, x: a + x)
    tick = store.tick()
    answers = (
        reads.send(proxy)
        .send(store)
        .batch(tick, nondet("reads are served when they arrive"))
        .cross_singleton(total.snapshot(tick, nondet("reads see some version of the total")))
        .map(lambda rq: rq[1])
        .all_ticks()
        .send(client)
        .sim_output()
    )
    seen: set[int] = set()

    def scenario() -> None:
        writes_in.send_many([1, 2])
        reads_in.send("get")
        v = answers.next()
        seen.add(v)
        assert v == 3, f"read returned a stale total {v}"

    with pytest.raises(SimulationFailure) as info:
        sim(flow).exhaustive(scenario)
    assert "releasing snapshot: 0" in str(info.value) or "releasing snapshot: 1" in str(info.value)
