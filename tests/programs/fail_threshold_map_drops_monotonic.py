"""HL111: a plain map may shrink a monotone count, so its result offers no threshold read."""

import hydrologic as hl


class Votes: ...


def build(flow: hl.FlowBuilder) -> None:
    votes = flow.process(Votes)
    _, ballots = votes.sim_input(str)
    majority = ballots.count().map(lambda n: n * 2)
    majority.threshold_greater_or_equal(votes.singleton(5))  # expect: HL111
