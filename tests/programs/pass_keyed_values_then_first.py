"""Fix for HL101: an order-insensitive aggregate (max) instead of first."""

import hydrologic as hl


class Scores: ...


def build(flow: hl.FlowBuilder) -> None:
    board = flow.process(Scores)
    scores = board.source_iter([("ann", 7), ("bob", 9)]).into_keyed()
    scores.values().max()
