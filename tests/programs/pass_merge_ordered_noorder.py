"""Fix for HL101: flatten each batch in a deterministic order (flat_map_ordered over sorted())."""

import hydrologic as hl
from hydrologic import nondet


class Journal: ...


def build(flow: hl.FlowBuilder) -> None:
    journal = flow.process(Journal)
    _, local = journal.sim_input(str)
    _, batches = journal.sim_input(frozenset[str])
    remote = batches.flat_map_ordered(lambda b: sorted(b))
    local.merge_ordered(remote, nondet("local and remote entries may interleave")).sim_output()
