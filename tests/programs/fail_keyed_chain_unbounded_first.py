"""HL105: keyed `chain` emits all of the first input before the second; a live first input never ends."""

import hydrologic as hl


class Directory: ...


def build(flow: hl.FlowBuilder) -> None:
    directory = flow.process(Directory)
    _, live = directory.sim_input(tuple[str, int])
    fixed = directory.source_iter([("a", 0)]).into_keyed()
    growing = live.into_keyed()
    growing.chain(fixed)  # expect: HL105
