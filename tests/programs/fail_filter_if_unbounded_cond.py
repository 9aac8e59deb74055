"""HL105: `filter_if` needs a bounded condition; a top-level count changes over time."""

import hydrologic as hl


class Gate: ...


def build(flow: hl.FlowBuilder) -> None:
    gate = flow.process(Gate)
    _, opens = gate.sim_input(int)
    is_open = opens.count().map(lambda n: n % 2 == 1)
    items = gate.source_iter([1, 2])
    items.filter_if(is_open)  # expect: HL105
