"""Fix for HL101: sort() the bounded entries first."""

import hydrologic as hl


class Gateway: ...


def build(flow: hl.FlowBuilder) -> None:
    gateway = flow.process(Gateway)
    sessions = gateway.source_iter([("u1", "login"), ("u2", "login"), ("u1", "logout")]).into_keyed()
    sessions.entries().sort().first()
