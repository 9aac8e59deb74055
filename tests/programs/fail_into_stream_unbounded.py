"""HL105: `Singleton.into_stream` needs a Bounded singleton; a top-level running total is Unbounded."""

import hydrologic as hl


class Till: ...


def build(flow: hl.FlowBuilder) -> None:
    till = flow.process(Till)
    _, sales = till.sim_input(int)
    total = sales.fold(lambda: 0, lambda acc, s: acc + s)
    total.into_stream()  # expect: HL105
