"""A new incarnation of a peer whose old connection never closed (its machine hung or was cut off,
and the supervisor declared it dead) must be admitted, and the old connection dropped unheard.

Without ``InternalServer.supersede`` the receiver refused the new incarnation as "already
connected" for as long as the frozen process kept its socket open, so the restarted instance's
channels to it never came up (seen on Ray with a frozen node: tests/test_deploy_ray_node_loss.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from hydrologic.net.auth import new_secret
from hydrologic.net.channel import InternalServer, OutLink


class NewestIncarnationWins:
    """Admits one connection per sender; a newer incarnation supersedes the open one (as
    ``LocationNode.accept`` does), the same or an older one is refused."""

    def __init__(self) -> None:
        self.server: InternalServer | None = None
        self.connected: dict[Any, int] = {}
        self.frames: list[tuple[Any, bytes]] = []
        self.closed: list[Any] = []
        self.refused: list[int] = []

    def accept(self, hello: dict[str, Any]) -> tuple[Any, str | None]:
        key, inc = (hello["loc"], hello["member"]), int(hello["incarnation"])
        if key in self.connected:
            if inc <= self.connected[key]:
                self.refused.append(inc)
                return None, "already connected"
            assert self.server is not None
            assert self.server.supersede(key)
        self.connected[key] = inc
        return key, None

    def on_frame(self, key: Any, payload: bytes) -> None:
        self.frames.append((key, payload))

    def on_closed(self, key: Any, why: str) -> None:
        self.closed.append(key)
        self.connected.pop(key, None)

    async def gate(self) -> None:
        return None


async def _until(cond: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_newer_incarnation_supersedes_an_open_connection_and_the_old_one_is_not_heard() -> None:
    secret = new_secret()

    async def main() -> NewestIncarnationWins:
        h = NewestIncarnationWins()
        server = InternalServer(secret, h)
        h.server = server
        port = await server.start("127.0.0.1")
        hello = {"loc": 1, "member": 0}
        old = OutLink("w", ("127.0.0.1", port), secret, {**hello, "incarnation": "0"})
        assert await old.connect(attempts=3)
        old.send(b"old-1")
        await _until(lambda: len(h.frames) == 1)
        # The same incarnation again (a duplicate) is still refused while the first is open.
        dup = OutLink("w", ("127.0.0.1", port), secret, {**hello, "incarnation": "0"})
        assert await dup.connect(attempts=1)  # the handshake passes; the handler then refuses it
        await _until(lambda: h.refused == [0])
        await dup.close()
        # The old incarnation never closes its socket (frozen); a new one comes.
        new = OutLink("w", ("127.0.0.1", port), secret, {**hello, "incarnation": "1"})
        assert await new.connect(attempts=3)
        new.send(b"new-1")
        await _until(lambda: (hello["loc"], 0) in h.connected and h.connected[(1, 0)] == 1 and len(h.frames) == 2)
        old.send(b"old-2")  # whatever the old connection still manages to send is not delivered
        new.send(b"new-2")
        await _until(lambda: len(h.frames) >= 3)
        await asyncio.sleep(0.2)
        await old.close()
        await new.close()
        await server.close()
        return h

    h = asyncio.run(main())
    assert [p for _, p in h.frames] == [b"old-1", b"new-1", b"new-2"]
    # Only the new connection's end is reported: superseding the old one reported nothing.
    assert h.closed == [(1, 0)]
