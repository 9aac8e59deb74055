"""examples/echo.py: simulator (one behaviour) and a deployed end-to-end run."""

from __future__ import annotations

import pytest

import hydrologic as hl
from examples_support import Deploy, deploy, load_example

__all__ = ["deploy"]  # the fixture, imported for pytest

echo = load_example("echo")


def test_echo_builds_without_nondet_sites() -> None:
    flow = hl.FlowBuilder()
    echo.build(flow)
    flow.build()
    assert flow.nondet_sites() == []


def test_echo_has_exactly_one_behaviour_in_the_simulator() -> None:
    flow = hl.FlowBuilder()
    ports = echo.build_sim(flow)

    def scenario() -> None:
        ports.lines.send_many(["hello", "World", ""])
        ports.replies.assert_yields_only(["HELLO", "WORLD", ""])

    assert flow.sim().exhaustive(scenario) == 1


@pytest.mark.timeout(60)
def test_echo_deployed(deploy: Deploy) -> None:
    d = deploy("echo")
    with d.output("out") as out, d.input("in") as inp:
        inp.send_many(["hello", "wörld"])
        assert out.take(2, timeout=20) == ["HELLO", "WÖRLD"]
        inp.send(42)  # not a str: rejected with an error reply, the server keeps serving
        assert "expected a value of type str" in inp.errors(timeout=10)[0]
        inp.send("again")
        assert out.take(1, timeout=20) == ["AGAIN"]
