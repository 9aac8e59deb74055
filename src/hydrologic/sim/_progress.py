"""A live progress display for long searches (rich when stderr is a terminal, plain lines otherwise).

It shows executions done against the estimated total (``Stats.target``: the fuzz iteration count,
or for an exhaustive search the upper bound that tightens as the DFS advances), the rate, and the
time left at that rate.
"""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from typing import Any, Generator

from ._engines import Progress, Stats

__all__ = ["progress_display", "describe"]


def describe(st: Stats) -> str:
    """``12,345 / ~40,000 executions, 3,900/s, ~7s left`` (``~``: an estimate, not a count)."""
    done = st.executions + st.pruned
    rate = st.per_second
    est = st.estimate
    bound = "" if (est is None or est.exact or st.mode != "exhaustive") else "~"
    text = f"{done:,}"
    if st.target:
        text += f" / {bound}{st.target:,}"
    text += f" executions ({st.pruned:,} pruned), {rate:,.0f}/s"
    if st.target and rate > 0 and st.target > done:
        left = (st.target - done) / rate
        text += f", {bound}{_duration(left)} left"
    return text


def _duration(s: float) -> str:
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:,.0f} days"


@contextmanager
def progress_display(label: str, total: int | None, enabled: bool = True, *, after: float = 0.0) -> Generator[Progress | None]:
    """Yield a callback for ``Sim.exhaustive/fuzz(progress=...)`` that redraws a progress bar.

    Uses rich when it is installed and stderr is a terminal; otherwise prints a line every few
    seconds (CI logs stay readable); ``enabled=False`` yields ``None``. Nothing is shown before
    the search has run ``after`` seconds, so short searches stay quiet.
    """
    if not enabled:
        yield None
        return
    try:
        # rich is optional (not a dependency of the package); imported dynamically so that the
        # type checkers do not need it either.
        rp: Any = importlib.import_module("rich.progress")
        rc: Any = importlib.import_module("rich.console")
    except ImportError:  # pragma: no cover - rich is optional
        rp = rc = None
    if rp is None or not sys.stderr.isatty():
        yield _plain(label, after)
        return
    columns: list[Any] = [rp.SpinnerColumn(), rp.TextColumn("[bold]{task.description}"), rp.BarColumn()]
    columns += [rp.TextColumn("{task.fields[info]}"), rp.TimeElapsedColumn()]
    bar = rp.Progress(*columns, console=rc.Console(stderr=True), transient=False)
    state: dict[str, Any] = {}

    def update(st: Stats) -> None:
        if st.seconds < after and not state:
            return
        if not state:
            bar.start()
            state["task"] = bar.add_task(label, total=total or st.target or None, info="")
        bar.update(state["task"], completed=st.executions + st.pruned, total=st.target or total or None, info=describe(st))

    try:
        yield update
    finally:
        if state:
            bar.stop()


def _plain(label: str, after: float) -> Progress:
    last = [0.0]

    def update(st: Stats) -> None:
        if st.seconds < after:
            return
        if st.seconds - last[0] >= 5 or st.complete:
            last[0] = st.seconds
            print(f"[hydrologic] sim: {label}: {describe(st)}, {st.seconds:.1f}s", file=sys.stderr, flush=True)

    return update
