"""HL201: `chain` of streams on two different processes."""

import hydrologic as hl


class Config: ...


class Admin: ...


def build(flow: hl.FlowBuilder) -> None:
    config = flow.process(Config)
    admin = flow.process(Admin)
    defaults = config.source_iter([("timeout", "30")])
    _, overrides = admin.sim_input(tuple[str, str])
    defaults.chain(overrides)  # expect: HL201
