"""HL101: `merge_ordered` needs both inputs TotalOrder; entries flattened out of sets are NoOrder."""

import hydrologic as hl
from hydrologic import nondet


class Journal: ...


def build(flow: hl.FlowBuilder) -> None:
    journal = flow.process(Journal)
    _, local = journal.sim_input(str)
    _, batches = journal.sim_input(frozenset[str])
    remote = batches.flat_map_unordered(lambda b: b)
    local.merge_ordered(remote, nondet("local and remote entries may interleave"))  # expect: HL101
