"""Word count across a cluster of workers: the example of the top-level README, on local processes.

    python examples/wordcount.py                # 1 leader + 3 workers, each its own OS process
    python examples/wordcount.py --in-process   # the same program, all in this process
    python -m hydrologic run examples/wordcount.py:build --cluster Workers=3

Words arrive from an external client in order; the leader spreads them over the workers
round-robin (which worker gets which word is a nondet site); each worker counts per word; the
per-worker counts come back to the leader keyed by worker, and the leader reports each word's
total to the client whenever it changes.
"""

from __future__ import annotations

import argparse
import os
import sys

import hydrologic as hl
from hydrologic import nondet, proof


class Leader: ...


class Workers: ...


class Client: ...


def build(flow: hl.FlowBuilder) -> None:
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    words = leader.source_external(client, name="words", of=str, codec="json")
    partial = (
        words.round_robin(workers, nondet("any worker may count any word; the sum is the same"))
        .map(lambda w: (w, 1))
        .into_keyed()
        .fold(lambda: 0, lambda acc, one: acc + one)
    )
    # Each worker reports its per-word count whenever it changes; the leader keeps the latest
    # report per (worker, word) and sums over workers.
    reports = partial.entries().send(leader)  # KeyedStream[MemberId, (word, count)]
    latest = (
        reports.entries()
        .map(lambda e: ((e[0], e[1][0]), e[1][1]))
        .into_keyed()
        .reduce(max, commutative=proof("counts only grow, so max is order-free"))
    )
    tick = leader.tick()
    totals = (
        latest.snapshot(tick, nondet("report the totals seen so far; later ticks catch up"))
        .entries()
        .map(lambda e: (e[0][1], e[1]))
        .into_keyed()
        .fold(lambda: 0, lambda a, b: a + b, commutative=proof("addition is commutative"))
        .entries()
        .all_ticks()
    )
    totals.send_external(client, name="counts", codec="json")


TEXT = "the quick brown fox jumps over the lazy dog the end"


def count_in_process(text: str) -> dict[str, int]:
    flow = hl.FlowBuilder("wordcount")
    build(flow)
    final: dict[str, int] = {}
    with flow.run_in_process(cluster_sizes={Workers: 3}) as run:
        print("[hydrologic] running Leader and Workers (3 members) in this process (flow.run_in_process()); no OS process started")
        run.external_send("words", text.split())
        for word, count in run.external_collect("counts"):
            final[word] = count
    return final


def started_line(d: hl.deploy.LocalDeployment) -> str:
    """One line saying which processes a deployment started: each location, its members, its pids."""
    pids = d.pids()
    parts: list[str] = []
    for name in dict.fromkeys(inst.loc.name for inst in d.instances):
        mine = [inst for inst in d.instances if inst.loc.name == name]
        if len(mine) == 1 and mine[0].member is None:
            parts.append(f"{name} (pid {pids[mine[0].label]})")
        else:
            parts.append(f"{name} ({len(mine)} members, pids {', '.join(str(pids[i.label]) for i in mine)})")
    return (
        f"[hydrologic] started {len(pids)} local processes, connected over TCP on 127.0.0.1: "
        f"{' and '.join(parts)}; this script is their external client"
    )


def count_on_local_processes(text: str, timeout: float = 30.0) -> dict[str, int]:
    """Deploy on Localhost (one OS process per location/member) and read totals until every
    word sent is accounted for."""
    words = text.split()
    final: dict[str, int] = {}
    with hl.deploy.Localhost(log=lambda _line: None).start(f"{os.path.abspath(__file__)}:build", {"Workers": 3}) as d:
        print(started_line(d), flush=True)
        with d.output("counts") as counts, d.input("words") as inp:
            inp.send_many(words)
            while sum(final.values()) < len(words):
                word, count = counts.recv(timeout=timeout)
                final[word] = max(final.get(word, 0), count)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in-process", action="store_true", help="run every location in this process")
    parser.add_argument("text", nargs="?", default=TEXT)
    args = parser.parse_args(argv)
    final = count_in_process(args.text) if args.in_process else count_on_local_processes(args.text)
    for word in sorted(final):
        print(f"{word:8} {final[word]}")
    flow = hl.FlowBuilder("wordcount")
    build(flow)
    sites = flow.nondet_sites()
    print(
        f"[hydrologic] {len(sites)} nondet sites: the only places where two runs may differ "
        "(which worker counts a word, when a total is reported); each reason says why the totals come out the same:"
    )
    for site in sites:
        print(f"  {site}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
