"""A location process collects garbage less often than CPython's default (``deploy/gc_tuning.py``).

The settings are applied once the program is built, reported by the process's stats, and
``HYDROLOGIC_GC`` overrides them.
"""

from __future__ import annotations

import gc
import logging
import os
from typing import Iterator

import pytest

from hydrologic.deploy import Localhost
from hydrologic.deploy.gc_tuning import ENV, THRESHOLDS, tune_gc

PROGS = os.path.join(os.path.dirname(__file__), "deploy_programs", "progs.py")


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_by_default_the_program_is_frozen_and_young_collections_are_rarer(restore_gc: None) -> None:
    gc.unfreeze()
    assert tune_gc({}) == THRESHOLDS
    assert gc.get_threshold() == THRESHOLDS == (50_000, 20, 10)
    assert gc.get_freeze_count() > 0  # what existed when the program was built is out of every collection


def test_python_keeps_cpythons_defaults(restore_gc: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    assert tune_gc({ENV: "python"}) is None
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


def test_three_thresholds_are_taken_as_given(restore_gc: None) -> None:
    assert tune_gc({ENV: " 1000, 5,2 "}) == (1000, 5, 2)
    assert gc.get_threshold() == (1000, 5, 2)


@pytest.mark.parametrize("bad", ["many", "1,2", "0,1,1", "1,2,3,4", "1,-1,1"])
def test_a_malformed_setting_is_logged_and_the_defaults_are_used(bad: str, restore_gc: None, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hydrologic.deploy"):
        assert tune_gc({ENV: bad}) == THRESHOLDS
    assert gc.get_threshold() == THRESHOLDS
    assert any(ENV in r.getMessage() and repr(bad) in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("setting, expected", [(None, list(THRESHOLDS)), ("python", [700, 10, 10])])
def test_a_deployed_location_reports_the_settings_it_runs_with(setting: str | None, expected: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    if setting is None:
        monkeypatch.delenv(ENV, raising=False)
    else:
        monkeypatch.setenv(ENV, setting)
    logs: list[str] = []
    with Localhost(log=logs.append).start(f"{PROGS}:faults", {"Workers": 2}) as d:
        stats = d.stats("Leader")["gc"]
    assert stats["thresholds"] == expected
    assert (stats["frozen"] > 0) == (setting is None)
    assert len(stats["collections"]) == 3
