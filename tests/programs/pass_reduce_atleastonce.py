"""Fix for HL104: a sum is not idempotent, so deduplicate with unique() first."""

import hydrologic as hl


class Billing: ...


def build(flow: hl.FlowBuilder) -> None:
    billing = flow.process(Billing)
    _, charges = billing.sim_input(int)
    retried = charges.weaken_retries()  # terminals retry charges that timed out
    retried.unique().reduce(lambda a, b: a + b)
