"""HL110: a single-client port sends its replies in order, so they must be a TotalOrder stream."""

import hydrologic as hl


class Shell: ...


class User: ...


def build(flow: hl.FlowBuilder) -> None:
    shell = flow.process(Shell)
    commands, port = shell.bind_single_client(flow.external(User), name="shell", of=str, codec="lines")
    port.complete(commands.flat_map_unordered(lambda c: {c, c.upper()}))  # expect: HL110
