"""Fix for HL102: unique() (candidate, voter) ballots before counting per candidate."""

import hydrologic as hl


class Poll: ...


def build(flow: hl.FlowBuilder) -> None:
    poll = flow.process(Poll)
    _, votes = poll.sim_input(tuple[str, str])  # (candidate, voter)
    ballots = votes.weaken_retries().unique().into_keyed()  # voters' phones retry on timeouts
    ballots.value_counts()
