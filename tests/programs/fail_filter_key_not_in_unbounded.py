"""HL105: `KeyedStream.filter_key_not_in` needs its right side Bounded; live closed-account ids are Unbounded."""

import hydrologic as hl


class Payments: ...


def build(flow: hl.FlowBuilder) -> None:
    payments = flow.process(Payments)
    _, transfers = payments.sim_input(tuple[str, int])
    _, closed = payments.sim_input(str)
    transfers.into_keyed().filter_key_not_in(closed)  # expect: HL105
