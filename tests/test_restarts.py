"""Restarts over real processes: channels resume with the new incarnation, and the program
sees it happen as ``peer_liveness`` events, in order, once each.

What an ordered channel promises across a restart (docs/deployment.md, "Faults and restarts"):
each incarnation's messages arrive in order with no gap and no duplicate; what a dead
incarnation had in flight is lost; ``RESTARTED(n)`` is seen no later than incarnation ``n``'s
first message.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.deploy.supervision import RestartPolicy
from restarts_support import events, round_trip

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")
pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def deployment() -> Iterator[LocalDeployment]:
    logs: list[str] = []
    d = Localhost(log=logs.append, on_failure=RestartPolicy(backoff=0.05)).start(f"{PROGS}:restarts", {"Workers": 2})
    d.logs = logs  # type: ignore[attr-defined]
    yield d
    d.stop()


def test_sigkill_of_a_member_restarts_it_and_its_ordered_channels_resume(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("liveness") as live:
        opening = events(live, lambda g: len(g) >= 2)
        assert sorted(opening) == [[0, "up", 0], [1, "up", 0]]
        assert round_trip(d, [1, 2, 3]) == {0: [10, 20, 30], 1: [10, 20, 30]}

        old = d.pids()["Workers/1"]
        os.kill(old, signal.SIGKILL)
        after = events(live, lambda g: [1, "restarted", 1] in g)
        assert after == [[1, "down", 0], [1, "restarted", 1]], after  # in order, once each

    # both directions of the ordered round trip resumed with incarnation 1: all, in order, once
    values = list(range(100, 160))
    assert round_trip(d, values) == {0: [v * 10 for v in values], 1: [v * 10 for v in values]}
    assert d.pids()["Workers/1"] != old and not d.failed


def test_repeated_restarts_count_incarnations_and_each_event_comes_once(deployment: LocalDeployment) -> None:
    d = deployment
    with d.output("liveness") as live:
        events(live, lambda g: len(g) >= 2)
        for n in (1, 2, 3):
            pid = d.pids()["Workers/0"]
            os.kill(pid, signal.SIGKILL)
            got = events(live, lambda g: [0, "restarted", n] in g)
            assert got == [[0, "down", n - 1], [0, "restarted", n]], (n, got)
    assert round_trip(d, [7]) == {0: [70], 1: [70]}


# ---- a sender reconnects as soon as its peer is reported back ---------------------------------


def test_a_reported_restart_kicks_the_link_even_when_the_program_does_not_watch_liveness() -> None:
    """Without the kick, a sender sits out its reconnect backoff (up to 2 s) after the peer is
    back; programs without a ``peer_liveness`` stream (most of them) got no kick at all."""
    import hydrologic as hl
    from hydrologic.deploy.node import LocationNode
    from hydrologic.lang.liveness import Liveness

    class A: ...

    class B: ...

    flow = hl.FlowBuilder()
    a, b = flow.process(A), flow.process(B)
    a.source_iter([1]).send(b).for_each(print)
    graph = flow.build()
    node = LocationNode(graph, graph.locations[0], None, {}, b"k" * 32)
    assert not node._liveness_nodes  # pyright: ignore[reportPrivateUsage]  # nothing watches liveness

    kicks: list[str] = []

    class FakeLink:
        def reconnect_now(self) -> None:
            kicks.append("kick")

    peer = (graph.locations[1].id, None)
    node.links[peer] = FakeLink()  # type: ignore[assignment]
    node.observe_liveness(peer, Liveness.down(0))
    assert kicks == []
    node.observe_liveness(peer, Liveness.restarted(1))  # the supervisor's report, or the new hello
    assert kicks == ["kick"]


def test_a_kick_during_a_failing_connection_attempt_is_not_lost() -> None:
    """The peer is reported back while an attempt to reach it is failing: the link retries at
    once instead of waiting out its backoff (here 1.6 s, after four failed attempts)."""
    import asyncio

    from hydrologic.net.channel import OutLink

    async def go() -> tuple[float, int]:
        link = OutLink("Peer", ("127.0.0.1", 9), b"k" * 32, {}, reconnect=True)
        attempts: list[float] = []

        async def fake_open() -> None:
            attempts.append(time.monotonic())
            if len(attempts) == 5:
                link.reconnect_now()  # reported back while this attempt fails
            if len(attempts) <= 5:
                raise ConnectionRefusedError("not yet")
            link.up = True

        link._open = fake_open  # type: ignore[method-assign]
        link.retry_later()
        deadline = time.monotonic() + 10
        while not link.up and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return attempts[-1] - attempts[-2], len(attempts)

    gap, attempts = asyncio.run(go())
    assert attempts == 6
    assert gap < 0.5, f"the kicked retry waited {gap:.2f}s (the backoff) instead of retrying at once"
