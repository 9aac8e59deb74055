"""Programs whose user functions are async: they talk to a line server whose port is in the
environment variable ``HL_TEST_LINE_SERVER`` (started by tests/test_async_functions.py)."""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator

import hydrologic as hl


class Service: ...


class Client: ...


def _port() -> int:
    return int(os.environ["HL_TEST_LINE_SERVER"])


async def ask(line: str) -> str:
    """One request line to the server, one reply line back (a connection per call)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port())
    writer.write(line.encode() + b"\n")
    await writer.drain()
    reply = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return reply.decode().strip()


async def lookup(key: str) -> tuple[str, str]:
    return key, await ask(f"GET {key}")


async def store(value: str) -> None:
    assert await ask(f"PUT {value}") == "OK"


async def feed() -> AsyncIterator[str]:
    """Each line the server pushes after ``SUB``, until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port())
    writer.write(b"SUB\n")
    await writer.drain()
    while line := await reader.readline():
        yield line.decode().strip()
    writer.close()


def lookups(flow: hl.FlowBuilder) -> None:
    """Keys in, ``(key, value)`` out, at most 3 lookups in flight; ``feed`` lines out; every
    key is also written back with ``PUT``, in order."""
    svc = flow.process(Service)
    client = flow.external(Client)
    keys = svc.source_external(client, name="in", of=str, codec="json")
    keys.map(lookup).resolve_futures(max_in_flight=3).send_external(client, name="out", codec="json")
    keys.dest_sink(store)
    svc.source_stream(feed).send_external(client, name="feed", codec="json", ordered=True)
