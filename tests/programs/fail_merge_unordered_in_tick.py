"""HL107: `merge_unordered` is only valid at the top level, not on batches inside a tick."""

import hydrologic as hl
from hydrologic import nondet


class Router: ...


def build(flow: hl.FlowBuilder) -> None:
    router = flow.process(Router)
    _, left = router.sim_input(str)
    _, right = router.sim_input(str)
    tick = router.tick()
    a = left.batch(tick, nondet("packets are routed per tick"))
    b = right.batch(tick, nondet("packets are routed per tick"))
    a.merge_unordered(b)  # expect: HL107
