"""The Redis-protocol key-value store (examples/redis_store.py, hydrologic.std.kv).

* the state machine ``apply_command`` on its own (a plain function);
* the simulator: read-after-write and per-client reply order under every explored schedule;
* deployed as a real process, driven by ``redis-cli`` (Debian's redis-tools), by the ``redis``
  Python client, and by raw sockets (malformed and oversized requests, many concurrent clients);
* ``python -m hydrologic run examples/redis_store.py:build`` prints its port and serves.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from redis_cli_support import assert_core_commands, cli, needs_redis_cli, raw

import hydrologic as hl
from hydrologic.deploy import LocalDeployment, Localhost
from hydrologic.net.resp import PARSER_ENV, RespError, fast_parser_available
from hydrologic.std.kv import apply_command, apply_commands, is_write

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = str(ROOT / "examples" / "redis_store.py")
sys.path.insert(0, str(ROOT / "examples"))

import redis_store  # noqa: E402


def c(*words: str) -> list[bytes]:
    return [w.encode() for w in words]


# ---- the state machine ------------------------------------------------------------------------


def test_basic_commands() -> None:
    s: dict[bytes, bytes] = {}
    assert apply_commands(
        s,
        [c("SET", "a", "1"), c("GET", "a"), c("get", "missing"), c("EXISTS", "a", "a", "b"), c("INCR", "a"),
         c("INCR", "n"), c("DECRBY", "n", "5"), c("DEL", "a", "b"), c("EXISTS", "a"), c("PING"), c("PING", "hi"),
         c("MSET", "x", "1", "y", "2"), c("MGET", "x", "nope", "y"), c("APPEND", "x", "23"), c("STRLEN", "x"),
         c("DBSIZE")],
    ) == ["OK", b"1", None, 2, 2, 1, -4, 1, 0, "PONG", b"hi", "OK", [b"1", None, b"2"], 3, 3, 3]


def test_set_options() -> None:
    s: dict[bytes, bytes] = {}
    assert apply_command(s, c("SET", "k", "v", "XX")) is None
    assert apply_command(s, c("SET", "k", "v", "NX")) == "OK"
    assert apply_command(s, c("SET", "k", "w", "NX", "GET")) == b"v"
    assert apply_command(s, c("SET", "k", "w", "GET")) == b"v" and s[b"k"] == b"w"
    assert apply_command(s, c("SET", "k", "w", "NX", "XX")) == RespError("ERR syntax error")
    assert "not supported" in apply_command(s, c("SET", "k", "w", "EX", "10")).message


def test_errors_use_redis_wording() -> None:
    s = {b"text": b"hello", b"big": b"9223372036854775807"}
    assert apply_command(s, c("FOO", "a", "b")) == RespError("ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    assert apply_command(s, c("GET")) == RespError("ERR wrong number of arguments for 'get' command")
    assert apply_command(s, c("incr", "x", "y")) == RespError("ERR wrong number of arguments for 'incr' command")
    assert apply_command(s, c("INCR", "text")) == RespError("ERR value is not an integer or out of range")
    assert apply_command(s, c("INCRBY", "n", "1.5")) == RespError("ERR value is not an integer or out of range")
    assert apply_command(s, c("INCR", "big")) == RespError("ERR increment or decrement would overflow")
    for bad in ("+1", " 1", "01", "-0", ""):
        assert apply_command({b"k": bad.encode()}, c("INCR", "k")) == RespError("ERR value is not an integer or out of range")
    assert isinstance(apply_command(s, []), RespError)  # never an exception
    assert isinstance(apply_command(s, ["GET"]), RespError)  # type: ignore[list-item]


def test_what_clients_send_on_connect() -> None:
    s: dict[bytes, bytes] = {}
    assert apply_command(s, c("CONFIG", "GET", "save")) == [b"save", b""]
    assert apply_command(s, c("CONFIG", "GET", "appendonly")) == [b"appendonly", b"no"]
    assert apply_command(s, c("CONFIG", "GET", "*max*")) == [b"maxmemory", b"0"]
    assert apply_command(s, c("COMMAND", "DOCS")) == [] and apply_command(s, c("COMMAND")) == []
    assert apply_command(s, c("CLIENT", "SETINFO", "LIB-NAME", "redis-py")) == "OK"
    assert apply_command(s, c("SELECT", "0")) == "OK" and isinstance(apply_command(s, c("SELECT", "1")), RespError)
    assert is_write(c("set", "a", "b")) and not is_write(c("GET", "a"))


# ---- the simulator ----------------------------------------------------------------------------


def _store_with_port() -> tuple[hl.FlowBuilder, hl.ExternalBidi[Any]]:
    flow = hl.FlowBuilder()
    port = redis_store.store(flow.process(redis_store.Server), flow.external(redis_store.RedisClient))
    return flow, port


def test_read_after_write_under_every_schedule() -> None:
    """A SET acknowledged to one client is visible to a GET another client sends afterwards,
    whatever the concurrent traffic of a third client and however ticks are batched."""
    flow, port = _store_with_port()
    w, r, noise = port.client(1), port.client(2), port.client(3)

    def scenario() -> None:
        noise.send_many([c("SET", "k", "noise"), c("SET", "other", "x")])
        w.send(c("SET", "k", "v1"))
        w.assert_yields(["OK"])
        w.send(c("SET", "k", "v2"))
        w.assert_yields(["OK"])
        r.send(c("GET", "k"))
        got = r.next()
        # v2 was acknowledged before the GET was sent, so the GET cannot see v1 or nothing; only
        # the noise client, whose commands are concurrent with everything, may have overwritten it.
        assert got in (b"v2", b"noise"), got
        noise.assert_yields(["OK", "OK"])

    runs = flow.sim().exhaustive(scenario)
    assert runs > 10


def test_no_stale_read_after_acknowledged_write() -> None:
    flow, port = _store_with_port()
    w, r = port.client(1), port.client(2)

    def scenario() -> None:
        w.send_many([c("SET", "a", "1"), c("INCR", "a")])
        w.assert_yields(["OK", 2])
        r.send_many([c("GET", "a"), c("INCR", "a")])
        r.assert_yields([b"2", 3])
        w.send(c("GET", "a"))
        w.assert_yields([b"3"])

    assert flow.sim().exhaustive(scenario) >= 1


def test_replies_come_in_request_order_per_client_and_increments_linearize() -> None:
    flow, port = _store_with_port()
    a, b = port.client(1), port.client(2)
    outcomes: set[tuple[Any, ...]] = set()

    def scenario() -> None:
        a.send_many([c("INCR", "n"), c("SET", "a", "x"), c("INCR", "n"), c("GET", "a")])
        b.send_many([c("INCR", "n"), c("GET", "a"), c("INCR", "n")])
        ra = [a.next() for _ in range(4)]
        rb = [b.next() for _ in range(3)]
        # each client's replies are in its request order ...
        assert ra[1] == "OK" and ra[3] == b"x" and ra[0] < ra[2]
        assert rb[0] < rb[2] and rb[1] in (None, b"x")
        # ... and together the increments are one sequence 1..4 (a linearization)
        assert sorted([ra[0], ra[2], rb[0], rb[2]]) == [1, 2, 3, 4]
        outcomes.add((tuple(ra), tuple(rb)))

    runs = flow.sim().exhaustive(scenario)
    assert runs > 1 and len(outcomes) > 1  # several interleavings were really explored


def test_unknown_and_malformed_commands_in_process() -> None:
    flow, _ = _store_with_port()
    with flow.run_in_process() as run:
        run.external_send("redis", [c("NOPE"), [b"GET"], ["not bytes"], c("PING")], client=1)
        got = run.external_collect("redis", client=1)
        assert got[0] == RespError("ERR unknown command 'NOPE', with args beginning with: ")
        assert got[1] == RespError("ERR wrong number of arguments for 'get' command")
        assert isinstance(got[2], RespError) and got[3] == "PONG"


# ---- deployed ---------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["fast", "python"])
def store(request: pytest.FixtureRequest) -> Iterator[LocalDeployment]:
    """The store deployed with hiredis's C reader on its port, then with the pure-Python parser."""
    logs: list[str] = []
    saved = os.environ.get(PARSER_ENV)
    if request.param == "python":
        os.environ[PARSER_ENV] = "python"
    else:
        assert fast_parser_available(), "hiredis is part of the dev extra"
        os.environ.pop(PARSER_ENV, None)
    try:
        d = Localhost(log=logs.append).start(f"{EXAMPLE}:build")
    finally:
        if saved is None:
            os.environ.pop(PARSER_ENV, None)
        else:
            os.environ[PARSER_ENV] = saved
    d.logs = logs  # type: ignore[attr-defined]
    try:
        yield d
    finally:
        d.stop()


@needs_redis_cli
@pytest.mark.timeout(60)
def test_redis_cli(store: LocalDeployment) -> None:
    port = store.port("redis").port
    assert_core_commands(port)
    assert cli(port, "FOO", "bar") == "ERR unknown command 'FOO', with args beginning with: 'bar'"
    assert cli(port, "GET") == "ERR wrong number of arguments for 'get' command"
    # commands from stdin, one per line (as in scripts), and pipe mode (redis-cli --pipe)
    assert cli(port, stdin="SET cli:s 1\nINCR cli:s\nGET cli:s\n").split("\n") == ["OK", "2", "2"]
    proto = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'cli:p{i}')}\r\ncli:p{i}\r\n${len(str(i))}\r\n{i}\r\n" for i in range(500))
    piped = cli(port, "--pipe", stdin=proto)
    assert "errors: 0, replies: 500" in piped, piped
    assert cli(port, "GET", "cli:p499") == "499"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_python_client(store: LocalDeployment, protocol: int) -> None:
    """redis-py 8 speaks RESP3 by default (``HELLO 3``); both protocols work."""
    redis_mod = pytest.importorskip("redis")
    r = redis_mod.Redis(host="127.0.0.1", port=store.port("redis").port, socket_timeout=10, protocol=protocol)
    try:
        assert r.ping() is True
        assert r.set("py:a", "1") is True and r.get("py:a") == b"1"
        assert r.incr("py:a") == 2 and r.incr("py:a", 5) == 7
        assert r.exists("py:a", "py:nope") == 1 and r.delete("py:a", "py:nope") == 1 and r.get("py:a") is None
        assert r.set("py:nx", "x", nx=True) is True and r.set("py:nx", "y", nx=True) is None
        with pytest.raises(redis_mod.ResponseError, match="not an integer"):
            r.incr("py:nx")
        assert r.delete("py:nx") == 1
        with pytest.raises(redis_mod.ResponseError, match="unknown command 'FOO'"):
            r.execute_command("FOO", "x")
        pipe = r.pipeline(transaction=False)
        for i in range(200):
            pipe.set(f"py:p{i}", i).incr(f"py:p{i}").get(f"py:p{i}").get(f"py:none{i}")
        results = pipe.execute()
        assert results == [x for i in range(200) for x in (True, i + 1, str(i + 1).encode(), None)]
    finally:
        r.close()


@pytest.mark.timeout(60)
def test_many_concurrent_clients_each_get_their_own_replies(store: LocalDeployment) -> None:
    redis_mod = pytest.importorskip("redis")
    port = store.port("redis").port
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            r = redis_mod.Redis(host="127.0.0.1", port=port, socket_timeout=20)
            for j in range(40):
                assert r.set(f"cc:{i}", f"{i}-{j}") is True
                assert r.get(f"cc:{i}") == f"{i}-{j}".encode()  # read-your-writes on every client
                r.incr("cc:shared")
            r.close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(50)
    assert not errors, errors[:3]
    r = redis_mod.Redis(host="127.0.0.1", port=port)
    assert r.get("cc:shared") == b"1600"  # no increment lost
    r.close()


@pytest.mark.timeout(60)
def test_malformed_requests_get_an_error_and_the_server_keeps_serving(store: LocalDeployment) -> None:
    port = store.port("redis").port
    # inline commands (telnet style) work; a broken array ends the connection after its
    # earlier requests were answered
    assert raw(port, b'PING\r\nSET raw:k "a b"\r\nGET raw:k\r\n*2\r\n$3\r\nGET\r\n$xx\r\nPING\r\n') == (
        b"+PONG\r\n+OK\r\n$3\r\na b\r\n-ERR Protocol error: invalid bulk length\r\n"
    )
    assert raw(port, b"*1\r\n:5\r\n") == b"-ERR Protocol error: expected '$', got ':'\r\n"
    assert raw(port, b'GET "unbalanced\r\n') == b"-ERR Protocol error: unbalanced quotes in request\r\n"
    # a request over the size limit is refused before its payload is read
    assert raw(port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$999999999\r\n").startswith(b"-ERR Protocol error: invalid bulk length")
    assert raw(port, b"A" * 100_000).startswith(b"-ERR Protocol error: too big inline request")
    # garbage bytes
    assert raw(port, bytes(range(256)) * 4).startswith(b"-ERR")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
    assert any("Protocol error" in line for line in store.logs)  # type: ignore[attr-defined]


@pytest.mark.timeout(60)
def test_hydrologic_run_prints_the_port_and_serves() -> None:
    import redis

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hydrologic", "run", "examples/redis_store.py:build", "--duration", "30"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        port = None
        for _ in range(50):
            line = proc.stdout.readline()
            if "external bidi 'redis': resp at 127.0.0.1:" in line:
                port = int(line.rsplit(":", 1)[1])
                break
        assert port is not None
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=20)
        assert r.set("run:k", "v") is True and r.get("run:k") == b"v"
        r.close()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


@pytest.mark.timeout(60)
def test_demo_client() -> None:
    out = subprocess.run([sys.executable, EXAMPLE], capture_output=True, text=True, timeout=50, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "client b: GET greeting -> b'hello'" in out.stdout
    assert "b reads a's last acknowledged write: True" in out.stdout


# --- AUTH / requirepass: like redis-server --requirepass -----------------------------------------


def test_auth_in_the_state_machine_gates_every_command_per_client() -> None:
    from hydrologic.lang.bidi import ClientId
    from hydrologic.std.kv import AuthedStore, apply_authenticated

    s = AuthedStore()
    pw = b"s3cret"

    def run(cid: int, *words: str) -> Any:
        return apply_authenticated(s, (ClientId(cid), c(*words)), pw)

    assert run(1, "SET", "k", "v") == RespError("NOAUTH Authentication required.")
    assert s.store == {}  # the refused SET did nothing
    assert run(1, "AUTH", "wrong") == RespError("WRONGPASS invalid username-password pair or user is disabled.")
    assert run(1, "AUTH", "someone", "s3cret") == RespError("WRONGPASS invalid username-password pair or user is disabled.")
    assert run(1, "AUTH", "s3cret") == "OK"
    assert run(1, "SET", "k", "v") == "OK"
    assert run(2, "GET", "k") == RespError("NOAUTH Authentication required.")  # per connection
    assert run(2, "HELLO", "3").message.startswith("NOAUTH HELLO must be called with the client already authenticated")
    assert isinstance(run(2, "HELLO", "3", "AUTH", "default", "s3cret"), dict)
    assert run(2, "GET", "k") == b"v"
    assert run(3, "AUTH", "default", "s3cret") == "OK" and run(3, "GET", "k") == b"v"
    assert run(4, "AUTH") == RespError("ERR wrong number of arguments for 'auth' command")
    # Without a password everything runs, and AUTH <password> is Redis's configuration error.
    open_ = AuthedStore()
    assert apply_authenticated(open_, (ClientId(1), c("SET", "a", "1")), None) == "OK"
    assert apply_authenticated(open_, (ClientId(1), c("AUTH", "x")), None).message.startswith("ERR AUTH <password> called without any password")


@pytest.fixture
def locked_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDeployment]:
    monkeypatch.setenv("HL_REDIS_REQUIREPASS", "s3cret")  # the store's process rebuilds the program with it
    d = Localhost(log=lambda _: None).start(f"{EXAMPLE}:build")
    try:
        yield d
    finally:
        d.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_python_client_needs_the_password(locked_store: LocalDeployment, protocol: int) -> None:
    """Protocol 2 authenticates with AUTH, protocol 3 with HELLO 3 AUTH default <password>."""
    redis_mod = pytest.importorskip("redis")
    port = locked_store.port("redis").port
    anon = redis_mod.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=2)
    wrong = redis_mod.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=protocol, password="nope")
    good = redis_mod.Redis(host="127.0.0.1", port=port, socket_timeout=10, protocol=protocol, password="s3cret")
    try:
        with pytest.raises(redis_mod.AuthenticationError, match="Authentication required"):
            anon.set("auth:k", "x")
        with pytest.raises(redis_mod.AuthenticationError, match="invalid username-password pair"):
            wrong.get("auth:k")
        assert good.set("auth:k", "v") is True and good.get("auth:k") == b"v"
        with pytest.raises(redis_mod.AuthenticationError, match="Authentication required"):
            anon.get("auth:k")  # a second try of the same connection is still refused
    finally:
        for r in (anon, wrong, good):
            r.close()


@needs_redis_cli
@pytest.mark.timeout(60)
def test_redis_cli_gets_noauth_without_the_password(locked_store: LocalDeployment) -> None:
    port = locked_store.port("redis").port
    assert cli(port, "SET", "k", "v") == "NOAUTH Authentication required."
    assert cli(port, "--no-auth-warning", "-a", "s3cret", "SET", "k", "v") == "OK"
    assert cli(port, "--no-auth-warning", "-a", "s3cret", "GET", "k") == "v"
    bad = subprocess.run(
        ["redis-cli", "-p", str(port), "--no-auth-warning", "-a", "bad", "GET", "k"], capture_output=True, text=True, timeout=30
    )
    assert "WRONGPASS invalid username-password pair" in bad.stdout + bad.stderr  # redis-cli's AUTH warning, then NOAUTH
    assert "NOAUTH Authentication required." in bad.stdout


@pytest.mark.timeout(60)
def test_the_example_serves_with_requirepass() -> None:
    redis_mod = pytest.importorskip("redis")
    proc = subprocess.Popen(
        [sys.executable, EXAMPLE, "--requirepass", "pw1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "password required" in line, line
        port = int(line.split("127.0.0.1:")[1].split(",")[0])
        with pytest.raises(redis_mod.AuthenticationError):
            redis_mod.Redis(port=port, socket_timeout=10).get("k")
        assert redis_mod.Redis(port=port, password="pw1", socket_timeout=10).ping() is True
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
