"""Map-reduce word count: documents spread over mapper workers, partial counts combined at a reducer.

    python examples/map_reduce.py                 # deploy 1 driver + 3 mappers + 1 reducer, act as the client
    python -m hydrologic run examples/map_reduce.py:build --cluster Mappers=3

A client sends documents (strings) to ``documents``; the reducer publishes ``[word, total]`` on
``totals`` each time a word's total grows.

* **map**: the driver deals documents to the mappers round-robin; each mapper splits its
  documents into words.
* **combine**: each mapper counts words per key over whatever documents it has at hand in one
  tick (a per-key fold in the tick, MapReduce's combiner) and sends those partial counts to the
  reducer. How many documents one partial covers is a nondet site, and it does not matter: the
  reducer adds partials up.
* **reduce**: the reducer folds partial counts per word with ``+``. Partials arrive from all
  mappers in no particular order, so the fold must say why order does not matter
  (``commutative=proof(...)``); the simulator re-checks that claim on every run.

Every word's last total equals its count over all documents, on every schedule; only how
often intermediate totals are published varies.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import NamedTuple

import hydrologic as hl
from hydrologic import Cluster, ExactlyOnce, NoOrder, Process, Stream, TotalOrder, Unbounded, nondet, proof


class Driver: ...


class Mappers: ...


class Reducer: ...


class Client: ...


Documents = Stream[str, Process[Driver], Unbounded, TotalOrder, ExactlyOnce]
Totals = Stream[tuple[str, int], Process[Reducer], Unbounded, NoOrder, ExactlyOnce]


def word_count(mappers: Cluster[Mappers], reducer: Process[Reducer], documents: Documents) -> Totals:
    """The job, as a function over live collections: documents in, running totals out."""
    at_mapper = documents.round_robin(
        mappers, nondet("any mapper may count any document: the reducer's per-word sums are the same")
    )
    tick = mappers.tick()
    partials = (
        at_mapper.batch(
            tick, nondet("a partial count may cover any number of pending documents: partials are added up anyway")
        )
        .flat_map_ordered(lambda doc: doc.split())
        .map(lambda word: (word, 1))
        .into_keyed()
        .fold(lambda: 0, lambda n, one: n + one)  # per word, over this tick's documents
        .entries()
        .all_ticks()
    )
    at_reducer = partials.send(reducer).values()  # from every mapper: no order across them
    totals = at_reducer.into_keyed().fold(
        lambda: 0,
        lambda total, partial: total + partial,
        commutative=proof("integer addition is commutative and associative, so partials may be added in any order"),
    )
    return totals.entries()  # each word's total, whenever it grows


def build(flow: hl.FlowBuilder) -> None:
    driver = flow.process(Driver)
    mappers = flow.cluster(Mappers)
    reducer = flow.process(Reducer)
    client = flow.external(Client)
    documents = driver.source_external(client, name="documents", of=str, codec="json")
    word_count(mappers, reducer, documents).send_external(client, name="totals", codec="json")


class SimPorts(NamedTuple):
    mappers: Cluster[Mappers]
    documents: hl.SimInput[str]
    totals: hl.SimOutput[tuple[str, int]]


def build_sim(flow: hl.FlowBuilder) -> SimPorts:
    """The same job with simulator ports in place of the External client."""
    driver = flow.process(Driver)
    mappers = flow.cluster(Mappers)
    reducer = flow.process(Reducer)
    inp, documents = driver.sim_input(str)
    return SimPorts(mappers, inp, word_count(mappers, reducer, documents).sim_output())


DOCUMENTS = [
    "the quick brown fox jumps over the lazy dog",
    "the dog sleeps",
    "a fox is quick and a dog is lazy",
    "the end",
]


def run_job(documents: list[str], mappers: int = 3, timeout: float = 30.0) -> dict[str, int]:
    """Deploy, send the documents, and read totals until every word sent is accounted for."""
    words = sum(len(doc.split()) for doc in documents)
    final: dict[str, int] = {}
    program = f"{os.path.abspath(__file__)}:build"
    with hl.deploy.Localhost(log=lambda _line: None).start(program, {"Mappers": mappers}) as d:
        with d.output("totals") as totals, d.input("documents") as inp:
            inp.send_many(documents)
            while sum(final.values()) < words:
                word, total = totals.recv(timeout=timeout)
                final[word] = max(final.get(word, 0), total)
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mappers", type=int, default=3)
    args = parser.parse_args(argv)
    final = run_job(DOCUMENTS, args.mappers)
    for word in sorted(final, key=lambda w: (-final[w], w)):
        print(f"{word:8} {final[word]}")
    expected = Counter(w for doc in DOCUMENTS for w in doc.split())
    print("matches a sequential count:", final == dict(expected))
    return 0 if final == dict(expected) else 1


if __name__ == "__main__":
    sys.exit(main())
