"""Fix for HL201: send the backup's stream to the primary first."""

import hydrologic as hl


class Replica: ...


def build(flow: hl.FlowBuilder) -> None:
    primary = flow.process(Replica)
    backup = flow.process(Replica)
    local = primary.source_iter(["put a 1"])
    remote = backup.source_iter(["put b 2"])
    local.chain(remote.send(primary)).sim_output()
