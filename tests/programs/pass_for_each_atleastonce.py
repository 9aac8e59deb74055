"""Fix for HL102: unique() before the side effect."""

import hydrologic as hl


class Notifier: ...


def build(flow: hl.FlowBuilder) -> None:
    notifier = flow.process(Notifier)
    _, alerts = notifier.sim_input(str)
    redelivered = alerts.weaken_retries()  # the broker redelivers unacknowledged alerts
    redelivered.unique().for_each(print)
