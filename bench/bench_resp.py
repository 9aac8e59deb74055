"""The RESP edge alone, in one process: µs per request to parse pipelined requests and to encode
their replies, hiredis's C reader against the pure-Python parser (same input, same run).

    python bench/bench_resp.py [--requests 200000] [--reps 5] [--json PATH]

Each read holds ``pipeline`` requests (``SET key:<12 digits> xxx``, as redis-benchmark sends them);
a parser is fed the reads in turn with at most 64 requests per call (the port's ``max_pipeline``),
as the server does. The reply side encodes one ``+OK`` per request and joins each read's replies
into one write. Best of ``--reps``; the ratio is pure Python / hiredis (how many times faster).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "src"))
sys.path.insert(0, HERE)

from hydrologic.net.resp import RespRequestParser, encode_reply, fast_parser_available  # noqa: E402
from _results import load_average, metric, write_metrics  # noqa: E402


def request(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def reads(requests: int, pipeline: int) -> list[bytes]:
    out = []
    for i in range(0, requests, pipeline):
        out.append(b"".join(request(b"SET", b"key:%012d" % (j % 100_000), b"xxx") for j in range(i, min(i + pipeline, requests))))
    return out


def parse_time(chunks: list[bytes], fast: bool) -> float:
    p = RespRequestParser(fast=fast)
    gc.collect()
    t0 = time.perf_counter()
    n = 0
    for c in chunks:
        out, err = p.feed(c, 64)
        n += len(out)
        while p.buffered:
            more, err = p.feed(b"", 64)
            n += len(more)
            if not more:
                break
    took = time.perf_counter() - t0
    assert err is None
    return took


def encode_time(chunks: list[bytes], pipeline: int) -> float:
    gc.collect()
    t0 = time.perf_counter()
    for _ in chunks:
        b"".join([encode_reply("OK") for _ in range(pipeline)])
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--json", metavar="PATH")
    a = ap.parse_args()
    kinds = [False, True] if fast_parser_available() else [False]
    metrics: dict[str, Any] = {}
    print(f"RESP edge, {a.requests:,} requests of SET key xxx, best of {a.reps}; load average {load_average()[:1]}")
    print(f"{'requests per read':>18} {'pure Python':>14} {'hiredis':>14} {'ratio':>7} {'encode +OK':>12}")
    for pipeline in (1, 16):
        chunks = reads(a.requests, pipeline)
        best = {k: min(parse_time(chunks, k) for _ in range(a.reps)) / a.requests * 1e6 for k in kinds}
        enc = min(encode_time(chunks, pipeline) for _ in range(a.reps)) / a.requests * 1e6
        fast = best.get(True)
        print(f"{pipeline:>18} {best[False]:>11.2f} µs {'' if fast is None else f'{fast:11.2f} µs':>14} "
              f"{'' if fast is None else f'{best[False] / fast:6.1f}x':>7} {enc:>9.2f} µs")
        metrics[f"P{pipeline} parse µs/request, pure Python"] = metric(best[False], "lower", "µs")
        if fast is not None:
            metrics[f"P{pipeline} parse µs/request, hiredis"] = metric(fast, "lower", "µs")
            metrics[f"P{pipeline} parse speed-up, hiredis / pure Python"] = metric(best[False] / fast, "higher", "x")
    write_metrics(a.json, "resp", metrics, {"requests": a.requests, "reps": a.reps})


if __name__ == "__main__":
    main()
