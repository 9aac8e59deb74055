"""Fix for HL102: deduplicate the click ids with unique() before counting."""

import hydrologic as hl


class Counter: ...


def build(flow: hl.FlowBuilder) -> None:
    counter = flow.process(Counter)
    _, clicks = counter.sim_input(int)
    delivered = clicks.weaken_retries()  # the client resends clicks it got no reply for
    delivered.unique().count()
