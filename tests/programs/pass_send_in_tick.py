"""Fix for HL107: leave the tick with all_ticks() before sending."""

import hydrologic as hl
from hydrologic import nondet


class Primary: ...


class Backup: ...


def build(flow: hl.FlowBuilder) -> None:
    primary = flow.process(Primary)
    backup = flow.process(Backup)
    _, writes = primary.sim_input(str)
    tick = primary.tick()
    batch = writes.batch(tick, nondet("writes are replicated per tick"))
    batch.all_ticks().send(backup).sim_output()
