"""HL101: `KeyedStream.values()` has no order across keys (NoOrder), so `first` is rejected."""

import hydrologic as hl


class Scores: ...


def build(flow: hl.FlowBuilder) -> None:
    board = flow.process(Scores)
    scores = board.source_iter([("ann", 7), ("bob", 9)]).into_keyed()
    scores.values().first()  # expect: HL101
