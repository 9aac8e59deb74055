"""How a program's code reaches Ray actors on nodes that do not share the driver's file system.

Every actor rebuilds the program from its address, so the program's module and the local modules
it imports must be importable on every node. ``ship`` works out which folder holds them and hands
it to Ray as the actors' ``runtime_env`` ``working_dir``: Ray zips it once, stores it in the
cluster, and unpacks it on each node before the actor starts, as the actor's working directory
and first import path. The address the actors build is rewritten to be relative to that folder.

* ``path/to/prog.py:build``: the file's folder is shipped (its sibling modules are its local
  imports); the actors build ``prog.py:build`` inside it.
* ``pkg.mod:build``: the folder the top-level package was imported from is shipped, unless it is
  an installed package (under the interpreter's prefix or a ``site-packages``), which the nodes
  are expected to have installed themselves (``runtime_env={"pip": [...]}`` or the image).

The user's own ``runtime_env`` is merged in (``pip``, ``env_vars``, ``py_modules``, ...). A user
``working_dir`` wins: the program must then be inside it, and its address is made relative to it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..types.errors import UsageError

__all__ = ["ShippedCode", "ship", "upload", "DEFAULT_EXCLUDES"]

DEFAULT_EXCLUDES = [
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".tox",
    "node_modules",
    ".hydrologic-data",
]
"""Never shipped: virtual environments, version control, caches and durable state (Ray also
skips what the folder's ``.gitignore`` lists)."""


@dataclass
class ShippedCode:
    """What the actors get: the address they build and the ``runtime_env`` they start in."""

    address: str
    runtime_env: dict[str, Any] = field(default_factory=lambda: {})
    root: str | None = None
    """The local folder shipped as the working directory (None: nothing of ours is shipped)."""


def _installed(path: str) -> bool:
    """Is ``path`` part of an installed distribution (the nodes must install it themselves)?"""
    real = os.path.realpath(path)
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    parts = real.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts or any(
        real == p or real.startswith(p + os.sep) for p in prefixes
    )


def _module_root(module: str) -> str | None:
    """The import-path folder that ``module``'s top-level package or module was found in."""
    top = module.split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:  # a package: its folder's parent is on the path
        locations = list(spec.submodule_search_locations)
        return os.path.dirname(os.path.abspath(locations[0])) if locations else None
    if spec.origin and os.path.isfile(spec.origin):
        return os.path.dirname(os.path.abspath(spec.origin))
    return None


def ship(program: str, user_env: Mapping[str, Any] | None, *, enabled: bool = True) -> ShippedCode:
    """The address and ``runtime_env`` for the actors of ``program`` (``module:fn`` or ``file.py:fn``).

    ``enabled=False`` ships nothing: the nodes share the driver's file system (one machine, or a
    shared mount), the address stays absolute and a ``module:fn`` program finds its module through
    the driver's working directory on ``PYTHONPATH``.
    """
    env: dict[str, Any] = {k: v for k, v in (user_env or {}).items()}
    target, _, fn = program.rpartition(":")
    is_file = target.endswith(".py") or os.sep in target or "/" in target
    if not enabled:
        if is_file:
            return ShippedCode(f"{os.path.abspath(target)}:{fn}", env)
        search = [os.getcwd()] + [p for p in [os.environ.get("PYTHONPATH")] if p]
        env_vars: dict[str, str] = {"PYTHONPATH": os.pathsep.join(search), **dict(env.get("env_vars") or {})}
        return ShippedCode(program, {**env, "env_vars": env_vars})
    root = os.path.dirname(os.path.abspath(target)) if is_file else _module_root(target)
    if root is not None and not is_file and _installed(root):
        root = None  # an installed package: the nodes install it too
    given: list[Any] = list(env.get("excludes") or [])
    theirs = [str(e) for e in given]
    excludes = DEFAULT_EXCLUDES + [e for e in theirs if e not in DEFAULT_EXCLUDES]
    user_dir = env.get("working_dir")
    if user_dir is not None:
        if is_file and isinstance(user_dir, str) and os.path.isdir(user_dir):
            base, path = os.path.abspath(user_dir), os.path.abspath(target)
            if os.path.commonpath([base, path]) != base:
                raise UsageError(
                    "HL501",
                    f"the program file {path} is outside the runtime_env working_dir {base}, "
                    "so the Ray actors could not build it",
                    fix="Put the program inside that working_dir, or leave working_dir out: "
                    "the program's folder is then shipped by itself.",
                )
            return ShippedCode(f"{os.path.relpath(path, base)}:{fn}", {**env, "excludes": excludes}, base)
        address = f"{os.path.basename(target)}:{fn}" if is_file else program
        return ShippedCode(address, {**env, "excludes": excludes})
    if root is None:
        return ShippedCode(program, env)
    address = f"{os.path.basename(target)}:{fn}" if is_file else program
    return ShippedCode(address, {**env, "working_dir": root, "excludes": excludes}, root)


def upload(runtime_env: dict[str, Any]) -> dict[str, Any]:
    """``runtime_env`` with its local ``working_dir`` and ``py_modules`` uploaded to the cluster.

    Ray uploads local folders itself only for a job's ``runtime_env`` (``ray.init``); an actor's
    must name them by URI. This does what ``ray.init`` does for its job, with Ray's own functions,
    so code ships the same whether or not Ray was initialized before the deployment.
    """
    if "working_dir" not in runtime_env and "py_modules" not in runtime_env:
        return runtime_env
    from ..deploy.deployment import DeploymentError

    try:  # Any-typed: these are Ray internals, the ones ray.init itself calls
        py_modules: Any = importlib.import_module("ray._private.runtime_env.py_modules")
        working_dir: Any = importlib.import_module("ray._private.runtime_env.working_dir")
        worker: Any = importlib.import_module("ray._private.worker").global_worker
        scratch = str(worker.node.get_runtime_env_dir_path())
    except (ImportError, AttributeError) as e:  # pragma: no cover - a Ray version that moved them
        raise DeploymentError(
            f"this version of Ray does not let hydrologic ship the program's code ({e}); pass "
            "Ray(ship_code=False) and give the code to the nodes yourself (a shared folder, or "
            "runtime_env={'working_dir': ...} in your own ray.init)"
        ) from None
    gitignore = os.environ.get("RAY_RUNTIME_ENV_IGNORE_GITIGNORE", "0") != "1"
    env: dict[str, Any] = dict(runtime_env)
    try:
        env = py_modules.upload_py_modules_if_needed(env, include_gitignore=gitignore, scratch_dir=scratch)
        env = working_dir.upload_working_dir_if_needed(env, include_gitignore=gitignore, scratch_dir=scratch)
    except (OSError, ValueError) as e:
        raise DeploymentError(f"could not upload the program's code to the Ray cluster: {e}") from e
    env.pop("excludes", None)
    return env
