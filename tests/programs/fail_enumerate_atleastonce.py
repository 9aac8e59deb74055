"""HL102: `enumerate` needs ExactlyOnce; tickets resubmitted by a kiosk are AtLeastOnce."""

import hydrologic as hl


class Desk: ...


def build(flow: hl.FlowBuilder) -> None:
    desk = flow.process(Desk)
    _, tickets = desk.sim_input(str)
    retried = tickets.weaken_retries()  # the kiosk resubmits when it times out
    retried.enumerate()  # expect: HL102
