"""A line server on a real socket, for the tests of async user functions.

``GET k`` answers ``value-of-k`` after a delay (longer for lower keys, so calls started together
complete out of order), ``PUT v`` records ``v`` and answers ``OK``, ``SUB`` streams three lines
and closes. It counts how many ``GET``s are in progress at once.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class LineServer:
    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.puts: list[str] = []
        self.gets = 0
        self.active = 0
        self.max_active = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    def __enter__(self) -> LineServer:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode().strip()
        cmd, _, arg = line.partition(" ")
        if cmd == "GET":
            self.gets += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            rank = int(arg) if arg.isdigit() else 0
            await asyncio.sleep(self.delay * (1 + 1 / (1 + rank)))
            self.active -= 1
            writer.write(f"value-of-{arg}\n".encode())
        elif cmd == "PUT":
            self.puts.append(arg)
            writer.write(b"OK\n")
        elif cmd == "SUB":
            for x in ("a", "b", "c"):
                writer.write(f"{x}\n".encode())
        await writer.drain()
        writer.close()
