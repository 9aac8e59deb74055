"""HL105: `chain` needs its first side (self) Bounded; the live feed is Unbounded."""

import hydrologic as hl


class Feed: ...


def build(flow: hl.FlowBuilder) -> None:
    feed = flow.process(Feed)
    history = feed.source_iter(["welcome", "rules"])
    _, live = feed.sim_input(str)
    live.chain(history)  # expect: HL105
