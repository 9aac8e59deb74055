"""Programs deployed by bench_net.py and bench_scaling.py (addressed as bench/net_programs.py:NAME)."""

from __future__ import annotations

import itertools
import time
from typing import Iterator

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


# --- scaling: the same 2-hop pipeline with k members per stage (bench_scaling.py)


class SrcC: ...


class MidC: ...


class DstC: ...


def _spread(go: tuple[int, tuple[hl.MemberId[MidC], ...]]) -> Iterator[tuple[hl.MemberId[MidC], int]]:
    """Src: ``n`` ints, each to the Mid member ``x % k``, then the sentinel to every member."""
    n, members = go
    k = len(members)
    for x in range(n):
        yield members[x % k], x
    for m in members:
        yield m, -1


def _forward(pair: tuple[int, tuple[hl.MemberId[DstC], ...]]) -> list[tuple[hl.MemberId[DstC], int]]:
    """Mid: each int to the Dst member ``x % k``; a sentinel to every member."""
    x, members = pair
    if x >= 0:
        return [(members[x % len(members)], x)]
    return [(m, x) for m in members]


def pipeline_clusters(flow: hl.FlowBuilder) -> None:
    """``pipeline`` with a cluster per stage, shuffled all-to-all by ``x % k`` at each hop.

    The client sends its share of ``n`` to every Src member's ``go`` port; every Src member
    ends with a sentinel to every Mid member, and every Mid member forwards each sentinel to every
    Dst member after the data it had (one FIFO channel per pair), so a Dst member that has reported
    k * k sentinels on its ``done`` port has received everything meant for it.
    """
    src, mid, dst = flow.cluster(SrcC), flow.cluster(MidC), flow.cluster(DstC)
    client = flow.external(Client)
    go = src.source_external(client, name="go", of=int)
    at_mid = go.cross_singleton(src.cluster_members(mid)).flat_map_ordered(_spread).demux(mid)
    bumped = at_mid.values().map(bump)
    at_dst = bumped.cross_singleton(mid.cluster_members(dst)).flat_map_ordered(_forward).demux(dst)
    at_dst.values().filter(is_end).send_external(client, name="done")
