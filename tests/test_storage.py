"""The on-disk store (``hydrologic.storage.LogStore``): recovery, torn tails, corruption, fsync
modes and group commit, compaction, and the errors for an unwritable directory or a full disk."""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hydrologic.storage import DELETE, LogStore, StorageError
from hydrologic.storage import log as storelog
from hydrologic.types.errors import UsageError


def _reopen(d: Path, fsync: str = "batch") -> dict[str, dict[Any, Any]]:
    s = LogStore(d, label="P", fsync=fsync)
    try:
        return s.recover()
    finally:
        s.close()


@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_records_survive_reopening_in_every_fsync_mode(tmp_path: Path, fsync: str) -> None:
    s = LogStore(tmp_path, label="P", fsync=fsync)
    s.write([("log", 1, {"v": "a"}), ("log", 2, ("b", 2)), ("promised", None, (3, 1))])
    s.write([("log", 1, DELETE), ("promised", None, (4, 0))])
    s.sync()
    assert s.durable_seq == s.seq == 2
    s.close()
    assert _reopen(tmp_path, fsync) == {"log": {2: ("b", 2)}, "promised": {None: (4, 0)}}


def test_fsync_modes_differ_in_when_they_fsync(tmp_path: Path) -> None:
    counts = {}
    for mode in ("always", "never"):
        s = LogStore(tmp_path / mode, fsync=mode)
        for i in range(5):
            s.write([("k", i, i)])
            assert s.durable_seq == s.seq  # always/never: durable (per the mode) when write returns
        counts[mode] = s.fsyncs
        s.close()
    assert counts == {"always": 5, "never": 0}


def test_batch_mode_covers_many_writes_with_one_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gate = threading.Event()
    real = os.fsync

    def slow_fsync(fd: int) -> None:
        gate.wait(5)
        real(fd)

    s = LogStore(tmp_path, fsync="batch")
    monkeypatch.setattr(s, "_fsync", slow_fsync)
    s.write([("k", 0, 0)])  # the writer takes this one and waits in its fsync
    time.sleep(0.05)
    for i in range(1, 50):
        s.write([("k", i, i)])  # queued behind it, not blocked: the caller keeps running
    assert s.durable_seq == 0 and s.seq == 50
    gate.set()
    s.sync()
    assert s.durable_seq == 50
    assert s.fsyncs <= 3, s.fsyncs  # 1 for the first write, 1 (at most 2) for the 49 queued meanwhile
    s.close()
    assert len(_reopen(tmp_path)["k"]) == 50


def test_durable_callback_reports_each_advance(tmp_path: Path) -> None:
    seen: list[int] = []
    done = threading.Event()
    s = LogStore(tmp_path, fsync="batch")

    def cb(seq: int) -> None:
        seen.append(seq)
        if seq == 3:
            done.set()

    s.on_durable = cb
    for i in range(3):
        s.write([("k", i, i)])
    assert done.wait(5)
    assert seen == sorted(seen) and seen[-1] == 3
    s.close()


def test_a_torn_last_frame_is_truncated_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    s = LogStore(tmp_path, fsync="always")
    s.write([("k", 1, "one")])
    good = (tmp_path / "state.log").stat().st_size
    s.write([("k", 2, "two" * 100)])
    s.close()
    path = tmp_path / "state.log"
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size - 7)  # the crash cut the last write short
    with caplog.at_level(logging.WARNING, logger="hydrologic.storage"):
        assert _reopen(tmp_path) == {"k": {1: "one"}}
    assert f"truncating {path} at offset {good}" in caplog.text
    assert path.stat().st_size == good
    # The truncated log takes new writes and recovers them.
    s = LogStore(tmp_path, fsync="always")
    s.write([("k", 3, "three")])
    s.close()
    assert _reopen(tmp_path) == {"k": {1: "one", 3: "three"}}


@pytest.mark.parametrize("damage", ["checksum", "header", "zeros"])
def test_a_damaged_tail_is_truncated(tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    s = LogStore(tmp_path, fsync="always")
    s.write([("k", 1, "one")])
    good = (tmp_path / "state.log").stat().st_size
    s.write([("k", 2, "two")])
    s.close()
    path = tmp_path / "state.log"
    data = bytearray(path.read_bytes())
    if damage == "checksum":
        data[-1] ^= 0xFF  # the last frame's payload
    elif damage == "header":
        data = data[:good] + b"\0" * (len(data) - good)  # a zero-filled tail (no header at all)
    else:
        data += b"\0" * 64  # preallocated zeros after the last good frame
        good = len(data) - 64
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="hydrologic.storage"):
        state = _reopen(tmp_path)
    assert state == ({"k": {1: "one"}} if damage != "zeros" else {"k": {1: "one", 2: "two"}})
    assert "truncating" in caplog.text and str(path) in caplog.text and f"offset {good}" in caplog.text


def test_corruption_in_the_middle_is_an_error(tmp_path: Path) -> None:
    s = LogStore(tmp_path, fsync="always")
    s.write([("k", 1, "one" * 10)])
    first_end = (tmp_path / "state.log").stat().st_size
    s.write([("k", 2, "two")])
    s.close()
    path = tmp_path / "state.log"
    data = bytearray(path.read_bytes())
    data[first_end - 3] ^= 0xFF  # inside the first frame, with a whole frame after it
    path.write_bytes(bytes(data))
    size = len(data)
    with pytest.raises(StorageError, match=r"checksum mismatch in .*state.log for the frame at offset 8") as e:
        LogStore(tmp_path, label="Acceptors/1")
    assert "Acceptors/1" in str(e.value)
    assert path.stat().st_size == size  # nothing was truncated


def test_a_corrupt_header_in_the_middle_is_an_error(tmp_path: Path) -> None:
    s = LogStore(tmp_path, fsync="always")
    s.write([("k", 1, "one")])
    s.write([("k", 2, "two")])
    s.close()
    path = tmp_path / "state.log"
    data = bytearray(path.read_bytes())
    data[len(storelog.MAGIC)] ^= 0x01  # the first frame's length
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="corrupt frame header"):
        LogStore(tmp_path)


def test_not_a_store_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "state.log").write_bytes(b"something else entirely")
    with pytest.raises(StorageError, match="not a hydrologic durable state file"):
        LogStore(tmp_path)


def test_an_unwritable_directory_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        ro = Path("/proc/hydrologic-cannot-exist")  # root ignores permissions; /proc refuses everyone
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
    with pytest.raises(StorageError) as e:
        LogStore(ro / "P", label="Acceptors/0")
    msg = str(e.value)
    assert "Acceptors/0" in msg and str(ro / "P") in msg and "data directory" in msg


def test_a_full_disk_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LogStore(tmp_path, label="Acceptors/2", fsync="always")
    s.write([("k", 1, 1)])

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storelog.os, "write", full)
    with pytest.raises(StorageError) as e:
        s.write([("k", 2, 2)])
    assert "disk is full (ENOSPC)" in str(e.value) and "Acceptors/2" in str(e.value) and "state.log" in str(e.value)
    monkeypatch.undo()
    s.close()


def test_a_full_disk_in_batch_mode_fails_the_next_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = LogStore(tmp_path, label="P", fsync="batch")
    woke = threading.Event()
    s.on_durable = lambda seq: woke.set()

    def full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(storelog.os, "write", full)
    s.write([("k", 1, 1)])
    assert woke.wait(5)  # the driver is woken to look at the error
    assert s.durable_seq == 0  # never reported durable
    with pytest.raises(StorageError, match="ENOSPC"):
        s.write([("k", 2, 2)])
    monkeypatch.undo()


def test_an_unpicklable_value_names_the_state(tmp_path: Path) -> None:
    s = LogStore(tmp_path, label="P", fsync="never")
    with pytest.raises(StorageError, match="durable state 'acc' holds a value that cannot be stored"):
        s.write([("acc", None, lambda: 1)])
    s.close()


def test_compaction_rewrites_the_live_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storelog, "COMPACT_MIN_BYTES", 4096)
    s = LogStore(tmp_path, fsync="never")
    for i in range(400):  # a moving window: each tick writes slot i and deletes slot i - 10
        s.write([("log", i, "x" * 100)] + ([("log", i - 10, DELETE)] if i >= 10 else []))
        s.write([("promised", None, i)])
    size = (tmp_path / "state.log").stat().st_size
    s.close()
    assert size < storelog.COMPACT_RATIO * 10 * 140 + 4096, size  # not 400 slots' worth
    assert not (tmp_path / "state.log.tmp").exists()
    state = _reopen(tmp_path)
    assert sorted(state["log"]) == list(range(390, 400)) and state["promised"] == {None: 399}


def test_a_second_store_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    s = LogStore(tmp_path, label="P")
    with pytest.raises(StorageError, match="in use by another process"):
        LogStore(tmp_path, label="P")
    s.close()


def test_an_unknown_fsync_mode_is_hl501(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="fsync must be one of always, batch, never") as e:
        LogStore(tmp_path, fsync="sometimes")
    assert e.value.code == "HL501"


def test_the_storage_benchmark_runs_and_prints_every_backend() -> None:
    import subprocess
    import sys

    bench = Path(__file__).resolve().parents[1] / "bench" / "bench_storage.py"
    proc = subprocess.run(
        [sys.executable, str(bench), "--ticks", "30", "--window", "20"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    rows = [l for l in proc.stdout.splitlines() if l.startswith("| ") and "records/s" not in l]
    assert {tuple(c.strip() for c in r.strip("|").split("|")[:2]) for r in rows} == {
        (b, m) for b in ("log", "sqlite-full", "sqlite-normal", "lmdb") for m in ("always", "batch")
    }


def test_a_really_full_disk_on_a_tiny_tmpfs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The same as the injected ENOSPC, on a real 64 KiB tmpfs (needs root to mount one; the
    injected test above covers the behaviour everywhere)."""
    import subprocess

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs needs root (the injected-ENOSPC test covers this)")
    try:
        s = LogStore(mnt / "P", label="Acceptors/0", fsync="always")
        written = 0
        with pytest.raises(StorageError) as e:
            for i in range(100):
                s.write([("log", i, os.urandom(8000))])
                written += 1
        assert 0 < written < 10
        assert "disk is full (ENOSPC)" in str(e.value) and str(mnt / "P" / "state.log") in str(e.value)
        s.close()
        with caplog.at_level(logging.WARNING, logger="hydrologic.storage"):
            state = _reopen(mnt / "P")
        assert sorted(state["log"]) == list(range(written))  # every complete write, the torn one dropped
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
