"""Programs deployed by bench_net.py (addressed as bench/net_programs.py:NAME)."""

from __future__ import annotations

import itertools
import time

import hydrologic as hl


class Src: ...


class Mid: ...


class Dst: ...


class Client: ...


def bump(x: int) -> int:
    return x + 1 if x >= 0 else x


def is_end(x: int) -> bool:
    return x < 0


def pipeline(flow: hl.FlowBuilder) -> None:
    """Src generates n ints and a -1 sentinel, Mid adds one, Dst reports the sentinel: 2 hops."""
    src, mid, dst = flow.process(Src), flow.process(Mid), flow.process(Dst)
    client = flow.external(Client)
    go = src.source_external(client, name="go", of=int)
    xs = go.flat_map_ordered(lambda n: itertools.chain(range(n), (-1,)))
    ys = xs.send(mid).map(bump)
    ys.send(dst).filter(is_end).send_external(client, name="done")


def slow_receiver(flow: hl.FlowBuilder) -> None:
    """A client floods Src; Mid spends ~20 µs per element, so it falls behind; Dst reports the end."""
    src, mid, dst = flow.process(Src), flow.process(Mid), flow.process(Dst)
    client = flow.external(Client)
    data = src.source_external(client, name="data")

    def slow(x: bytes) -> int:
        end = time.perf_counter() + 20e-6
        while time.perf_counter() < end:
            pass
        return len(x)

    sizes = data.send(mid).map(slow)
    sizes.send(dst).filter(lambda n: n == 1).send_external(client, name="done")
