"""Programs for tests/test_sliced_deploy.py: threshold reads and sliced regions across processes."""

from __future__ import annotations

import hydrologic as hl
from hydrologic import nondet


class Voter: ...


class Tally: ...


class Client: ...


def quorum(flow: hl.FlowBuilder) -> None:
    """Voters send ballots to a tally over TCP; the tally announces once, when 3 ballots are in
    (a threshold read: no nondet), and a sliced region keeps a running total per batch."""
    voter, tally, client = flow.process(Voter), flow.process(Tally), flow.external(Client)
    ballots = voter.source_external(client, name="ballots", of=str)
    received = ballots.send(tally)
    received.count().threshold_greater_or_equal(tally.singleton(3)).send_external(
        client, name="quorum", ordered=True, delivery="exactly_once"
    )
    with hl.sliced(tally) as s:
        batch = s.batch(received, nondet("sum whatever ballots arrived"))
        seen = s.state(lambda tick: tick.singleton(0))
        now = seen.value.zip(batch.count()).map(lambda p: p[0] + p[1])
        seen.set(now)
        totals = s.unslice(batch.count().filter(lambda n: n > 0).zip(now).into_stream())
    totals.map(lambda p: p[1]).send_external(client, name="totals", ordered=True, delivery="exactly_once")
