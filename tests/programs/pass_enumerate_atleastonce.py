"""Fix for HL102: declare exactly-once delivery with assume_retries(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Desk: ...


def build(flow: hl.FlowBuilder) -> None:
    desk = flow.process(Desk)
    _, tickets = desk.sim_input(str)
    retried = tickets.weaken_retries()  # the kiosk resubmits when it times out
    retried.assume_retries(nondet("the kiosk waits for an ack before resubmitting")).enumerate().sim_output()
