"""HL107: network operators (`send`) are only valid at the top level, not on a batch inside a tick."""

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
    batch.send(backup)  # expect: HL107
