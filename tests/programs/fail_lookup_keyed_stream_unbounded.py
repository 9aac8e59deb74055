"""HL105: `lookup_keyed_stream` must know every key of the table; a live one may still grow."""

import hydrologic as hl


class Lookup: ...


def build(flow: hl.FlowBuilder) -> None:
    lookup = flow.process(Lookup)
    _, table = lookup.sim_input(tuple[int, str])
    requests = lookup.source_iter([("r", 1)]).into_keyed()
    requests.lookup_keyed_stream(table.into_keyed())  # expect: HL105
