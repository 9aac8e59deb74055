"""HL103: `reduce` over NoOrder temperatures needs commutative=proof(...)."""

import hydrologic as hl


class Station: ...


def build(flow: hl.FlowBuilder) -> None:
    station = flow.process(Station)
    _, roof = station.sim_input(float)
    _, yard = station.sim_input(float)
    temps = roof.merge_unordered(yard)
    temps.reduce(lambda a, b: a if a >= b else b)  # expect: HL103
