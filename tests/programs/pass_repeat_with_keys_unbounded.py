"""Fix for HL105: repeat each tick's batch."""

import hydrologic as hl
from hydrologic import nondet


class Fanout: ...


def build(flow: hl.FlowBuilder) -> None:
    fanout = flow.process(Fanout)
    _, jobs = fanout.sim_input(int)
    workers = fanout.source_iter([("w1", 0)]).into_keyed().first()
    tick = fanout.tick()
    team = workers.snapshot(tick, nondet("the workers this tick"))
    jobs.batch(tick, nondet("a tick of jobs")).repeat_with_keys(team).entries().all_ticks().sim_output()
