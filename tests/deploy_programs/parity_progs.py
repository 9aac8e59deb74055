"""Programs for tests/test_parity_deploy.py: the Hydro-parity keyed operators over real processes."""

from __future__ import annotations

import hydrologic as hl


class Leader: ...


class Workers: ...


class Client: ...


def _step(seen: int, x: int) -> tuple[int, hl.Generate[int]]:
    # yield values until one ending in 6, which is the last (what follows it is ignored)
    return seen + 1, (hl.Return(x) if x % 10 == 6 else hl.Yield(x))


def keyed_algebra(flow: hl.FlowBuilder) -> None:
    """Each member sends 5, 6, 7 (plus 10 x its id); the leader numbers and cuts each sender's values."""
    leader = flow.process(Leader)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    member = workers.self_id()
    sent = workers.source_iter([5, 6, 7]).cross_singleton(member).map(lambda p: p[0] + 10 * p[1].raw_id)
    by_sender = sent.send(leader)  # keyed by sender, ordered per sender
    numbered = by_sender.enumerate().map_with_key(lambda kv: (kv[0].raw_id, kv[1][0], kv[1][1]))
    numbered.values().send_external(client, name="numbered", codec="json")
    cut = by_sender.generator(lambda: 0, _step).map_with_key(lambda kv: (kv[0].raw_id, kv[1]))
    cut.values().send_external(client, name="cut", codec="json")
    totals = by_sender.fold_early_stop(lambda: 0, lambda acc, x: (acc + x, x % 10 == 6))
    totals.entries().map(lambda kv: (kv[0].raw_id, kv[1])).send_external(client, name="totals", codec="json")
