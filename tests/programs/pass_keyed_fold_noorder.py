"""Fix for HL103: counting is commutative; pass commutative=proof(...)."""

import hydrologic as hl
from hydrologic import proof


class Indexer: ...


def build(flow: hl.FlowBuilder) -> None:
    indexer = flow.process(Indexer)
    _, titles = indexer.sim_input(str)
    _, bodies = indexer.sim_input(str)
    pairs = titles.merge_unordered(bodies).map(lambda w: (w, 1)).into_keyed()
    pairs.fold(lambda: 0, lambda n, one: n + one, commutative=proof("counting is commutative"))
