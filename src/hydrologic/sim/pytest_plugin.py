"""pytest integration: a simulator test is a plain test function.

Without the plugin a simulator test already works (``sim(flow).exhaustive(scenario)`` raises an
``AssertionError`` whose message is the trace). The plugin adds:

* the ``hl_sim`` fixture: ``hl_sim(flow, cluster_sizes=...)`` returns a ``Sim`` whose ``fuzz``
  uses ``--hl-sim-seed`` / ``--hl-sim-iterations`` when the test does not pass them, so CI can run
  the same tests longer or with another seed, and whose ``exhaustive``/``fuzz`` run on
  ``--hl-sim-workers N`` processes when the test does not pass ``workers=``;
* ``--hl-sim-replay TOKEN``: every ``exhaustive``/``fuzz``/``hypothesis`` call in the selected tests
  replays that token instead of searching (re-run one failing test with its token);
  ``--hl-sim-replay FILE`` replays a reproducer file in the calls of its scenario;
* reproducer files: every failure found is saved to ``sim-failures/`` next to the test, and an
  ``hl_sim`` search first re-runs the test's stored reproducers of its scenario (a file that no
  longer applies to the program gives a warning naming what changed, and is skipped);
* a "hydrologic sim" report section with the replay command for a failing simulator test.

Enable it with ``-p hydrologic.sim.pytest_plugin`` or ``pytest_plugins = ["hydrologic.sim.pytest_plugin"]``
in a top-level conftest.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, cast

import pytest

from ..lang.builder import ClusterSizes, GraphBuilder
from . import _repro
from ._budget import DEFAULT_BUDGET, Budget
from ._engines import Progress, Scenario
from ._errors import SimulationFailure, StaleReproducerError
from ._sim import Sim, sim

__all__ = ["hl_sim", "ConfiguredSim", "StaleReproducerWarning"]


class StaleReproducerWarning(UserWarning):
    """A stored reproducer no longer fits the program; it was skipped (the message says why)."""


class ConfiguredSim(Sim):
    """A ``Sim`` with defaults from the pytest command line."""

    default_seed = 0
    default_iterations = 10_000
    default_workers = 1
    replay_token: str | None = None

    def _replayed(self, scenario: Scenario) -> bool:
        """Replay what the command line asks for, else the test's stored reproducers of this
        scenario; True if the call is done (a replay ran instead of the search)."""
        __tracebackhide__ = True
        tok = self.replay_token
        if tok and tok.endswith(".json") and Path(tok).is_file():
            rep = _repro.load(Path(tok))
            if rep.scenario != _repro.scenario_name(scenario):
                return False
            self.replay_reproducer(scenario, rep)
            return True
        if tok:
            self.replay(scenario, tok)
            return True
        folder = _repro.failures_dir(scenario)
        if folder is None:
            return False
        test = _repro.current_test()
        for rep in _repro.stored_for(folder, test[0] if test else None, _repro.scenario_name(scenario)):
            try:
                self.replay_reproducer(scenario, rep)
            except StaleReproducerError as e:
                warnings.warn(StaleReproducerWarning(str(e)), stacklevel=3)
        return False

    def exhaustive(
        self,
        scenario: Scenario,
        *,
        max_executions: int | None = None,
        max_seconds: float | None = None,
        progress: Progress | None = None,
        crashes: int | None = None,
        leaves: int | None = None,
        joins: int | None = None,
        states: bool = False,
        symmetric: Iterable[Any] = (),
        workers: int | None = None,
    ) -> int:
        __tracebackhide__ = True
        self._with_crashes(crashes, leaves, joins)
        if self._replayed(scenario):
            return 1
        return super().exhaustive(
            scenario, max_executions=max_executions, max_seconds=max_seconds, progress=progress, crashes=crashes, leaves=leaves, joins=joins,
            states=states, symmetric=symmetric, workers=self.default_workers if workers is None else workers,
        )

    def fuzz(
        self,
        scenario: Scenario,
        *,
        iterations: int | None = None,
        seed: int | None = None,
        time_limit: float | None = None,
        shrink: bool = True,
        progress: Progress | None = None,
        crashes: int | None = None,
        guided: bool = False,
        leaves: int | None = None,
        joins: int | None = None,
        workers: int | None = None,
    ) -> int:
        self._with_crashes(crashes, leaves, joins)
        if self._replayed(scenario):
            return 1
        return super().fuzz(
            scenario,
            iterations=self.default_iterations if iterations is None else iterations,
            seed=self.default_seed if seed is None else seed,
            time_limit=time_limit,
            shrink=shrink,
            progress=progress,
            crashes=crashes,
            guided=guided,
            leaves=leaves,
            joins=joins,
            workers=self.default_workers if workers is None else workers,
        )

    def hypothesis(self, scenario: Scenario, *, max_examples: int = 1_000, seed: int | None = None) -> int:
        if self._replayed(scenario):
            return 1
        return super().hypothesis(scenario, max_examples=max_examples, seed=self.default_seed if seed is None else seed)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hl_sim_budget(seconds=None, executions=None): the budget of this test's exhaustive simulator searches "
        "(default 60 s and 1,000,000 executions)",
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hydrologic", "hydrologic simulator")
    group.addoption("--hl-sim-seed", type=int, default=None, help="seed for sim.fuzz() calls that pass none")
    group.addoption("--hl-sim-iterations", type=int, default=None, help="iterations for sim.fuzz() calls that pass none")
    group.addoption("--hl-sim-replay", default=None, help="replay this token (or reproducer file) instead of searching")
    group.addoption(
        "--hl-sim-workers", type=int, default=None,
        help="processes for hl_sim exhaustive()/fuzz() calls that pass no workers= (forked; default 1)",
    )


SimFactory = Callable[..., ConfiguredSim]


@pytest.fixture
def hl_sim(request: pytest.FixtureRequest) -> SimFactory:
    """``hl_sim(flow, cluster_sizes=None, *, max_seconds=None, max_executions=None)``: a simulator
    configured from the command line, with the exhaustive budget of the ``hl_sim_budget`` marker
    (or the arguments)."""
    opts = request.config.option
    seed = getattr(opts, "hl_sim_seed", None)
    iterations = getattr(opts, "hl_sim_iterations", None)
    token = getattr(opts, "hl_sim_replay", None)
    workers = getattr(opts, "hl_sim_workers", None)
    # pytest types ``request.node`` loosely; the fixture is only ever requested by a test item.
    node = cast(pytest.Item, getattr(request, "node"))
    marker: pytest.Mark | None = node.get_closest_marker("hl_sim_budget")
    budget = DEFAULT_BUDGET
    if marker is not None:
        kw: dict[str, Any] = dict(marker.kwargs)
        budget = Budget(seconds=kw.get("seconds", budget.seconds), executions=kw.get("executions", budget.executions))

    def make(
        flow: GraphBuilder,
        cluster_sizes: ClusterSizes | None = None,
        *,
        max_seconds: float | None = None,
        max_executions: int | None = None,
    ) -> ConfiguredSim:
        base = sim(flow, cluster_sizes)
        s = ConfiguredSim.__new__(ConfiguredSim)
        s.__dict__.update(base.__dict__)
        s.budget = Budget(
            seconds=budget.seconds if max_seconds is None else max_seconds,
            executions=budget.executions if max_executions is None else max_executions,
        )
        if seed is not None:
            s.default_seed = seed
        if iterations is not None:
            s.default_iterations = iterations
        if workers is not None:
            s.default_workers = workers
        s.replay_token = token
        return s

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, None]:
    _repro.set_current_test((item.nodeid, Path(str(item.path)).resolve()))
    try:
        yield
    finally:
        _repro.set_current_test(None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo
    if exc is not None and isinstance(exc.value, SimulationFailure) and exc.value.token:
        saved = exc.value.reproducer
        report.sections.append(
            (
                "hydrologic sim",
                f"replay token: {exc.value.token}\n"
                + (f"reproducer file: {saved} (re-run first by every run of this test until deleted)\n" if saved else "")
                + f"re-run just this execution: pytest {item.nodeid} -p hydrologic.sim.pytest_plugin "
                f"--hl-sim-replay {exc.value.token}",
            )
        )
