"""HL102: `for_each` needs ExactlyOnce; redelivered notifications are AtLeastOnce."""

import hydrologic as hl


class Notifier: ...


def build(flow: hl.FlowBuilder) -> None:
    notifier = flow.process(Notifier)
    _, alerts = notifier.sim_input(str)
    redelivered = alerts.weaken_retries()  # the broker redelivers unacknowledged alerts
    redelivered.for_each(print)  # expect: HL102
