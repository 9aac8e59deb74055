"""Fix for HL101: flatten in a deterministic order with flat_map_ordered."""

import hydrologic as hl


class Blog: ...


def build(flow: hl.FlowBuilder) -> None:
    blog = flow.process(Blog)
    tags = blog.source_iter([{"python", "hydro"}, {"dataflow"}])
    tags.flat_map_ordered(lambda s: sorted(s)).first()
