"""HL108: `Singleton.all_ticks` collects each tick's value; this singleton is not in a tick."""

import hydrologic as hl


class Clock: ...


def build(flow: hl.FlowBuilder) -> None:
    clock = flow.process(Clock)
    _, pings = clock.sim_input(int)
    total = pings.count()
    total.all_ticks()  # expect: HL108
