"""Every example runs with one command: as a service (`python -m hydrologic run`) and as a
demo client that deploys it on local processes (`python examples/<name>.py`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from examples_support import ROOT, example_path

EXAMPLES = {
    # name: (cluster flags for `hydrologic run`, a line the demo client prints)
    "echo": ([], "'hello' -> 'HELLO'"),
    "chat": ([], "both clients saw the same conversation: True"),
    "partitioned_counter": (["--cluster", "Shards=3"], "every acknowledged increment was read back: True"),
    "map_reduce": (["--cluster", "Mappers=3"], "matches a sequential count: True"),
    "two_phase_commit": (["--cluster", "Participants=3"], "all agreeing with the coordinator: True"),
    "redis_store": ([], "b reads a's last acknowledged write: True"),
    "sharded_kv": (["--cluster", "Shards=2"], "every key was found at its new owner"),
    "redis_sharded": (["--cluster", "Shards=3"], "MGET {user1}.name {user1}.mail -> [b'{USER1}.NAME', b'{USER1}.MAIL']"),
    # the demo kills replica 0 (the first leader); these two are answered after the kill
    "redis_replicated": (["--cluster", "Replicas=3", "--cluster", "Acceptors=3"], "GET greeting -> b'hello'\nINCR visits -> 2\n"),
}

# demos that keep serving after their scripted part until Ctrl-C unless told otherwise
DEMO_FLAGS = {"redis_replicated": ["--once"]}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_serves_with_hydrologic_run(name: str) -> None:
    flags, _ = EXAMPLES[name]
    proc = subprocess.run(
        [sys.executable, "-m", "hydrologic", "run", f"{example_path(name)}:build", *flags, "--duration", "0.3"],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # each External port is announced: `input`/`output` ports, or `bidi` ones (the Redis stores)
    assert ("external input" in proc.stdout or "external bidi" in proc.stdout) and "running" in proc.stdout, proc.stdout


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_demo_client(name: str) -> None:
    _, expected = EXAMPLES[name]
    proc = subprocess.run(
        [sys.executable, example_path(name), *DEMO_FLAGS.get(name, [])], capture_output=True, text=True, timeout=50, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert expected in proc.stdout, proc.stdout


@pytest.mark.timeout(90)
def test_replicated_demo_keeps_serving_until_ctrl_c() -> None:
    import redis

    proc = subprocess.Popen(
        [sys.executable, example_path("redis_replicated")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        for line in proc.stdout:
            lines.append(line)
            if "still serving" in line:
                break
        assert lines and "still serving" in lines[-1] and "Ctrl-C" in lines[-1], "".join(lines)
        port = int(lines[-1].split("redis-cli -p ")[1].split()[0])
        assert redis.Redis(host="127.0.0.1", port=port, socket_timeout=30).get("greeting") == b"hello"
        assert proc.poll() is None  # still running after the scripted part
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0 and "stopping" in out, out + err
        assert "Traceback" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_replicated_demo_without_redis_py_names_the_install_command(tmp_path: Path) -> None:
    fake = tmp_path / "redis"
    fake.mkdir()
    (fake / "__init__.py").write_text('raise ModuleNotFoundError("No module named \'redis\'", name="redis")\n')
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, example_path("redis_replicated"), "--once"], capture_output=True, text=True, timeout=50, cwd=ROOT, env=env
    )
    assert proc.returncode == 1
    assert "pip install -e '.[examples]'" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
