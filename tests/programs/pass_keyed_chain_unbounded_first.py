"""Fix for HL105: put the bounded keyed stream first."""

import hydrologic as hl


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, live = directory.sim_input(tuple[str, int])
    fixed = directory.source_iter([("a", 0)]).into_keyed()
    growing = live.into_keyed()
    fixed.chain(growing).entries().sim_output()
