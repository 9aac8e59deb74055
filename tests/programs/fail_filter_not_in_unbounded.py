"""HL105: `filter_not_in` needs its right side Bounded; live unsubscribes are Unbounded."""

import hydrologic as hl


class Mailer: ...


def build(flow: hl.FlowBuilder) -> None:
    mailer = flow.process(Mailer)
    _, recipients = mailer.sim_input(str)
    _, unsubscribed = mailer.sim_input(str)
    recipients.filter_not_in(unsubscribed)  # expect: HL105
