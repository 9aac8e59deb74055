"""redis-cli and raw-socket helpers shared by the tests of the single-node store (test_redis_store.py) and the
replicated one (test_redis_replicated.py): both must answer the core commands the same way."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

needs_redis_cli = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli (Debian redis-tools) is not installed")


def cli(port: int, *args: str, stdin: str | None = None) -> str:
    """Run ``redis-cli -p port args...`` (or feed it ``stdin``, one command per line); its output."""
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args], input=stdin, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, f"redis-cli {' '.join(args)} exited with {out.returncode}: {out.stdout}{out.stderr}"
    return out.stdout.strip()


def assert_core_commands(port: int) -> None:
    """PING, SET (a value with a space), GET (present, missing), INCR (a number, not a number),
    EXISTS with several keys, DEL: the replies redis-cli prints for a real Redis."""
    assert cli(port, "PING") == "PONG"
    assert cli(port, "SET", "cli:greeting", "hello world") == "OK"
    assert cli(port, "GET", "cli:greeting") == "hello world"
    assert cli(port, "GET", "cli:missing") == ""
    assert cli(port, "SET", "cli:n", "41") == "OK" and cli(port, "INCR", "cli:n") == "42"
    assert cli(port, "INCR", "cli:greeting") == "ERR value is not an integer or out of range"
    assert cli(port, "EXISTS", "cli:n", "cli:greeting", "cli:none") == "2"
    assert cli(port, "DEL", "cli:n", "cli:none") == "1"


def raw(port: int, data: bytes, wait: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        return out
