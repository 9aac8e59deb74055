"""HL102: `count` needs ExactlyOnce; clicks resent by the client are AtLeastOnce."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, clicks = counter.sim_input(int)
    delivered = clicks.weaken_retries()  # the client resends clicks it got no reply for
    delivered.count()  # expect: HL102
