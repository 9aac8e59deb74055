"""Fix for HL107: merge at the top level, then batch the merged stream."""

import hydrologic as hl
from hydrologic import nondet


class Router: ...


def build(flow: hl.FlowBuilder) -> None:
    router = flow.process(Router)
    _, left = router.sim_input(str)
    _, right = router.sim_input(str)
    tick = router.tick()
    left.merge_unordered(right).batch(tick, nondet("packets are routed per tick")).all_ticks().sim_output()
