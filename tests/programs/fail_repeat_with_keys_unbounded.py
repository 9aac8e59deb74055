"""HL105: `repeat_with_keys` repeats all of the stream under each key; a live input never ends."""

import hydrologic as hl


class Fanout: ...


def build(flow: hl.FlowBuilder) -> None:
    fanout = flow.process(Fanout)
    _, jobs = fanout.sim_input(int)
    workers = fanout.source_iter([("w1", 0)]).into_keyed().first()
    jobs.repeat_with_keys(workers)  # expect: HL105
