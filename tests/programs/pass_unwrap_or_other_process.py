"""Fix for HL201: take the default from a singleton at this process."""

import hydrologic as hl


class Cache: ...


class Config: ...


def build(flow: hl.FlowBuilder) -> None:
    cache = flow.process(Cache)
    hits = cache.source_iter([3, 9, 4]).max()
    fallback = cache.singleton(0)
    hits.unwrap_or(fallback)
