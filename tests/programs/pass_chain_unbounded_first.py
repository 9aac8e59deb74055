"""Fix for HL105: put the bounded history first: history.chain(live)."""

import hydrologic as hl


class Feed: ...


def build(flow: hl.FlowBuilder) -> None:
    feed = flow.process(Feed)
    history = feed.source_iter(["welcome", "rules"])
    _, live = feed.sim_input(str)
    history.chain(live).sim_output()
