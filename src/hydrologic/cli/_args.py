"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["cluster_size", "placement_spec"]


def cluster_size(arg: str) -> tuple[str, int]:
    """``--cluster NAME=N``: the size of one cluster."""
    name, sep, n = arg.partition("=")
    if not sep or not name or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"expected NAME=N with N >= 1, got {arg!r}")
    return name, int(n)


def placement_spec(arg: str) -> tuple[str, dict[str, Any]]:
    """``--placement NAME=KEY=VALUE[,KEY=VALUE...]``: one location's ``hl.deploy.Placement`` arguments.

    Keys: ``strategy``, ``num_cpus``, ``num_gpus``, ``memory`` (bytes), ``timeout`` (seconds),
    ``label.NAME`` (a node label the members need) and ``resource.NAME`` (a custom resource).
    """
    name, sep, rest = arg.partition("=")
    example = "e.g. Workers=strategy=strict_spread,num_cpus=1,label.zone=a"
    if not sep or not name or not rest:
        raise argparse.ArgumentTypeError(f"expected NAME=KEY=VALUE[,KEY=VALUE...] ({example}), got {arg!r}")
    kwargs: dict[str, Any] = {}
    labels: dict[str, str] = {}
    resources: dict[str, float] = {}
    for item in rest.split(","):
        key, eq, value = item.partition("=")
        try:
            if not eq or not value:
                raise ValueError
            if key == "strategy":
                kwargs[key] = value
            elif key in ("num_cpus", "num_gpus", "timeout"):
                kwargs[key] = float(value)
            elif key == "memory":
                kwargs[key] = int(value)
            elif key.startswith("label.") and len(key) > 6:
                labels[key[6:]] = value
            elif key.startswith("resource.") and len(key) > 9:
                resources[key[9:]] = float(value)
            else:
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"in --placement {arg!r}: {item!r} is not KEY=VALUE with KEY one of strategy, num_cpus, "
                f"num_gpus, memory, timeout, label.NAME, resource.NAME ({example})"
            ) from None
    if labels:
        kwargs["label"] = labels
    if resources:
        kwargs["resources"] = resources
    return name, kwargs
