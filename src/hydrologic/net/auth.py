"""The HMAC challenge every internal connection passes before any frame is accepted.

Each deployment has a random secret, given to its processes on stdin (never on the command
line, where ``ps`` would show it). A connection proves knowledge of the secret without
sending it, and both sides prove it, so a process outside the deployment can neither inject
messages nor pose as a receiver::

    server -> client   MAGIC (4 bytes "HLG1") + server nonce (32 bytes)
    client -> server   client nonce (32) + hello length (2, big-endian) + hello (JSON)
                       + HMAC-SHA256(secret, "hl-client" | server nonce | client nonce | hello)
    server -> client   HMAC-SHA256(secret, "hl-server" | client nonce | server nonce | hello)

The hello names the sender (location id, member, incarnation). Fresh nonces on both sides make
a recorded handshake useless for replay. Every read has a deadline and a size limit; any
failure raises ``AuthError`` and the caller closes the connection and logs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import struct
from typing import Any

from .errors import AuthError

__all__ = ["MAGIC", "HANDSHAKE_TIMEOUT", "server_handshake", "client_handshake", "new_secret"]

MAGIC = b"HLG1"
NONCE = 32
MAC = 32
MAX_HELLO = 4096
HANDSHAKE_TIMEOUT = 5.0
_LEN = struct.Struct(">H")


def new_secret() -> bytes:
    """A fresh 32-byte deployment secret."""
    return os.urandom(32)


def _mac(secret: bytes, label: bytes, *parts: bytes) -> bytes:
    return hmac.new(secret, label + b"".join(parts), hashlib.sha256).digest()


async def _read(reader: asyncio.StreamReader, n: int, what: str) -> bytes:
    try:
        return await reader.readexactly(n)
    except asyncio.IncompleteReadError:
        raise AuthError(f"connection closed during the handshake (while reading {what})") from None


async def server_handshake(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, secret: bytes, timeout: float = HANDSHAKE_TIMEOUT
) -> dict[str, Any]:
    """Challenge a connecting peer; returns its hello if it proved the secret."""
    nonce_s = os.urandom(NONCE)
    writer.write(MAGIC + nonce_s)

    async def run() -> dict[str, Any]:
        nonce_c = await _read(reader, NONCE, "the client nonce")
        (size,) = _LEN.unpack(await _read(reader, _LEN.size, "the hello length"))
        if size > MAX_HELLO:
            raise AuthError(f"hello of {size} bytes exceeds the limit {MAX_HELLO}")
        hello = await _read(reader, size, "the hello")
        mac = await _read(reader, MAC, "the client proof")
        if not hmac.compare_digest(mac, _mac(secret, b"hl-client", nonce_s, nonce_c, hello)):
            raise AuthError("wrong proof of the deployment secret")
        try:
            parsed: Any = json.loads(hello)
        except ValueError:
            raise AuthError("authenticated hello is not JSON") from None
        if not isinstance(parsed, dict):
            raise AuthError("authenticated hello is not a JSON object")
        writer.write(_mac(secret, b"hl-server", nonce_c, nonce_s, hello))
        await writer.drain()
        return parsed  # pyright: ignore[reportUnknownVariableType]

    try:
        return await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise AuthError(f"no valid handshake within {timeout:g}s") from None


async def client_handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    secret: bytes,
    hello: dict[str, Any],
    timeout: float = HANDSHAKE_TIMEOUT,
) -> None:
    """Answer a server's challenge and check its proof in return."""

    async def run() -> None:
        head = await _read(reader, len(MAGIC) + NONCE, "the server challenge")
        if head[: len(MAGIC)] != MAGIC:
            raise AuthError(f"peer is not a hydrologic endpoint (magic {head[:4]!r})")
        nonce_s = head[len(MAGIC) :]
        nonce_c = os.urandom(NONCE)
        body = json.dumps(hello, sort_keys=True).encode()
        writer.write(nonce_c + _LEN.pack(len(body)) + body + _mac(secret, b"hl-client", nonce_s, nonce_c, body))
        await writer.drain()
        proof = await _read(reader, MAC, "the server proof")
        if not hmac.compare_digest(proof, _mac(secret, b"hl-server", nonce_c, nonce_s, body)):
            raise AuthError("the server did not prove the deployment secret")

    try:
        await asyncio.wait_for(run(), timeout)
    except asyncio.TimeoutError:
        raise AuthError(f"no handshake reply within {timeout:g}s") from None
