"""Chat room: every connected client's messages are shown to every connected client.

    python examples/chat.py                            # deploy, then two demo clients chat
    python -m hydrologic run examples/chat.py:build    # serve until Ctrl-C

Clients write JSON objects ``{"user": "ada", "text": "hi"}`` (one per line) to the input port
``say``, any number of clients at once; every client connected to the output port ``room``
receives every message as ``[seq, user, text]``.

Messages from different clients race, so the ``say`` port is declared ``order=hl.NoOrder``:
the type says no order is promised, and everything downstream is checked against that. The
room numbers messages in the order it happens to receive them — the program's single nondet
site, stated once with its reason — and publishes that one numbered sequence to every client,
so all clients see the same conversation in the same order.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, NamedTuple

import hydrologic as hl
from hydrologic import ExactlyOnce, NoOrder, Process, Stream, TotalOrder, Unbounded, nondet


class Room: ...


class Client: ...


JSON_OBJECT: type[dict[str, Any]] = dict  # a plain type at run time, so the port can check it

Said = Stream[dict[str, Any], Process[Room], Unbounded, NoOrder, ExactlyOnce]
Shown = Stream[tuple[int, str, str], Process[Room], Unbounded, TotalOrder, ExactlyOnce]


def parse(message: dict[str, Any]) -> tuple[str, str] | None:
    """``(user, text)``, or None for a message without a string user and text (dropped:
    clients are untrusted, and a user function that raises would stop the room)."""
    user, text = message.get("user"), message.get("text")
    if isinstance(user, str) and isinstance(text, str) and user:
        return (user, text)
    return None


def chat(said: Said) -> Shown:
    """The service: number the room's messages; every client is shown the same sequence."""
    in_room_order = said.filter_map(parse).assume_ordering(
        nondet(
            "clients write concurrently, so no order of their messages is more right than another; "
            "the room numbers them in the order it received them and shows every client that one sequence"
        )
    )
    return in_room_order.enumerate().map(lambda im: (im[0], im[1][0], im[1][1]))


def build(flow: hl.FlowBuilder) -> None:
    room = flow.process(Room)
    clients = flow.external(Client)
    # of a dict type: the port itself rejects a line that is not a JSON object, with an error reply
    said = room.source_external(clients, name="say", of=JSON_OBJECT, order=NoOrder, codec="json")
    chat(said).send_external(clients, name="room", codec="json", ordered=True, delivery="exactly_once")


class SimPorts(NamedTuple):
    say: hl.SimInput[dict[str, Any]]
    room: hl.SimOutput[tuple[int, str, str]]


def build_sim(flow: hl.FlowBuilder) -> SimPorts:
    """The same service with simulator ports (send with ``say.send_many_unordered``)."""
    room = flow.process(Room)
    say, said = room.sim_input(dict[str, Any])
    return SimPorts(say, chat(said.weaken_ordering()).sim_output())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args(argv)
    script = {"ada": ["hi all", "anyone here?"], "bob": ["hello ada", "bye"]}
    n = sum(map(len, script.values()))
    with hl.deploy.Localhost(log=lambda _line: None).start(f"{os.path.abspath(__file__)}:build") as d:
        with d.output("room") as ada_view, d.output("room") as bob_view:
            time.sleep(0.2)  # both viewers are connected before anyone speaks
            with d.input("say") as ada, d.input("say") as bob:
                for user, client in (("ada", ada), ("bob", bob)):
                    client.send_many({"user": user, "text": t} for t in script[user])
                seen_by_ada = ada_view.take(n, timeout=30)
                seen_by_bob = bob_view.take(n, timeout=30)
    for seq, user, text in seen_by_ada:
        print(f"#{seq} <{user}> {text}")
    print("both clients saw the same conversation:", seen_by_ada == seen_by_bob)
    return 0 if seen_by_ada == seen_by_bob else 1


if __name__ == "__main__":
    sys.exit(main())
