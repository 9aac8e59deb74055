"""HL103: a per-key `fold` over NoOrder words needs commutative=proof(...)."""

import hydrologic as hl


class Indexer: ...


def build(flow: hl.FlowBuilder) -> None:
    indexer = flow.process(Indexer)
    _, titles = indexer.sim_input(str)
    _, bodies = indexer.sim_input(str)
    pairs = titles.merge_unordered(bodies).map(lambda w: (w, 1)).into_keyed()
    pairs.fold(lambda: 0, lambda n, one: n + one)  # expect: HL103
