"""Two-phase commit throughput, deployed on this machine: in memory vs ``durable=`` (fsync=batch).

    python bench/bench_2pc.py [--txns 2000] [--participants 3]

One coordinator and N stateless participants (all vote yes) under ``hl.deploy.Localhost``; a
client sends ``--txns`` transactions at once and waits for every decision. Prints transactions
per second for each mode, the median of ``--repeat`` alternating runs (docs/two_phase_commit.md
quotes one run)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import hydrologic as hl
from hydrologic import nondet
from hydrologic.std import commit_transactions, stateless_votes


class Coordinator: ...


class Participants: ...


class Client: ...


def _program(durable: bool) -> object:
    def build(flow: hl.FlowBuilder) -> None:
        coord = flow.process(Coordinator)
        parts = flow.cluster(Participants)
        client = flow.external(Client)
        txids = coord.source_external(client, name="txns", of=int, codec="json")
        txns = txids.map(lambda t: (t, None))
        tpc = commit_transactions(
            coord,
            parts,
            txns,
            stateless_votes(lambda m, t, x: True),
            nondet("static membership"),
            durable="tpc" if durable else None,
        )
        tpc.decisions.send_external(client, name="decisions", codec="json", delivery="at_least_once")

    return build


build_memory = _program(False)
build_durable = _program(True)


def run(durable: bool, n: int, participants: int, fsync: str = "batch") -> float:
    with tempfile.TemporaryDirectory() as data:
        target = hl.deploy.Localhost(log=lambda _l: None, data_dir=data, fsync=fsync)
        name = "build_durable" if durable else "build_memory"
        with target.start(f"{os.path.abspath(__file__)}:{name}", {"Participants": participants}) as d:
            with d.output("decisions") as out, d.input("txns") as inp:
                time.sleep(0.3)
                inp.send(-1)
                out.take(1, timeout=30)  # warm up: every channel is connected
                start = time.perf_counter()
                inp.send_many(list(range(n)))
                got = out.take(n, timeout=300)
                elapsed = time.perf_counter() - start
    assert len(got) == n and all(c for _, c in got)
    return n / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--txns", type=int, default=2000)
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3, help="runs per mode, alternating; the median is reported")
    parser.add_argument("--fsync", default="batch", help="the durable run's fsync mode (batch, always, never)")
    args = parser.parse_args(argv)
    modes = [("in memory", False), (f"durable fsync={args.fsync}", True)]
    rates: dict[str, list[float]] = {label: [] for label, _ in modes}
    for _ in range(args.repeat):
        for label, durable in modes:
            rates[label].append(run(durable, args.txns, args.participants, args.fsync))
    for label, rs in rates.items():
        rs.sort()
        runs = ", ".join(f"{r:,.0f}" for r in rs)
        print(f"{label:>20}: median {rs[len(rs) // 2]:,.0f} transactions/s (runs: {runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
