"""Fix for HL105: take the key inside the tick the values are in."""

import hydrologic as hl
from hydrologic import nondet


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, keys = directory.sim_input(str)
    by_team = directory.source_iter([("a", 1)]).into_keyed()
    tick = directory.tick()
    asked = keys.batch(tick, nondet("the keys asked this tick")).max()
    by_team.batch(tick, nondet("a tick")).get(asked).all_ticks().sim_output()
