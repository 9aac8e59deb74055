"""Fix for HL104: a high-water mark (max) is idempotent; pass idempotent=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Consumer: ...


def build(flow: hl.FlowBuilder) -> None:
    consumer = flow.process(Consumer)
    _, offsets = consumer.sim_input(int)
    redelivered = offsets.weaken_retries()  # the broker redelivers unacknowledged offsets
    redelivered.fold(lambda: 0, lambda hi, o: max(hi, o), idempotent=proof("max(max(hi, o), o) == max(hi, o)"))
