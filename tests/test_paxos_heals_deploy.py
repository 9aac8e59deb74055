"""The durable Paxos-replicated store (examples/redis_replicated.py:build_durable), deployed.

Whole-cluster restart: write through the store with the ``redis`` client, SIGKILL all 7
processes at once, deploy again on the same data directories, and every acknowledged write is
still there; new clients' commands go on from there. The twin: the in-memory store (``build``)
restarted the same way has lost them.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hydrologic.deploy import LocalDeployment, Localhost

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_replicated.py")
SIZES = {"Replicas": 3, "Acceptors": 3}

redis = pytest.importorskip("redis")


def _deploy(target: str, data_dir: Path, logs: list[str]) -> LocalDeployment:
    return Localhost(log=logs.append, on_failure="continue", data_dir=data_dir).start(f"{EXAMPLE}:{target}", SIZES)


def _sigkill_all(d: LocalDeployment) -> None:
    pids = list(d.pids().values())
    assert len(pids) == 7
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split(")")[-1].split()[0] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.02)
    d.stop()


def _write(port: int, n: int) -> dict[str, str]:
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
    acked: dict[str, str] = {}
    for i in range(n):
        key = f"k{i % 40}"
        if r.set(key, f"v{i}") is True:
            acked[key] = f"v{i}"
    assert r.incr("counter") == 1 and r.incr("counter") == 2
    r.close()
    return acked


def _first_answer(port: int, timeout: float) -> tuple[Any, float]:
    """The first GET answered by the restarted store, and how long after ``port`` was known."""
    started = time.monotonic()
    r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout)
    value = r.get("k0")
    r.close()
    return value, time.monotonic() - started


@pytest.mark.timeout(180)
def test_whole_cluster_sigkill_and_restart_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    logs: list[str] = []
    d = _deploy("build_durable", tmp_path, logs)
    try:
        acked = _write(d.port("redis").port, 300)
        assert len(acked) == 40
    finally:
        _sigkill_all(d)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["Gateway"] + [f"Replicas-{i}" for i in range(3)] + [f"Acceptors-{i}" for i in range(3)]
    )

    started = time.monotonic()
    d = _deploy("build_durable", tmp_path, logs)
    try:
        port = d.port("redis").port
        first, _ = _first_answer(port, 60)
        restart_to_serving = time.monotonic() - started
        print(f"whole-cluster restart to first answer: {restart_to_serving:.2f} s", file=sys.stderr)
        assert first == acked["k0"].encode()
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=30)
        for key, value in acked.items():
            assert r.get(key) == value.encode(), key
        assert r.incr("counter") == 3  # applied once each, before and after the restart
        assert r.set("after", "restart") is True and r.get("after") == b"restart"
        r.close()
    finally:
        d.stop()


@pytest.mark.timeout(120)
def test_the_in_memory_store_restarted_the_same_way_has_lost_its_writes(tmp_path: Path) -> None:
    logs: list[str] = []
    d = _deploy("build", tmp_path, logs)
    try:
        acked = _write(d.port("redis").port, 40)
    finally:
        _sigkill_all(d)
    d = _deploy("build", tmp_path, logs)
    try:
        r = redis.Redis(host="127.0.0.1", port=d.port("redis").port, socket_timeout=30)
        assert acked and all(r.get(key) is None for key in acked)
        assert r.incr("counter") == 1
        r.close()
    finally:
        d.stop()
