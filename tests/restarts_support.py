"""Shared helpers for the restart tests on every target (test_restarts.py, test_deploy_ray.py),
over the ``restarts`` program of deploy_programs/progs.py: an ordered round trip leader -> every
worker -> leader (``in`` -> ``out``), and the leader's ``liveness`` view of the workers."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any, Callable

from hydrologic.deploy import Deployment


def events(out: Any, until: Callable[[list[list[Any]]], bool], timeout: float = 20.0) -> list[list[Any]]:
    """``[member, kind, incarnation]`` liveness events from ``out`` until ``until(events)`` (or the timeout)."""
    got: list[list[Any]] = []
    deadline = time.monotonic() + timeout
    while not until(got) and time.monotonic() < deadline:
        got += out.drain(quiet=0.1, timeout=0.5)
    return got


def round_trip(d: Deployment, values: list[int], members: int = 2) -> dict[int, list[int]]:
    """Send ``values`` through the ordered round trip; what came back, by member, in arrival order."""
    with d.output("out") as out, d.input("in") as inp:
        inp.send_many(values)
        got = out.take(members * len(values), timeout=15)
    by_member: dict[int, list[int]] = defaultdict(list)
    for m, v in got:
        by_member[m].append(v)
    return dict(by_member)
