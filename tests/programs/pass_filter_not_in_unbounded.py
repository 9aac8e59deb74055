"""Fix for HL105: batch both sides into the same tick."""

import hydrologic as hl
from hydrologic import nondet


class Mailer: ...


def build(flow: hl.FlowBuilder) -> None:
    mailer = flow.process(Mailer)
    _, recipients = mailer.sim_input(str)
    _, unsubscribed = mailer.sim_input(str)
    tick = mailer.tick()
    to_send = recipients.batch(tick, nondet("mail goes out in the tick it is queued"))
    opted_out = unsubscribed.batch(tick, nondet("unsubscribes apply from the tick they arrive"))
    to_send.filter_not_in(opted_out).all_ticks().sim_output()
