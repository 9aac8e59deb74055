"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse

__all__ = ["cluster_size"]


def cluster_size(arg: str) -> tuple[str, int]:
    """``--cluster NAME=N``: the size of one cluster."""
    name, sep, n = arg.partition("=")
    if not sep or not name or not n.isdigit() or int(n) < 1:
        raise argparse.ArgumentTypeError(f"expected NAME=N with N >= 1, got {arg!r}")
    return name, int(n)
