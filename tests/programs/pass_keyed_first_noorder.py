"""Fix for HL101: declare per-page arrival order acceptable with KeyedStream.assume_ordering(nondet(...))."""

import hydrologic as hl
from hydrologic import nondet


class Tracker: ...


def build(flow: hl.FlowBuilder) -> None:
    tracker = flow.process(Tracker)
    _, web = tracker.sim_input(str)
    _, mobile = tracker.sim_input(str)
    visits = web.merge_unordered(mobile)  # "page user" lines
    by_page = visits.map(lambda v: (v.split()[0], v)).into_keyed()
    by_page.assume_ordering(nondet("any visitor who arrives first may count as the page's first")).first()
