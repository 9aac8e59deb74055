"""HL104: `fold` over AtLeastOnce offsets needs idempotent=proof(...)."""

import hydrologic as hl


class Consumer: ...


def build(flow: hl.FlowBuilder) -> None:
    consumer = flow.process(Consumer)
    _, offsets = consumer.sim_input(int)
    redelivered = offsets.weaken_retries()  # the broker redelivers unacknowledged offsets
    redelivered.fold(lambda: 0, lambda hi, o: max(hi, o))  # expect: HL104
