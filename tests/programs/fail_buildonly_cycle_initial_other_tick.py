"""HL201: tick.cycle_with_initial given an initial value from another tick of the same process."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    tick = counter.tick()
    other = counter.tick()
    zero = other.singleton(0)
    handle, total = tick.cycle_with_initial(zero)  # expect: HL201
    handle.complete_next_tick(total.map(lambda n: n + 1))
