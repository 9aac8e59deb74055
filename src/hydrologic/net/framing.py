"""Length-prefixed frames: a 4-byte big-endian length, then that many bytes of payload.

This is Hydro's wire format (``LengthDelimitedCodec``): no sender tag on the wire, because each
sender has its own connection. The length limit is checked *before* reading the payload, so a
peer announcing a 4 GiB frame costs us four bytes, not four gigabytes.
"""

from __future__ import annotations

import asyncio
import struct

from .errors import FrameError

__all__ = ["HEADER", "MAX_FRAME", "close_writer", "pack_frame", "read_frame", "write_frame"]

HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
"""Default largest payload accepted (64 MiB). Senders split batches well below it."""


async def close_writer(writer: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Close ``writer`` and wait until its transport is closed.

    Waiting also retrieves how the connection ended: a peer that reset it (a client exiting
    with unread data, a killed process) leaves a ``ConnectionResetError`` in the stream's
    closed-future, and a future nobody awaits is reported at exit as "Future exception was
    never retrieved" (depending on garbage-collection order, so only in some runs).
    """
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), timeout)
    except (OSError, RuntimeError, asyncio.TimeoutError):
        pass


def pack_frame(payload: bytes) -> bytes:
    """Header and payload as one bytes object (for small frames and tests)."""
    return HEADER.pack(len(payload)) + payload


def write_frame(writer: asyncio.StreamWriter | asyncio.WriteTransport, payload: bytes) -> None:
    """Queue one frame on ``writer`` without copying the payload."""
    writer.writelines((HEADER.pack(len(payload)), payload))


async def read_frame(reader: asyncio.StreamReader, max_size: int = MAX_FRAME) -> bytes | None:
    """The next frame's payload, or ``None`` on a clean end of stream between frames.

    Raises ``FrameError`` if the announced length exceeds ``max_size`` or the peer closes
    the connection in the middle of a frame.
    """
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise FrameError(f"connection closed inside a frame header ({len(e.partial)} of 4 bytes)") from None
    (size,) = HEADER.unpack(head)
    if size > max_size:
        raise FrameError(f"frame of {size} bytes announced, but the limit is {max_size} bytes")
    try:
        return await reader.readexactly(size)
    except asyncio.IncompleteReadError as e:
        raise FrameError(f"connection closed inside a frame ({len(e.partial)} of {size} bytes)") from None
