"""HL101: `KeyedStream.first` needs TotalOrder within each key; visits merged from two apps are NoOrder."""

import hydrologic as hl


class Tracker: ...


def build(flow: hl.FlowBuilder) -> None:
    tracker = flow.process(Tracker)
    _, web = tracker.sim_input(str)
    _, mobile = tracker.sim_input(str)
    visits = web.merge_unordered(mobile)  # "page user" lines
    by_page = visits.map(lambda v: (v.split()[0], v)).into_keyed()
    by_page.first()  # expect: HL101
