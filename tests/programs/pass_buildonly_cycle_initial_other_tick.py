"""Fix for HL201: build the initial value in the cycle's own tick."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    tick = counter.tick()
    zero = tick.singleton(0)
    handle, total = tick.cycle_with_initial(zero)
    handle.complete_next_tick(total.map(lambda n: n + 1))
