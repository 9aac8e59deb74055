"""HL201: two processes with the SAME tag class are still two locations (types cannot tell them apart)."""

import hydrologic as hl


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    primary = flow.process(Replica)
    backup = flow.process(Replica)
    local = primary.source_iter(["put a 1"])
    remote = backup.source_iter(["put b 2"])
    local.chain(remote)  # expect: HL201
