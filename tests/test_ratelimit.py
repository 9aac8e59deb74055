"""The rate limiter of repeated warnings (net/ratelimit.py), on a fake clock."""

from __future__ import annotations

import logging
from typing import Any, Callable

import pytest

from hydrologic.net.ratelimit import LogLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.getMessage()}")


@pytest.fixture
def records() -> Any:
    logger = logging.getLogger("test.ratelimit")
    logger.propagate = False
    h = Records()
    logger.addHandler(h)
    logger.setLevel(logging.DEBUG)
    yield logger, h.lines
    logger.removeHandler(h)


def test_once_per_interval_per_kind_with_a_count_of_the_rest(records: Any) -> None:
    logger, lines = records
    clock = Clock()
    lim = LogLimiter(logger, 10.0, clock=clock)
    assert lim.warning("refused", "refused a connection from %s", "a:1")  # the first is written
    for i in range(312):
        clock.now += 0.01
        assert not lim.warning("refused", "refused a connection from %s", f"b:{i}")
    assert lim.error("bad", "dropped bad input %d", 1)  # another kind has its own interval
    assert lines == ["WARNING refused a connection from a:1", "ERROR dropped bad input 1"]
    assert lim.suppressed("refused") == 312 and lim.total_suppressed == 312
    clock.now = 1010.0  # the interval has passed: the next one is written, with the count
    assert lim.warning("refused", "refused a connection from %s", "c:1")
    assert lines[-1] == "WARNING refused a connection from c:1 (and 312 more in the last 10 s)"
    assert lim.suppressed("refused") == 0
    clock.now += 5
    assert not lim.warning("refused", "refused a connection from %s", "d:1")
    clock.now += 60  # a quiet minute: the count covers the whole time since the last line
    assert lim.warning("refused", "refused a connection from %s", "e:1")
    assert lines[-1] == "WARNING refused a connection from e:1 (and 1 more in the last 65 s)"
    clock.now += 100
    assert lim.warning("refused", "refused a connection from %s", "f:1")
    assert lines[-1] == "WARNING refused a connection from f:1"  # nothing was left out


def test_flush_reports_a_burst_that_stopped(records: Any) -> None:
    logger, lines = records
    clock = Clock()
    lim = LogLimiter(logger, 10.0, clock=clock)
    lim.warning("slow", "dropped client %d", 1)
    for i in range(2, 6):
        lim.warning("slow", "dropped client %d", i)
    lim.flush()  # too early: the interval has not ended
    assert lines == ["WARNING dropped client 1"]
    clock.now += 10
    lim.flush()  # the last one left out stands for the others
    assert lines[-1] == "WARNING dropped client 5 (and 3 more in the last 10 s)"
    lim.flush()
    assert len(lines) == 2


def test_scheduled_flush_at_the_end_of_the_interval(records: Any) -> None:
    logger, lines = records
    clock = Clock()
    timers: list[tuple[float, Callable[[], None]]] = []
    lim = LogLimiter(logger, 10.0, clock=clock, schedule=lambda delay, cb: timers.append((delay, cb)))
    lim.warning("bad", "bad input from %s", "x")
    clock.now += 2
    for _ in range(7):
        lim.warning("bad", "bad input from %s", "y")
    assert len(timers) == 1 and timers[0][0] == pytest.approx(8.0)  # one timer per interval, at its end
    clock.now += 8
    timers.pop()[1]()
    assert lines == ["WARNING bad input from x", "WARNING bad input from y (and 6 more in the last 10 s)"]
    lim.warning("bad", "bad input from %s", "z")  # within the new interval: counted, a new timer
    assert len(timers) == 1 and lim.suppressed("bad") == 1


def test_negative_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        LogLimiter(logging.getLogger("x"), -1)
