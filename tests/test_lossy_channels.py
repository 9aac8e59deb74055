"""Channels declared lossy: typed, listed as nondet sites, explored by the simulator."""

from __future__ import annotations

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.sim import SimulationFailure


class A: ...


class B: ...


def _program(channel: hl.Channel[hl.TotalOrder] | hl.Channel[hl.NoOrder]) -> tuple[hl.FlowBuilder, hl.SimInput[int], hl.SimOutput[int]]:
    flow = hl.FlowBuilder()
    a, b = flow.process(A), flow.process(B)
    inp, s = a.sim_input(int)
    received = s.send(b, channel=channel)
    out = received.sim_output()
    return flow, inp, out


def test_fail_stop_is_the_default_and_deterministic() -> None:
    flow, inp, out = _program(hl.Channel.fail_stop())
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2])
        seen.add(tuple(out.collect()))

    assert flow.sim().exhaustive(scenario) == 1
    assert seen == {(1, 2)}


def test_lossy_channel_explores_every_subset_of_deliveries_in_order() -> None:
    flow, inp, out = _program(hl.Channel.lossy(nondet("heartbeats may be lost; the next one replaces them")))
    sites = flow.nondet_sites()
    assert any(s.op == "send (lossy channel)" and "heartbeats may be lost" in s.reason for s in sites)
    seen: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2, 3])
        seen.add(tuple(out.collect()))

    runs = flow.sim().exhaustive(scenario)
    assert seen == {(), (1,), (2,), (3,), (1, 2), (1, 3), (2, 3), (1, 2, 3)}  # order kept, any loss
    assert runs == 8


def test_lossy_failure_trace_names_the_channel_and_the_lost_message() -> None:
    flow, inp, out = _program(hl.Channel.lossy(nondet("acks may be lost")))

    def scenario() -> None:
        inp.send_many([1, 2])
        assert out.collect() == [1, 2], "an ack went missing"

    with pytest.raises(SimulationFailure) as info:
        flow.sim().exhaustive(scenario)
    text = str(info.value)
    assert "lossy channel `send`" in text and "acks may be lost" in text and "losing" in text


def test_delayed_forever_channel_is_unordered_by_type() -> None:
    flow = hl.FlowBuilder()
    a, b = flow.process(A), flow.process(B)
    s = a.source_iter([1, 2])
    received = s.send(b, channel=hl.Channel.lossy_delayed_forever())
    with pytest.raises(hl.GuaranteeError) as info:
        received.first()  # type: ignore[misc]  # pyright: ignore
    assert info.value.code == "HL101" and "`send` at" in str(info.value.origin)


def test_in_process_runs_deliver_everything() -> None:
    flow, inp, out = _program(hl.Channel.lossy(nondet("x")))
    with flow.run_in_process():
        inp.send_many([1, 2, 3])
        assert out.collect() == [1, 2, 3]


def test_channel_argument_is_checked() -> None:
    flow = hl.FlowBuilder()
    a, b = flow.process(A), flow.process(B)
    with pytest.raises(hl.UsageError):
        a.source_iter([1]).send(b, channel="lossy")  # type: ignore[call-overload]  # pyright: ignore
    with pytest.raises(hl.NonDetError):
        hl.Channel.lossy("because")  # type: ignore[arg-type]  # pyright: ignore
