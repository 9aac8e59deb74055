"""Every example runs with one command: as a service (`python -m hydrologic run`) and as a
demo client that deploys it on local processes (`python examples/<name>.py`)."""

from __future__ import annotations

import subprocess
import sys

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
    # the demo kills replica 0 (the first leader); these two are answered after the kill
    "redis_replicated": (["--cluster", "Replicas=3", "--cluster", "Acceptors=3"], "GET greeting -> b'hello'\nINCR visits -> 2\n"),
}


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
    proc = subprocess.run([sys.executable, example_path(name)], capture_output=True, text=True, timeout=50, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert expected in proc.stdout, proc.stdout
