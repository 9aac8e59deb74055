"""Expected events are logged at INFO; WARNING and ERROR are kept for what needs a human.

A deployment that starts, serves clients (one of them refused, as an ordered port takes one
client at a time), sees an unauthenticated connection, loses a worker that the supervisor
restarts, and shuts down logs no WARNING: each of those events is expected (the supervisor's
own line reports the death). A channel
that stays down is the case that does need a human, and is still a warning.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import time
from pathlib import Path

import pytest

import hydrologic as hl
from hydrologic.net import channel
from hydrologic.net.auth import client_handshake
from hydrologic.net.ratelimit import LogLimiter

ROOT = Path(__file__).resolve().parents[1]
WORDCOUNT = f"{ROOT / 'examples' / 'wordcount.py'}:build"
LEVELED = re.compile(r"^\[[^\]]+\] (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def _levels(lines: list[str], level: str) -> list[str]:
    return [line for line in lines if (m := LEVELED.match(line)) is not None and m.group(1) == level]


def _count(d: hl.deploy.LocalDeployment, words: list[str]) -> dict[str, int]:
    totals: dict[str, int] = {}
    with d.output("counts") as counts, d.input("words") as inp:
        inp.send_many(words)
        while any(totals.get(w, 0) < words.count(w) for w in words):
            word, n = counts.recv(timeout=20)
            totals[word] = max(totals.get(word, 0), n)
    return totals


def _wait_for(lines: list[str], text: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert time.monotonic() < deadline, f"no line with {text!r} in:\n" + "\n".join(lines)
        time.sleep(0.05)


@pytest.mark.timeout(120)
def test_a_normal_deployment_run_logs_no_warning() -> None:
    lines: list[str] = []
    with hl.deploy.Localhost(log=lines.append, on_failure="restart").start(WORDCOUNT, {"Workers": 3}) as d:
        # serve a client, which then disconnects
        assert _count(d, ["a", "b", "a"]) == {"a": 2, "b": 1}
        # a second concurrent client of an ordered port is refused (and told why)
        with d.input("words"), d.input("words") as second:
            with pytest.raises(Exception):
                for _ in range(50):
                    second.send("x")
                    time.sleep(0.02)
        _wait_for(lines, "refused a second concurrent client")
        # a connection to an internal port that does not know the secret
        async def wrong_secret() -> None:
            r, w = await asyncio.open_connection(*d.internal_address("Leader"))
            try:
                with pytest.raises(Exception):
                    await client_handshake(r, w, b"not the secret".ljust(32, b"!"), {"loc": 1, "member": 0}, timeout=5)
            finally:
                w.close()

        asyncio.run(wrong_secret())
        _wait_for(lines, "rejected an unauthenticated connection")
        # a worker dies; the supervisor restarts it and its peers reconnect
        os.kill(d.pids()["Workers/1"], signal.SIGKILL)
        _wait_for(lines, "is back as incarnation 1")
        _wait_for(lines, "Workers/1 restarted")
        assert set(_count(d, ["c", "c", "d"])) >= {"c", "d"}
        # a client that leaves with output unread
        with d.output("counts"), d.input("words") as inp:
            inp.send_many(["e", "f"])
            time.sleep(0.3)
    text = "\n".join(lines)
    assert _levels(lines, "WARNING") == [] and _levels(lines, "ERROR") == [] and "Traceback" not in text, text
    info = "\n".join(_levels(lines, "INFO"))
    for expected in ("refused a second concurrent client", "rejected an unauthenticated connection",
                     "channel to Workers/1 lost", "Workers/1 is back as incarnation 1"):
        assert expected in info, (expected, text)


def test_a_channel_that_stays_down_is_a_warning(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        addr = s.getsockname()
    monkeypatch.setattr(channel, "DOWN_WARNING_AFTER", 0.3)

    async def main() -> None:
        link = channel.OutLink("Peer/0", addr, b"s" * 32, {"loc": 0}, reconnect=True)
        link.retry_later()
        link.send(b"held")
        await asyncio.sleep(1.0)
        await link.close()

    with caplog.at_level(logging.INFO, logger="hydrologic.net"):
        asyncio.run(main())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, caplog.text  # once per outage, not once per attempt
    assert "channel to Peer/0 still down after" in warnings[0].getMessage()
    assert "1 frame(s) held" in warnings[0].getMessage()


def test_a_rate_limited_line_can_be_info() -> None:
    lines: list[str] = []

    class Sink(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(f"{record.levelname} {record.getMessage()}")

    logger = logging.getLogger("test_log_levels.limiter")
    logger.addHandler(Sink())
    logger.setLevel(logging.DEBUG)
    lim = LogLimiter(logger, interval=10.0, clock=lambda: 0.0)
    assert lim.info("refused", "refused %s", "a")
    assert not lim.info("refused", "refused %s", "b")
    assert lines == ["INFO refused a"]
