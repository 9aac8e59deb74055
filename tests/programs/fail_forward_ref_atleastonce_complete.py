"""HL102: an ExactlyOnce top-level forward_ref completed with an AtLeastOnce stream."""

import hydrologic as hl


class Outbox: ...


def build(flow: hl.FlowBuilder) -> None:
    outbox = flow.process(Outbox)
    handle, pending = outbox.forward_ref(str)
    pending.sim_output()
    _, messages = outbox.sim_input(str)
    handle.complete(messages.weaken_retries())  # expect: HL102
