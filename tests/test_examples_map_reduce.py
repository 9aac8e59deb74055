"""examples/map_reduce.py: the final totals equal a sequential count under every explored
schedule (how partials are combined varies; the totals do not), and a deployed run."""

from __future__ import annotations

from collections import Counter

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example

__all__ = ["deploy"]

mr = load_example("map_reduce")

DOCS = ["a b a", "b c", "a a", "c d"]


def check_totals(updates: list[tuple[str, int]], docs: list[str]) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Invariants of the reducer's output; returns the per-word update sequences (the outcome)."""
    per_word: dict[str, list[int]] = {}
    for word, total in updates:
        per_word.setdefault(word, []).append(total)
    assert {w: ts[-1] for w, ts in per_word.items()} == Counter(w for d in docs for w in d.split())
    for word, ts in per_word.items():
        assert ts == sorted(set(ts)), f"{word}: totals must only grow, got {ts}"
    return tuple(sorted((w, tuple(ts)) for w, ts in per_word.items()))


def test_map_reduce_builds_and_declares_its_nondet_and_proof() -> None:
    flow = hl.FlowBuilder()
    mr.build(flow)
    flow.build()
    assert [s.op for s in flow.nondet_sites()] == ["round_robin", "batch"]
    assert [c.op for c in flow.proof_claims()] == ["fold"]


@pytest.mark.parametrize("mappers,executions,outcomes", [(1, 8, 5), (2, 4, 4), (3, 2, 1)])
def test_totals_match_a_sequential_count_on_every_schedule(mappers: int, executions: int, outcomes: int) -> None:
    flow = hl.FlowBuilder()
    ports = mr.build_sim(flow)
    seen: set[tuple[tuple[str, tuple[int, ...]], ...]] = set()

    def scenario() -> None:
        ports.documents.send_many(DOCS)
        seen.add(check_totals(ports.totals.collect(), DOCS))

    runs = flow.sim(cluster_sizes={ports.mappers: mappers}).exhaustive(scenario)
    assert (runs, len(seen)) == (executions, outcomes)
    # e.g. "a" (2 in doc 0, 2 in doc 2) is published as 2 then 4, or straight as 4 when one
    # partial covers both documents
    if mappers == 1:
        assert {dict(o)["a"] for o in seen} == {(2, 4), (4,)}


def test_totals_with_documents_arriving_over_time_fuzzed() -> None:
    docs = [f"w{i % 3} w{i % 5} x" for i in range(12)]
    flow = hl.FlowBuilder()
    ports = mr.build_sim(flow)

    def scenario() -> None:
        ports.documents.send_many(docs[:6])
        first = ports.totals.next()  # some progress before the rest arrives
        ports.documents.send_many(docs[6:])
        check_totals([first] + ports.totals.collect(), docs)

    flow.sim(cluster_sizes={ports.mappers: 2}).fuzz(scenario, iterations=300, seed=1)


@pytest.mark.timeout(60)
def test_map_reduce_deployed_matches_a_sequential_count(deploy: Deploy) -> None:
    docs = [f"doc{i} " + " ".join(f"w{(i * j) % 11}" for j in range(20)) for i in range(30)]
    expected = Counter(w for d in docs for w in d.split())
    d = deploy("map_reduce", {"Mappers": 3})
    final: dict[str, int] = {}
    with d.output("totals") as totals, d.input("documents") as inp:
        inp.send_many(docs)
        while sum(final.values()) < sum(expected.values()):
            word, total = totals.recv(timeout=20)
            assert total > final.get(word, 0), "a word's total went backwards"
            final[word] = total
    assert final == expected
