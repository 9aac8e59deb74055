"""Fix for HL402: carry the total to the next tick with tick.cycle / complete_next_tick."""

import hydrologic as hl
from hydrologic import nondet


class Graph: ...


def build(flow: hl.FlowBuilder) -> None:
    graph = flow.process(Graph)
    _, starts = graph.sim_input(int)
    tick = graph.tick()
    handle, frontier = tick.cycle(int)
    reached = starts.batch(tick, nondet("start nodes are explored per tick")).chain(frontier)
    total = reached.fold(lambda: 0, lambda acc, n: acc + n)
    handle.complete_next_tick(total.into_stream().filter(lambda n: n < 100))
