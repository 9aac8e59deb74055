"""Sampling and timeouts: source_interval_delayed, spin, sample_every, sample_eager, timeout.

Timers are nondet sites: in-process and in the simulator they fire when the test calls
``hl.advance_time`` (virtual time), deployed they follow the wall clock.
"""

from __future__ import annotations

import os
import time

import pytest

import hydrologic as hl
from hydrologic import nondet
from hydrologic.deploy import Localhost

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "timer_progs.py")


class P: ...


def test_a_delayed_timer_first_fires_at_its_delay_then_every_period() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    stamps = p.source_interval_delayed(2.5, 1.0, nondet("a clock")).sim_output()
    now = p.source_interval_delayed(0, 2.0, nondet("a clock")).sim_output()
    with flow.run_in_process():
        hl.advance_time(2.0)
        assert stamps.collect() == []
        assert now.collect() == [0.0, 2.0]
        hl.advance_time(2.0)
        assert stamps.collect() == [2.5, 3.5]
        assert now.collect() == [4.0]


@pytest.mark.parametrize(
    ("delay", "seconds", "bad"), [(-1, 1.0, "delay"), (1.0, 0, "seconds"), ("1", 1.0, "delay"), (1.0, True, "seconds")]
)
def test_timer_arguments_are_checked(delay: object, seconds: object, bad: str) -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    with pytest.raises(hl.BuildError, match=rf"HL501.*`source_interval_delayed` needs a .* number of seconds for `{bad}`"):
        p.source_interval_delayed(delay, seconds, nondet("a clock"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_stream_sample_every_keeps_the_elements_of_ticks_where_the_timer_fired() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    sampled = s.sample_every(1.0, nondet("the clock picks the samples")).sim_output()
    with flow.run_in_process():
        inp.send_many([1, 2])
        assert sampled.collect() == []  # no timer event in that tick: not sampled
        inp.send(3)
        hl.advance_time(1.0)  # 3 and the timer event arrive in the same tick
        assert sampled.collect() == [3]
        hl.advance_time(1.0)
        assert sampled.collect() == []


def test_singleton_sample_every_and_sample_eager() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    total = s.fold(lambda: 0, lambda acc, x: acc + x)
    every = total.sample_every(1.0, nondet("the clock picks the samples")).sim_output()
    eager = total.sample_eager(nondet("samples as the location runs")).sim_output()
    largest = s.max().sample_every(1.0, nondet("the clock picks the samples")).sim_output()
    with flow.run_in_process():
        assert eager.collect() == [0]  # the first run samples the initial value
        inp.send_many([1, 2])
        assert eager.collect() == [3]
        assert every.collect() == []
        hl.advance_time(2.0)
        assert every.collect() == [3]  # one tick, two timer events: one sample
        assert largest.collect() == [2]
        assert eager.collect() == [3]  # sampled again: AtLeastOnce


def _timeout_program() -> tuple[hl.FlowBuilder, hl.SimInput[str], hl.SimOutput[bool]]:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, beats = p.sim_input(str)
    tick = p.tick()
    silent = beats.timeout(1.0, nondet("the clock decides when silence becomes a timeout"))
    seen = silent.snapshot(tick, nondet("a tick may see the timeout late")).is_some()
    return flow, inp, seen.into_stream().all_ticks().sim_output()


def test_timeout_is_present_once_nothing_arrived_for_the_duration() -> None:
    flow, inp, out = _timeout_program()
    with flow.run_in_process():
        hl.advance_time(5.0)
        assert True not in out.collect()  # nothing has arrived yet: no timeout (as in Hydro)
        inp.send("beat")
        assert out.collect()[-1] is False
        hl.advance_time(0.75)
        assert True not in out.collect()
        hl.advance_time(0.75)  # 1.5 s of silence: reported (between 1.0 and 1.5 s)
        assert out.collect()[-1] is True
        inp.send("beat")
        assert out.collect()[-1] is False


def test_simulated_timeout_is_never_early_and_is_seen_once_the_silence_is_long_enough() -> None:
    flow, inp, out = _timeout_program()
    early: set[tuple[bool, ...]] = set()
    late: set[tuple[bool, ...]] = set()

    def scenario() -> None:
        inp.send("beat")
        out.collect()
        hl.advance_time(0.9)
        early.add(tuple(out.collect()))
        hl.advance_time(0.6)
        late.add(tuple(out.collect()))

    flow.sim().exhaustive(scenario)
    assert early and all(True not in seen for seen in early)
    assert any(True in seen for seen in late)


def test_simulator_explores_which_samples_a_sample_every_takes() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, s = p.sim_input(int)
    sampled = s.fold(lambda: 0, lambda acc, x: acc + x).sample_every(1.0, nondet("the clock picks the samples")).sim_output()
    outcomes: set[tuple[int, ...]] = set()

    def scenario() -> None:
        inp.send_many([1, 2])
        hl.advance_time(1.0)
        outcomes.add(tuple(sampled.collect()))

    flow.sim().exhaustive(scenario)
    # the one sample sees the sum before, between or after the inputs
    assert outcomes == {(0,), (1,), (3,)}


def test_sampling_and_timeout_nondet_sites_carry_the_callers_reason() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    _, s = p.sim_input(int)
    s.timeout(1.0, nondet("silence detection")).snapshot(p.tick(), nondet("read")).into_stream().all_ticks().sim_output()
    s.sample_every(1.0, nondet("metrics sampling")).sim_output()
    sites = flow.nondet_sites()
    text = "\n".join(map(str, sites))
    assert "silence detection" in text and "metrics sampling" in text
    assert "timeout" in text and "sample_every" in text


def test_spin_emits_once_per_run_in_process() -> None:
    flow = hl.FlowBuilder()
    p = flow.process(P)
    inp, _ = p.sim_input(int)
    spins = p.spin().sim_output()
    with flow.run_in_process():
        assert spins.collect() == [None]
        inp.send(1)
        assert spins.collect() == [None]


@pytest.mark.timeout(60)
def test_deployed_timers_spin_and_timeout_follow_the_wall_clock() -> None:
    with Localhost(log=lambda _: None).start(f"{PROGS}:timers") as d:
        with d.output("delayed") as delayed, d.output("spins") as spins, d.output("silent") as silent, d.input("in") as inp, d.output("units") as units:
            assert [round(t, 6) for t in delayed.take(3, timeout=10)] == [0.3, 0.4, 0.5]
            polls = spins.take(50, timeout=10)  # a spinning location keeps ticking on its own
            assert sum(polls) >= 50
            # spin_batch(4): the tick keeps running on its own, and each run takes in one spin
            assert set(units.take(20, timeout=10)) == {4}
            inp.send("beat")
            seen: list[bool] = []
            deadline = time.monotonic() + 10
            while not (False in seen and True in seen[seen.index(False) :]) and time.monotonic() < deadline:
                seen += silent.take(1, timeout=10)
            # after the beat (False: not silent), True once 0.4 s passed without another one
            assert False in seen and True in seen[seen.index(False) :], seen
