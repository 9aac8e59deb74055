"""Fix for HL102: declare the forward reference AtLeastOnce, forward_ref(str, TotalOrder, AtLeastOnce)."""

import hydrologic as hl


class Outbox: ...


def build(flow: hl.FlowBuilder) -> None:
    outbox = flow.process(Outbox)
    handle, pending = outbox.forward_ref(str, hl.TotalOrder, hl.AtLeastOnce)
    pending.sim_output()
    _, messages = outbox.sim_input(str)
    handle.complete(messages.weaken_retries())
