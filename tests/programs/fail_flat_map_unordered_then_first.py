"""HL101: `flat_map_unordered` (over sets) yields NoOrder, so `first` is rejected."""

import hydrologic as hl


class Blog: ...


def build(flow: hl.FlowBuilder) -> None:
    blog = flow.process(Blog)
    tags = blog.source_iter([{"python", "hydro"}, {"dataflow"}])
    tags.flat_map_unordered(lambda s: s).first()  # expect: HL101
