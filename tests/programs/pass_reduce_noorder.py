"""Fix for HL103: max is commutative; pass commutative=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Station: ...


def build(flow: hl.FlowBuilder) -> None:
    station = flow.process(Station)
    _, roof = station.sim_input(float)
    _, yard = station.sim_input(float)
    temps = roof.merge_unordered(yard)
    temps.reduce(lambda a, b: a if a >= b else b, commutative=proof("max is commutative"))
