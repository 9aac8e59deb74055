"""Fix for HL111: say why the map keeps the order (doubling never shrinks a count)."""

import hydrologic as hl


class Votes: ...


def build(flow: hl.FlowBuilder) -> None:
    votes = flow.process(Votes)
    _, ballots = votes.sim_input(str)
    majority = ballots.count().map(lambda n: n * 2, order_preserving=hl.proof("n <= m implies 2n <= 2m"))
    majority.threshold_greater_or_equal(votes.singleton(5))
