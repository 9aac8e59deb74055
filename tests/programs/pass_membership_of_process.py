"""Fix for HL203: a Process's deaths and restarts are its liveness, `peer_liveness(process)`."""

import hydrologic as hl


class Leader: ...


class Store: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    store = flow.process(Store)
    leader.peer_liveness(store).entries().sim_output()
