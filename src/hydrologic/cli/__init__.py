"""Command-line tools: each subcommand is a module with ``main(argv) -> int``.

``python -m hydrologic <command>`` and the ``hydrologic`` console script dispatch here.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Callable, cast

__all__ = ["COMMANDS", "main"]

# command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("hydrologic.cli.run", "run a program on local processes or Ray: run prog.py:build [--cluster NAME=N] [--ray ADDRESS]"),
    "status": ("hydrologic.cli.status", "where each instance of the programs on a Ray cluster runs: status --ray ADDRESS"),
    "sim": ("hydrologic.cli.sim", "explore a simulator scenario: sim prog.py:scenario"),
    "check": ("hydrologic.cli.check", "build a program and report its guarantees, nondet sites and errors"),
    "explain": ("hydrologic.cli.explain", "explain an error code: explain HL101"),
    "graph": ("hydrologic.cli.graph", "draw a program's dataflow graph"),
    # --- cluster membership
    "scale": ("hydrologic.cli.scale", "add or remove cluster members of a running `hydrologic run`: scale prog.py:build NAME=N"),
}


def _usage() -> str:
    lines = ["usage: hydrologic <command> [args]", "", "commands:"]
    lines += [f"  {name:8} {help_}" for name, (_, help_) in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0
    entry = COMMANDS.get(args[0])
    if entry is None:
        print(f"[hydrologic] unknown command {args[0]!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(entry[0])
    except ModuleNotFoundError as e:
        if e.name != entry[0]:
            raise
        print(f"[hydrologic] the `{args[0]}` command is not available in this version", file=sys.stderr)
        return 2
    run = cast(Callable[[list[str]], int], getattr(module, "main"))
    try:
        code = run(args[1:])
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:
        # The reader went away (`hydrologic explain HL101 | head -1`): stop quietly, as Unix tools
        # do. Point stdout at /dev/null so the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the closed pipe
