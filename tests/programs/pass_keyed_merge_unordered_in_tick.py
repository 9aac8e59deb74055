"""Fix for HL107: merge at the top level, then batch."""

import hydrologic as hl
from hydrologic import nondet


class Mixer: ...


def build(flow: hl.FlowBuilder) -> None:
    mixer = flow.process(Mixer)
    tick = mixer.tick()
    _, a = mixer.sim_input(tuple[str, int])
    _, b = mixer.sim_input(tuple[str, int])
    a_tick = a.into_keyed().batch(tick, nondet("a tick of a"))
    b_tick = b.into_keyed().batch(tick, nondet("a tick of b"))
    a.into_keyed().merge_unordered(b.into_keyed()).entries().sim_output()
    del a_tick, b_tick
