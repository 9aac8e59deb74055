"""HL107: keyed `merge_unordered` interleaves live top-level streams; these are in a tick."""

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
    a_tick.merge_unordered(b_tick)  # expect: HL107
