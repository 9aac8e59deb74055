"""HL402: a same-tick forward_ref cycle through `fold`."""

import hydrologic as hl
from hydrologic import nondet


class Graph: ...


def build(flow: hl.FlowBuilder) -> None:
    graph = flow.process(Graph)
    _, starts = graph.sim_input(int)
    tick = graph.tick()
    handle, frontier = tick.forward_ref(int)
    reached = starts.batch(tick, nondet("start nodes are explored per tick")).chain(frontier)
    total = reached.fold(lambda: 0, lambda acc, n: acc + n)  # expect: HL402
    handle.complete(total.into_stream().filter(lambda n: n < 100))
