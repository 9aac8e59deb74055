"""examples/chat.py: every order the room may pick, and real clients over real processes."""

from __future__ import annotations

import itertools
import time

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example

__all__ = ["deploy"]

chat = load_example("chat")


def test_chat_nondet_site_is_the_room_order() -> None:
    flow = hl.FlowBuilder()
    chat.build(flow)
    flow.build()
    [site] = flow.nondet_sites()
    assert "numbers them in the order it received them" in site.reason


def test_chat_explores_every_room_order_and_numbers_each_message_once() -> None:
    flow = hl.FlowBuilder()
    ports = chat.build_sim(flow)
    said = [
        {"user": "ada", "text": "hi"},
        {"user": "bob", "text": "yo"},
        {"text": "no user: dropped"},
        {"user": "cy", "text": "hey"},
    ]
    orders: set[tuple[tuple[str, str], ...]] = set()

    def scenario() -> None:
        ports.say.send_many_unordered(said)
        shown = [ports.room.next() for _ in range(3)]
        ports.room.assert_no_more()
        assert [seq for seq, _, _ in shown] == [0, 1, 2]  # contiguous, from 0
        orders.add(tuple((u, t) for _, u, t in shown))

    runs = flow.sim().exhaustive(scenario)
    valid = [("ada", "hi"), ("bob", "yo"), ("cy", "hey")]
    assert orders == set(itertools.permutations(valid))  # every order, each message exactly once
    assert runs == 6, runs


def test_chat_later_messages_are_numbered_after_earlier_ones() -> None:
    flow = hl.FlowBuilder()
    ports = chat.build_sim(flow)
    seen: set[tuple[int, str, str]] = set()

    def scenario() -> None:
        ports.say.send_many_unordered([{"user": "a", "text": "1"}, {"user": "b", "text": "2"}])
        first = {ports.room.next(), ports.room.next()}
        ports.say.send({"user": "c", "text": "3"})
        assert ports.room.next() == (2, "c", "3")
        seen.update(first)

    assert flow.sim().exhaustive(scenario) == 2
    assert seen == {(0, "a", "1"), (1, "b", "2"), (0, "b", "2"), (1, "a", "1")}


@pytest.mark.timeout(60)
def test_chat_deployed_every_client_sees_the_same_conversation(deploy: Deploy) -> None:
    d = deploy("chat")
    with d.output("room") as view1, d.output("room") as view2:
        time.sleep(0.3)  # both viewers connected before anyone speaks
        with d.input("say") as ada, d.input("say") as bob:
            ada.send_many([{"user": "ada", "text": f"a{i}"} for i in range(20)])
            bob.send_many([{"user": "bob", "text": f"b{i}"} for i in range(20)])
            bob.send("not an object")  # rejected at the port with an error reply; the room keeps going
            assert "expected a value of type dict" in bob.errors(timeout=10)[0]
            got1 = view1.take(40, timeout=20)
            got2 = view2.take(40, timeout=20)
    assert got1 == got2  # one sequence, shown to everyone
    assert [seq for seq, _, _ in got1] == list(range(40))
    assert sorted(text for _, _, text in got1) == sorted([f"a{i}" for i in range(20)] + [f"b{i}" for i in range(20)])
