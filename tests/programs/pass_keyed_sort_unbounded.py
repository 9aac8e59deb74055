"""Fix for HL105: sort each tick's batch."""

import hydrologic as hl
from hydrologic import nondet


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, names = directory.sim_input(tuple[str, str])
    by_team = names.into_keyed()
    by_team.batch(directory.tick(), nondet("a tick of names")).sort().entries().all_ticks().sim_output()
