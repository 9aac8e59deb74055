"""HL101: `dest_sink` performs side effects in element order, so it needs a TotalOrder stream."""

import hydrologic as hl


class Writer: ...


async def write(line: str) -> None:
    print(line)


def build(flow: hl.FlowBuilder) -> None:
    writer = flow.process(Writer)
    _, lines = writer.sim_input(str)
    lines.weaken_ordering().dest_sink(write)  # expect: HL101
