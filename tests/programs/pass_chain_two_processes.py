"""Fix for HL201: send the overrides to the config process first, then chain."""

import hydrologic as hl


class Config: ...


class Admin: ...


def build(flow: hl.FlowBuilder) -> None:
    config = flow.process(Config)
    admin = flow.process(Admin)
    defaults = config.source_iter([("timeout", "30")])
    _, overrides = admin.sim_input(tuple[str, str])
    defaults.chain(overrides.send(config)).sim_output()
