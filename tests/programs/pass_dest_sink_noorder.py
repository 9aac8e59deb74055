"""Fix for HL101: give `dest_sink` the ordered stream."""

import hydrologic as hl


class Writer: ...


async def write(line: str) -> None:
    print(line)


def build(flow: hl.FlowBuilder) -> None:
    writer = flow.process(Writer)
    _, lines = writer.sim_input(str)
    lines.dest_sink(write)
