"""The tutorial's second program: petitions, a service with no nondet site (docs/tutorial.md, step 6).

Any number of clients sign petitions at once, in no particular order, and may retry: a signature
``["trees", "ann"]`` on port ``sign`` can arrive twice. The service answers, never twice:

* ``receipts``: ``"ann signed trees"``, once per distinct signature;
* ``reached``: each petition once, as soon as ``GOAL`` different people have signed it;
* ``answers``: a petition asked about on port ``ask``, once it has reached its goal.

Every output is the same set on every run, whatever the order and the retries, so the program
promises ``flow.require(no_nondet=True)`` and ``build()`` checks it.
"""

from __future__ import annotations

from typing import Callable

import hydrologic as hl
from hydrologic import proof


class Server: ...


class Clients: ...


GOAL = 3  # different signers a petition needs

Signature = tuple[str, str]  # (petition, signer)
Signatures = hl.Stream[Signature, hl.Process[Server], hl.Unbounded, hl.NoOrder, hl.AtLeastOnce]
Asks = hl.Stream[str, hl.Process[Server], hl.Unbounded, hl.NoOrder, hl.AtLeastOnce]
Replies = hl.Stream[str, hl.Process[Server], hl.Unbounded, hl.NoOrder, hl.ExactlyOnce]


def add_signer(signers: frozenset[str], signer: str) -> frozenset[str]:
    return signers | {signer}


def petitions(signatures: Signatures, asks: Asks) -> tuple[Replies, Replies, Replies]:
    """The whole service: receipts, petitions that reached the goal, answers to asks."""
    # 1. a reply computed from the request alone; unique() drops retries
    receipts = signatures.unique().map(lambda s: f"{s[1]} signed {s[0]}")
    # 2. state: each petition's signers, folded with proofs that order and retries do not matter
    signers = signatures.into_keyed().fold(
        frozenset,
        add_signer,
        commutative=proof("a set union does not depend on the order signatures arrive in"),
        idempotent=proof("adding a signer who already signed changes nothing"),
    )
    # 3. a threshold read: "has GOAL signers" never becomes false again, so no snapshot is needed
    reached = signers.entries().filter(lambda e: len(e[1]) >= GOAL).map(lambda e: e[0]).unique()
    # 4. a query on that monotone fact: answered once the answer is yes
    asked = asks.unique().map(lambda p: (p, None))
    answers = asked.join(reached.map(lambda p: (p, None))).map(lambda e: f"{e[0]} reached {GOAL} signatures")
    return receipts, reached, answers


def as_signature(raw: list[str]) -> Signature:
    petition, signer = raw  # JSON carries a pair as a list
    return (petition, signer)


def build(flow: hl.FlowBuilder) -> None:
    flow.require(no_nondet=True)
    server, clients = flow.process(Server), flow.external(Clients)
    sign = server.source_external(clients, name="sign", of=list[str], order=hl.NoOrder, retries=hl.AtLeastOnce, codec="json")
    ask = server.source_external(clients, name="ask", of=str, order=hl.NoOrder, retries=hl.AtLeastOnce, codec="json")
    receipts, reached, answers = petitions(sign.map(as_signature), ask)
    receipts.send_external(clients, name="receipts", delivery="at_most_once", codec="json")
    reached.send_external(clients, name="reached", delivery="at_most_once", codec="json")
    answers.send_external(clients, name="answers", delivery="at_most_once", codec="json")


def scenario(flow: hl.FlowBuilder) -> Callable[[], None]:
    flow.require(no_nondet=True)
    server = flow.process(Server)
    sign_in, signed = server.sim_input(Signature)
    ask_in, asked = server.sim_input(str)
    receipts, reached, answers = petitions(
        signed.weaken_ordering().weaken_retries(), asked.weaken_ordering().weaken_retries()
    )
    receipts_out, reached_out, answers_out = receipts.sim_output(), reached.sim_output(), answers.sim_output()

    def run() -> None:
        ask_in.send("trees")
        sign_in.send_many([("trees", "ann"), ("bikes", "bo"), ("trees", "cy"), ("trees", "ann")])  # ann retried
        receipts_out.assert_yields_only(["ann signed trees", "bo signed bikes", "cy signed trees"])
        assert reached_out.collect() == [] and answers_out.collect() == []  # two signers so far
        sign_in.send(("trees", "dee"))
        reached_out.assert_yields_only(["trees"])
        answers_out.assert_yields_only(["trees reached 3 signatures"])

    return run
