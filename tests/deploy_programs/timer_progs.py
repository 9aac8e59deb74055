"""Programs with timers for the deployed tests of tests/test_sampling_timers.py."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet


class Clock: ...


class Spinner: ...


class Client: ...


def timers(flow: hl.FlowBuilder) -> None:
    """``delayed``: the stamps of a timer delayed 0.3 s with a 0.1 s period; ``spins``: how many
    spins each tick of a polling tick saw (a deployed spin never idles); ``units``: the size of
    each tick's ``spin_batch(4)``; ``silent``: True once
    nothing arrived on ``in`` for 0.4 s, False after each arrival."""
    clock = flow.process(Clock)
    client = flow.external(Client)
    clock.source_interval_delayed(0.3, 0.1, nondet("wall clock")).send_external(client, name="delayed", codec="json", ordered=True)
    spinner = flow.process(Spinner)  # its own process: a spinning location ticks all the time
    tick = spinner.tick()
    polled = spinner.spin().batch(tick, nondet("a poll sees the spins so far")).count()
    polled.into_stream().all_ticks().send_external(client, name="spins", codec="json", ordered=True)
    units = tick.spin_batch(4).count()
    units.into_stream().all_ticks().send_external(client, name="units", codec="json", ordered=True)
    beats = clock.source_external(client, name="in", of=str, codec="json")
    silent = beats.timeout(0.4, nondet("the clock decides when silence becomes a timeout"))
    watch = clock.tick()
    seen = silent.snapshot(watch, nondet("a tick sees the timeout late")).is_some()
    seen.into_stream().all_ticks().send_external(client, name="silent", codec="json")
