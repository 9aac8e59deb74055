"""HL105: keyed `get` needs a bounded key; a top-level max() changes over time."""

import hydrologic as hl


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, keys = directory.sim_input(str)
    by_team = directory.source_iter([("a", 1)]).into_keyed()
    by_team.get(keys.max())  # expect: HL105
