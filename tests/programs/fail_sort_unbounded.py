"""HL105: `sort` needs a Bounded stream; names from a live input are Unbounded."""

import hydrologic as hl


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, names = directory.sim_input(str)
    names.sort()  # expect: HL105
