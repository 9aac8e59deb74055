"""Programs deployed by bench_restart.py (addressed as bench/restart_programs.py:NAME)."""

from __future__ import annotations

from typing import Any

import hydrologic as hl
from hydrologic import MemberId


class Front: ...


class Workers: ...


class Client: ...


def to_member(pair: tuple[list[Any], tuple[MemberId[Workers], ...]]) -> tuple[MemberId[Workers], list[Any]]:
    """``[member, payload]`` addressed to that member of ``Workers``."""
    request, members = pair
    return (members[int(request[0]) % len(members)], request)


def relay(flow: hl.FlowBuilder) -> None:
    """An echo through a cluster: the client sends ``[member, payload]`` to the Front process,
    which forwards it to that member of Workers; the member sends it back upper-cased, and the
    Front publishes it. Killing Front is a process restart (every client connection breaks);
    killing a member is a cluster-member restart (the Front's channels to it break)."""
    front = flow.process(Front)
    workers = flow.cluster(Workers)
    client = flow.external(Client)
    requests = front.source_external(client, name="in", of=list[Any], codec="json")
    at_worker = requests.cross_singleton(front.cluster_members(workers)).map(to_member).demux(workers)
    replies = at_worker.map(lambda r: [r[0], str(r[1]).upper()]).send(front).values()
    replies.send_external(client, name="out", codec="json")
