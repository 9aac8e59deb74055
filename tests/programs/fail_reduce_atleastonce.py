"""HL104: `reduce` (a sum) over AtLeastOnce amounts needs idempotent=proof(...)."""

import hydrologic as hl


class Billing: ...


def build(flow: hl.FlowBuilder) -> None:
    billing = flow.process(Billing)
    _, charges = billing.sim_input(int)
    retried = charges.weaken_retries()  # terminals retry charges that timed out
    retried.reduce(lambda a, b: a + b)  # expect: HL104
