"""Shared helpers for tests/test_examples_*.py: load an example by path, deploy it safely.

Examples live in ``examples/`` (not a package), so tests load them by file path. Deployments
started through the ``deploy`` fixture are stopped at teardown, even when the test fails or
times out, and the teardown checks that no child process survived.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import pytest

from hydrologic.deploy import LocalDeployment, Localhost

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

Deploy = Callable[..., LocalDeployment]


def example_path(name: str) -> str:
    return str(EXAMPLES / f"{name}.py")


def load_example(name: str) -> ModuleType:
    """The module ``examples/<name>.py``, imported once (its location tags stay the same objects)."""
    key = f"_hydrologic_example_{name}"
    mod = sys.modules.get(key)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(key, example_path(name))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[key] = mod
    spec.loader.exec_module(mod)
    return mod


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def deploy() -> Iterator[Deploy]:
    """``deploy("echo", {"Workers": 3})`` starts ``examples/echo.py:build`` on Localhost.

    Every deployment started is stopped at teardown (also after a failure or a pytest-timeout
    interrupt), and no child may outlive it. Child logs are kept on ``d.logs`` for messages.
    """
    started: list[LocalDeployment] = []

    def go(name: str, sizes: dict[str, int] | None = None, **kw: Any) -> LocalDeployment:
        logs: list[str] = []
        d = Localhost(log=logs.append, **kw).start(f"{example_path(name)}:build", sizes)
        d.logs = logs  # type: ignore[attr-defined]
        started.append(d)
        return d

    yield go
    pids: list[int] = []
    for d in started:
        pids += list(d.pids().values())
        d.stop()
    survivors = [p for p in pids if alive(p)]
    assert not survivors, f"children survived stop(): {survivors}"
