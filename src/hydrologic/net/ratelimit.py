"""Rate-limited log lines: a warning that can repeat (one per refused connection, per bad
request, per slow reader disconnected) is logged at most once per interval per *kind*.

The first occurrence of a kind is logged at once. Later ones within ``interval`` seconds are
counted, not logged; the next line of that kind that is logged says how many were left out::

    bidi port 'redis': refused a connection from ('127.0.0.1', 50312): ... (and 312 more in the last 10 s)

With a ``schedule`` function (``loop.call_later``, see ``asyncio_schedule``) the count is also
written when the interval ends, so a burst that stops is still reported in full; without one it
waits for the next occurrence (or an explicit ``flush()``).

    limiter = LogLimiter(logging.getLogger("hydrologic.net"), interval=10.0)
    limiter.warning("refused", "port %r: refused a connection from %s", name, peer)

Used by the External port servers (``net/``); usable anywhere a log line can repeat.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable

__all__ = ["LogLimiter", "asyncio_schedule", "DEFAULT_INTERVAL"]

DEFAULT_INTERVAL = 10.0
"""Seconds between two log lines of the same kind."""

Schedule = Callable[[float, Callable[[], None]], Any]


class _Kind:
    __slots__ = ("last", "suppressed", "level", "msg", "args", "scheduled")

    def __init__(self) -> None:
        self.last = float("-inf")  # when a line of this kind was last written
        self.suppressed = 0  # occurrences since then that were not written
        self.level = logging.WARNING  # the last suppressed occurrence, written by flush()
        self.msg = ""
        self.args: tuple[Any, ...] = ()
        self.scheduled = False


class LogLimiter:
    """Logs each kind of message at most once per ``interval`` seconds, with a count of the rest."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = DEFAULT_INTERVAL,
        *,
        clock: Callable[[], float] = time.monotonic,
        schedule: Schedule | None = None,
    ) -> None:
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, got {interval!r}")
        self.logger = logger
        self.interval = interval
        self.clock = clock
        self.schedule = schedule
        self._kinds: dict[str, _Kind] = {}
        self.total_suppressed = 0

    def info(self, kind: str, msg: str, *args: Any) -> bool:
        return self.log(logging.INFO, kind, msg, *args)

    def warning(self, kind: str, msg: str, *args: Any) -> bool:
        return self.log(logging.WARNING, kind, msg, *args)

    def error(self, kind: str, msg: str, *args: Any) -> bool:
        return self.log(logging.ERROR, kind, msg, *args)

    def log(self, level: int, kind: str, msg: str, *args: Any) -> bool:
        """Log ``msg % args`` unless a line of ``kind`` was logged less than ``interval`` ago
        (then count it); returns whether it was written."""
        k = self._kinds.get(kind)
        if k is None:
            k = self._kinds[kind] = _Kind()
        now = self.clock()
        if now - k.last >= self.interval:
            self._write(k, level, msg, args, k.suppressed, now)
            return True
        k.suppressed += 1
        self.total_suppressed += 1
        k.level, k.msg, k.args = level, msg, args
        if self.schedule is not None and not k.scheduled:
            k.scheduled = True
            self.schedule(max(0.0, k.last + self.interval - now), lambda: self._flush_kind(kind, due=True))
        return False

    def suppressed(self, kind: str) -> int:
        """Occurrences of ``kind`` counted but not yet reported."""
        k = self._kinds.get(kind)
        return 0 if k is None else k.suppressed

    def flush(self) -> None:
        """Write the count of every kind whose interval has ended with occurrences left out."""
        for kind in list(self._kinds):
            self._flush_kind(kind)

    def _flush_kind(self, kind: str, due: bool = False) -> None:
        """``due``: called by the scheduler when the interval ends (its clock may differ a little
        from ``clock``, so the interval is not checked again)."""
        k = self._kinds[kind]
        if due:
            k.scheduled = False
        if not k.suppressed or (not due and self.clock() - k.last < self.interval):
            return
        # the last occurrence left out stands for all of them
        self._write(k, k.level, k.msg, k.args, k.suppressed - 1, self.clock())

    def _write(self, k: _Kind, level: int, msg: str, args: tuple[Any, ...], more: int, now: float) -> None:
        if more:
            span = max(self.interval, now - k.last)
            msg = f"{msg} (and {more} more in the last {span:.0f} s)" if span >= 10 else f"{msg} (and {more} more in the last {span:.2g} s)"
        k.last = now
        k.suppressed = 0
        self.logger.log(level, msg, *args)


def asyncio_schedule(delay: float, callback: Callable[[], None]) -> Any:
    """``LogLimiter(schedule=...)`` on the running asyncio loop (does nothing outside one)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop.call_later(delay, callback)
