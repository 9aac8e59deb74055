"""HL105: keyed `sort` needs all of each key's values; a live input is Unbounded."""

import hydrologic as hl


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, names = directory.sim_input(tuple[str, str])
    by_team = names.into_keyed()
    by_team.sort()  # expect: HL105
