"""HL102: `KeyedStream.value_counts` needs ExactlyOnce; retried ballots are AtLeastOnce."""

import hydrologic as hl


class Poll: ...


def build(flow: hl.FlowBuilder) -> None:
    poll = flow.process(Poll)
    _, votes = poll.sim_input(tuple[str, str])  # (candidate, voter)
    ballots = votes.weaken_retries().into_keyed()  # voters' phones retry on timeouts
    ballots.value_counts()  # expect: HL102
