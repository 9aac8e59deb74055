"""Echo server: a client sends lines, the server sends them back upper-cased.

    python examples/echo.py hello world            # deploy on local processes, act as the client
    python -m hydrologic run examples/echo.py:build   # serve until Ctrl-C (JSON lines on "in"/"out")

The smallest complete program: one process, one External client, no nondet site — so it has
exactly one behaviour for any input (the simulator runs it once), and ``hydrologic check
--deny-nondet`` accepts it.

The service logic is a function over live collections (``echo``); ``build`` wires it to an
External client for deployment and ``build_sim`` to simulator ports for tests.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NamedTuple

import hydrologic as hl
from hydrologic import ExactlyOnce, Process, Stream, TotalOrder, Unbounded


class Server: ...


class Client: ...


Lines = Stream[str, Process[Server], Unbounded, TotalOrder, ExactlyOnce]


def echo(lines: Lines) -> Lines:
    """The service: every line, upper-cased, in the order it arrived."""
    return lines.map(lambda line: line.upper())


def build(flow: hl.FlowBuilder) -> None:
    server = flow.process(Server)
    client = flow.external(Client)
    lines = server.source_external(client, name="in", of=str, codec="json")
    echo(lines).send_external(client, name="out", codec="json", ordered=True, delivery="exactly_once")
    flow.require(no_nondet=True)


class SimPorts(NamedTuple):
    lines: hl.SimInput[str]
    replies: hl.SimOutput[str]


def build_sim(flow: hl.FlowBuilder) -> SimPorts:
    """The same service with simulator ports in place of the External client."""
    server = flow.process(Server)
    inp, lines = server.sim_input(str)
    flow.require(no_nondet=True)
    return SimPorts(inp, echo(lines).sim_output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lines", nargs="*", default=["hello", "hydro"])
    args = parser.parse_args(argv)
    sent: list[str] = args.lines
    with hl.deploy.Localhost(log=lambda _line: None).start(f"{os.path.abspath(__file__)}:build") as d:
        with d.output("out") as out, d.input("in") as inp:
            inp.send_many(sent)
            for line, reply in zip(sent, out.take(len(sent), timeout=30)):
                print(f"{line!r:>20} -> {reply!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
