"""Jepsen-style tests of the Paxos-replicated Redis store over real processes
(tests/jepsen_support.py; the long run is ``python tools/jepsen.py``, docs/jepsen.md).

* the harness's own checks fail when they should: a lost acknowledged SET, a lost or doubled
  INCR (no processes);
* ``limited`` mode, ~20 s: 6 clients record SET/GET/INCR while the nemesis SIGKILLs the gateway
  (restarted by the supervisor), one replica and one acceptor for good, and SIGSTOPs members, the
  leader included; then no acknowledged write is lost and the history is linearizable;
* ``full`` mode, ~15 s: every role killed and restarted (the leader repeatedly, two different
  acceptors), then the whole cluster killed and restarted on its data directories; it deploys
  ``examples/redis_replicated.py:build_durable`` (durable, restartable Paxos members).

Set ``HL_JEPSEN_SEED`` to replay a seed printed by a failure.
"""

from __future__ import annotations

import os

import pytest
from jepsen_support import Config, lost_writes, run

from hydrologic.testing.linearizability import Op

SEED = int(os.environ.get("HL_JEPSEN_SEED", "1"))


def test_lost_writes_finds_a_lost_set_and_a_lost_or_doubled_incr() -> None:
    h = [
        Op("r0", "set", "a", None, 0, 1),
        Op("r0", "set", "b", None, 2, 3),
        Op("r1", "set", "x", None, 0, 1),
        Op("r1", "set", "y", None, 0.5, None, "info"),
        Op("c0", "incr", None, 1, 0, 1),
        Op("c0", "incr", None, 2, 2, 3),
        Op("c1", "incr", None, 1, 0, 1),
        Op("c1", "incr", None, 1, 2, 3),
    ]
    # r0 reads the older acknowledged value; r1 the unknown write that may follow "x": fine
    lost = lost_writes(h, {"r0": "a", "r1": "y", "c0": 1, "c1": 2})
    assert [l.split(":")[0] for l in lost] == ["c0", "c1", "r0"], lost
    assert "INCR replies repeated" in lost[1] and "'b'" in lost[2]
    assert lost_writes(h, {"r0": "b", "r1": "x", "c0": 2, "c1": 2}) == [lost[1]]
    assert lost_writes(h, {"r0": None, "c0": 3})[0].startswith("c0: reads 3, more than the 2 INCRs sent")


def test_a_failure_report_has_the_seed_the_nemesis_log_and_the_key_history() -> None:
    """A stale read after an acknowledged write, and a final read missing it: both checks fail,
    and the report says how to replay the run and shows the key's operations."""
    from jepsen_support import Event, judge

    class FakeNemesis:
        kills = {"Gateway": 1}
        leader_kills = 0
        killed_acceptors: set[str] = set()
        pauses = 0
        whole_restarts = 0
        log = [Event(1.5, "kill", "Gateway", 4242)]

    history = [
        Op("r0", "set", "0-1", None, 0.0, 0.1, process=0),
        Op("r0", "set", "0-2", None, 0.2, 0.3, process=0),
        Op("r0", "get", None, "0-1", 0.4, 0.5, process=1),
        Op("r1", "set", "1-1", None, 0.0, 0.1, process=1),
    ]
    out = judge(Config(seed=77), history, {"r0": "0-1", "r1": "1-1"}, FakeNemesis(), [], 0.5)  # type: ignore[arg-type]
    assert not out.ok and out.linearizable is False
    assert out.lost and out.lost[0].startswith("r0: acknowledged #1")
    text = out.report()
    assert "seed 77: FAIL" in text and "--seed 77" in text
    assert "kill          Gateway (pid 4242)" in text
    assert "history of key 'r0'" in text and "#2 client 1 GET 'r0' -> '0-1'" in text
    assert "'r1'" not in text.split("nemesis log:")[1]  # only the offending key's history


@pytest.mark.timeout(150)
def test_jepsen_limited_mode_no_acknowledged_write_lost_and_linearizable() -> None:
    out = run(Config(mode="limited", seconds=20, seed=SEED))
    print("\n" + out.report())
    assert out.ok, out.report()
    # the nemesis did what the limited mode promises
    assert out.kills.get("Replicas") == 1 and out.kills.get("Acceptors") == 1, out.report()
    assert out.kills.get("Gateway", 0) >= 1 and out.pauses >= 1, out.report()
    assert out.ops.get("ok", 0) > 500, out.report()
    assert out.recovery_seconds is not None


@pytest.mark.timeout(200)
def test_jepsen_full_mode_every_role_restarted_and_whole_cluster_restart() -> None:
    out = run(Config(mode="full", seconds=15, seed=SEED))
    print("\n" + out.report())
    assert out.ok, out.report()
    assert out.whole_restarts == 1 and out.leader_kills >= 2 and len(out.acceptors_killed) >= 2, out.report()
