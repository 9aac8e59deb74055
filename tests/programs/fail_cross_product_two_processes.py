"""HL201: `cross_product` of streams on two different processes."""

import hydrologic as hl


class Lobby: ...


class Catalog: ...


def build(flow: hl.FlowBuilder) -> None:
    lobby = flow.process(Lobby)
    catalog = flow.process(Catalog)
    _, players = lobby.sim_input(str)
    maps = catalog.source_iter(["dust", "ice"])
    players.cross_product(maps)  # expect: HL201
