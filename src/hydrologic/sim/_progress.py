"""A live progress display for long searches started from the command line (rich if available)."""

from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from typing import Any, Generator

from ._engines import Progress, Stats

__all__ = ["progress_display"]


@contextmanager
def progress_display(label: str, total: int | None, enabled: bool = True) -> Generator[Progress | None]:
    """Yield a callback for ``Sim.exhaustive/fuzz(progress=...)`` that redraws a progress bar.

    Uses rich when it is installed and stderr is a terminal; otherwise prints a line every few
    seconds (CI logs stay readable); ``enabled=False`` yields ``None``.
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
        yield _plain(label)
        return
    columns: list[Any] = [rp.SpinnerColumn(), rp.TextColumn("[bold]{task.description}")]
    if total is not None:
        columns += [rp.BarColumn(), rp.MofNCompleteColumn()]
    columns += [rp.TextColumn("{task.fields[info]}"), rp.TimeElapsedColumn()]
    with rp.Progress(*columns, console=rc.Console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=total, info="")

        def update(st: Stats) -> None:
            done = st.executions + st.pruned
            info = f"{st.executions:,} executions, {st.pruned:,} pruned, {st.per_second:,.0f}/s"
            bar.update(task, completed=done, info=info)

        yield update


def _plain(label: str) -> Progress:
    last = [0.0]

    def update(st: Stats) -> None:
        if st.seconds - last[0] >= 5 or st.complete:
            last[0] = st.seconds
            print(
                f"[hydrologic sim] {label}: {st.executions:,} executions, {st.pruned:,} pruned, "
                f"{st.per_second:,.0f}/s, {st.seconds:.1f}s",
                file=sys.stderr,
                flush=True,
            )

    return update
