"""HL201: `Optional.unwrap_or` with a default singleton that lives on another process."""

import hydrologic as hl


class Cache: ...


class Config: ...


def build(flow: hl.FlowBuilder) -> None:
    cache = flow.process(Cache)
    config = flow.process(Config)
    hits = cache.source_iter([3, 9, 4]).max()
    fallback = config.singleton(0)
    hits.unwrap_or(fallback)  # expect: HL201
