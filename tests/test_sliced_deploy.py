"""The threshold operator and a sliced region with state, deployed as real processes over TCP."""

from __future__ import annotations

import os

import pytest

import hydrologic as hl

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "sliced_progs.py")
pytestmark = pytest.mark.timeout(90)


def test_threshold_and_region_state_across_processes() -> None:
    with hl.deploy.Localhost(log=lambda _: None).start(f"{PROGS}:quorum") as d:
        with d.output("quorum") as quorum, d.output("totals") as totals, d.input("ballots") as ballots:
            ballots.send_many(["ann", "bo"])
            running = [totals.recv()]
            while running[-1] < 2:
                running.append(totals.recv())
            assert quorum.drain() == []  # two ballots: not yet
            ballots.send_many(["cy", "dee", "eve"])
            assert quorum.take(1) == [3]
            while running[-1] < 5:
                running.append(totals.recv())
            # the running total carried by the region's state: strictly increasing, ends at 5
            assert running == sorted(set(running)) and running[-1] == 5
            assert quorum.drain() == []  # the threshold fired once
