"""Fix for HL110: produce the replies in a deterministic order (flat_map_ordered over a sorted list)."""

import hydrologic as hl


class Shell: ...


class User: ...


def build(flow: hl.FlowBuilder) -> None:
    shell = flow.process(Shell)
    commands, port = shell.bind_single_client(flow.external(User), name="shell", of=str, codec="lines")
    port.complete(commands.flat_map_ordered(lambda c: sorted({c, c.upper()})))
