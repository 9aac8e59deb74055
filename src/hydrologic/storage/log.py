"""``LogStore``: an append-only, checksummed log of records with group commit.

One file per location instance, ``<dir>/state.log``: an 8-byte magic, then one *frame* per
tick that changed durable state::

    <u32 length> <u32 crc32(length)> <u32 crc32(payload)> <payload: pickled [(name, key, value bytes | None)]>

A frame holds all of one tick's records, so recovery applies a tick entirely or not at all.
Opening the log replays it. A frame cut short at the end of the file (a write torn by a crash),
or whose checksum fails while it is the last thing in the file, is truncated away with a
WARNING naming the file and offset; a frame that fails its checksum with valid data after it
is corruption in the middle, which is an error (``StorageError``) and never silently skipped.

Group commit (``fsync="batch"``): ``write`` only encodes the records and queues them; a writer
thread appends everything queued with one ``write`` and covers it with one ``os.fsync``, then
reports the new durable sequence number, while the tick engine keeps running ticks. ``always``
writes and fsyncs inside ``write``; ``never`` writes to the OS inside ``write`` and never
fsyncs (the records survive the process being killed, not the machine losing power).

Compaction: when the log exceeds ``COMPACT_RATIO`` times the size of the live records (and
``COMPACT_MIN_BYTES``), it is rewritten as a snapshot of the live records: written to a
temporary file, fsynced, renamed over the log, and the directory fsynced, so a crash at any
point leaves either the old log or the new one.
"""

from __future__ import annotations

import errno
import logging
import os
import pickle
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

from .base import DELETE, FsyncMode, MemoryStore, Record, StorageError, Store, check_fsync_mode

__all__ = ["LogStore", "open_store", "LOG_NAME", "MAGIC", "COMPACT_RATIO", "COMPACT_MIN_BYTES"]

log = logging.getLogger("hydrologic.storage")

LOG_NAME = "state.log"
MAGIC = b"HLSTORE1"
_HEAD = struct.Struct("<III")
COMPACT_RATIO = 4
COMPACT_MIN_BYTES = 1 << 20
_SNAPSHOT_CHUNK = 4096  # records per frame of a snapshot


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    return _HEAD.pack(n, zlib.crc32(n.to_bytes(4, "little")), zlib.crc32(payload)) + payload


def _describe_os_error(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "the disk is full (ENOSPC)"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"it is not writable ({os.strerror(e.errno)})"
    return f"{type(e).__name__}: {e}"


class LogStore(Store):
    """Durable records in ``<directory>/state.log`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str], *, label: str = "", fsync: str = "batch") -> None:
        super().__init__(label)
        self.fsync: FsyncMode = check_fsync_mode(fsync)
        self.dir = Path(directory)
        self.path = self.dir / LOG_NAME
        self.fsyncs = 0  # how many fsyncs of the log (for benchmarks and tests)
        self._sizes: dict[tuple[str, Any], int] = {}  # live record -> its encoded size
        self._live_bytes = 0
        self._log_bytes = 0
        self._file_lock = threading.Lock()  # one writer of the file at a time (and compaction)
        self._queue: list[tuple[int, bytes]] = []
        self._cond = threading.Condition()
        self._synced = threading.Condition()  # notified when durable_seq advances (``sync``)
        self._closing = False
        self._thread: threading.Thread | None = None
        self._fd = -1
        self._recovered: dict[str, dict[Any, Any]] = {}
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise self._os_error("open", e) from e
        try:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise StorageError(
                f"{self._who()}: the durable state file {self.path} is in use by another process "
                "(another instance of this location is running on the same data directory)"
            ) from None
        except ImportError:  # pragma: no cover - not POSIX
            pass
        self._recovered = self._replay()
        if self.fsync == "batch":
            self._thread = threading.Thread(target=self._writer, name=f"hydrologic-store {label}", daemon=True)
            self._thread.start()

    # ---- errors --------------------------------------------------------------------------------

    def _who(self) -> str:
        return f"location {self.label}" if self.label else "durable store"

    def _os_error(self, what: str, e: OSError) -> StorageError:
        where = self.path if what != "open" else self.dir
        return StorageError(
            f"{self._who()}: cannot {what} durable state at {where}: {_describe_os_error(e)}; "
            "fix: free space or choose a writable data directory (--data-dir DIR / Localhost(data_dir=...))"
        )

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    # ---- recovery ------------------------------------------------------------------------------

    def recover(self) -> dict[str, dict[Any, Any]]:
        return {name: dict(kv) for name, kv in self._recovered.items()}

    def _replay(self) -> dict[str, dict[Any, Any]]:
        with open(self.path, "rb") as f:
            data = f.read()
        if len(data) < len(MAGIC):
            if data and not MAGIC.startswith(data):
                raise StorageError(f"{self._who()}: {self.path} is not a hydrologic durable state file")
            if data:
                log.warning("%s: torn header in %s (%d bytes); starting an empty log", self._who(), self.path, len(data))
            self._truncate(0)
            self._append_raw(MAGIC, sync=True)
            self._fsync_dir()  # the new file's directory entry, too
            self.fsyncs = 0
            self._log_bytes = len(MAGIC)
            return {}
        if not data.startswith(MAGIC):
            raise StorageError(f"{self._who()}: {self.path} is not a hydrologic durable state file (bad magic)")
        state: dict[str, dict[Any, Any]] = {}
        off = len(MAGIC)
        end_of_file = len(data)
        while off < end_of_file:
            torn = self._check_frame(data, off)
            if torn is not None:
                log.warning(
                    "%s: %s; truncating %s at offset %d (%d bytes dropped): the last tick's write was "
                    "torn by a crash before it was durable",
                    self._who(), torn, self.path, off, end_of_file - off,
                )
                self._truncate(off)
                break
            n = _HEAD.unpack_from(data, off)[0]
            body = data[off + _HEAD.size : off + _HEAD.size + n]
            try:
                records: list[tuple[str, Any, bytes | None]] = pickle.loads(body)
                for name, key, vb in records:
                    kv = state.setdefault(name, {})
                    if vb is None:
                        kv.pop(key, None)
                        self._forget(name, key)
                    else:
                        kv[key] = pickle.loads(vb)
                        self._remember(name, key, len(vb))
            except Exception as e:
                raise StorageError(
                    f"{self._who()}: corrupt record in {self.path} at offset {off} (checksum valid, "
                    f"content undecodable: {type(e).__name__}: {e})"
                ) from e
            off += _HEAD.size + n
        self._log_bytes = off
        return state

    def _check_frame(self, data: bytes, off: int) -> str | None:
        """None if the frame at ``off`` is whole and valid; a description if it is a torn tail.
        Raises on corruption in the middle of the file."""
        left = len(data) - off
        if left < _HEAD.size:
            return f"incomplete frame header ({left} bytes)"
        n, len_crc, crc = _HEAD.unpack_from(data, off)
        if zlib.crc32(n.to_bytes(4, "little")) != len_crc:
            if not data[off:].strip(b"\0"):
                return "zeroed tail"
            raise StorageError(
                f"{self._who()}: corrupt frame header in {self.path} at offset {off} with {left} bytes after it; "
                "the file is damaged in the middle (not a torn last write), so recovery stops rather than "
                "lose or invent state: restore the directory from a backup or remove it to start empty"
            )
        end = off + _HEAD.size + n
        if end > len(data):
            return f"frame of {n} bytes cut short ({left - _HEAD.size} present)"
        if zlib.crc32(data[off + _HEAD.size : end]) != crc:
            if end == len(data):
                return "checksum mismatch in the last frame"
            raise StorageError(
                f"{self._who()}: checksum mismatch in {self.path} for the frame at offset {off}, with "
                f"{len(data) - end} bytes of later frames after it; the file is damaged in the middle, "
                "so recovery stops rather than lose or invent state: restore the directory from a backup "
                "or remove it to start empty"
            )
        return None

    def _fsync_dir(self) -> None:
        dfd = os.open(self.dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _truncate(self, off: int) -> None:
        try:
            os.ftruncate(self._fd, off)
            os.fsync(self._fd)
        except OSError as e:
            raise self._os_error("truncate", e) from e

    def _remember(self, name: str, key: Any, size: int) -> None:
        k = (name, key)
        self._live_bytes += size - self._sizes.get(k, 0)
        self._sizes[k] = size

    def _forget(self, name: str, key: Any) -> None:
        self._live_bytes -= self._sizes.pop((name, key), 0)

    # ---- writing -------------------------------------------------------------------------------

    def write(self, records: list[Record]) -> int:
        self._raise_if_failed()
        enc: list[tuple[str, Any, bytes | None]] = []
        for name, key, value in records:
            if value is DELETE:
                enc.append((name, key, None))
                self._forget(name, key)
            else:
                try:
                    vb = pickle.dumps(value, protocol=5)
                except Exception as e:
                    raise StorageError(
                        f"{self._who()}: durable state {name!r} holds a value that cannot be stored "
                        f"({type(e).__name__}: {e}); durable accumulators must be picklable"
                    ) from e
                enc.append((name, key, vb))
                self._remember(name, key, len(vb))
        frame = _frame(pickle.dumps(enc, protocol=5))
        self.seq += 1
        seq = self.seq
        if self.fsync == "batch":
            with self._cond:
                self._queue.append((seq, frame))
                self._cond.notify()
        else:
            with self._file_lock:
                self._append_raw(frame, sync=self.fsync == "always")
                self._log_bytes += len(frame)
                self._maybe_compact()
            self._advance(seq)
        return seq

    def _append_raw(self, buf: bytes, *, sync: bool) -> None:
        try:
            os.lseek(self._fd, 0, os.SEEK_END)
            view = memoryview(buf)
            while view:
                done = os.write(self._fd, view)
                view = view[done:]
            if sync:
                self._fsync(self._fd)
                self.fsyncs += 1
        except OSError as e:
            raise self._os_error("write", e) from e

    def _fsync(self, fd: int) -> None:
        os.fsync(fd)  # a seam: tests slow it down to check output gating

    def _writer(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closing:
                    return
            try:
                with self._file_lock:
                    buf = b"".join(f for _, f in batch)
                    self._append_raw(buf, sync=True)
                    self._log_bytes += len(buf)
                    self._maybe_compact()
            except StorageError as e:
                self.error = e
                log.error("%s", e)
                with self._synced:
                    self._synced.notify_all()
                cb = self.on_durable
                if cb is not None:
                    cb(self.durable_seq)  # wake the driver, which finds ``error`` set
                return
            self._advance(batch[-1][0])

    def sync(self) -> None:
        if self.fsync == "batch":
            target = self.seq
            with self._synced:
                while self.durable_seq < target and self.error is None:
                    self._synced.wait(1.0)
        self._raise_if_failed()

    def _advance(self, seq: int) -> None:
        super()._advance(seq)
        with self._synced:
            self._synced.notify_all()

    def close(self) -> None:
        if self._fd < 0:
            return
        if self._thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify()
            self._thread.join()
        os.close(self._fd)
        self._fd = -1

    # ---- compaction ----------------------------------------------------------------------------

    @property
    def log_bytes(self) -> int:
        return self._log_bytes

    def _maybe_compact(self) -> None:
        if self._log_bytes > COMPACT_MIN_BYTES and self._log_bytes > COMPACT_RATIO * max(self._live_bytes, 1):
            self.compact()

    def compact(self) -> None:
        """Rewrite the log as a snapshot of its live records (caller holds ``_file_lock`` or owns
        the store): temporary file, fsync, rename, fsync of the directory."""
        with open(self.path, "rb") as f:
            data = f.read(self._log_bytes)
        live: dict[tuple[str, Any], bytes] = {}
        off = len(MAGIC)
        while off < len(data):
            n = _HEAD.unpack_from(data, off)[0]
            for name, key, vb in pickle.loads(data[off + _HEAD.size : off + _HEAD.size + n]):
                if vb is None:
                    live.pop((name, key), None)
                else:
                    live[(name, key)] = vb
            off += _HEAD.size + n
        tmp = self.dir / (LOG_NAME + ".tmp")
        items = [(name, key, vb) for (name, key), vb in live.items()]
        try:
            with open(tmp, "wb") as f:
                f.write(MAGIC)
                for i in range(0, len(items), _SNAPSHOT_CHUNK):
                    f.write(_frame(pickle.dumps(items[i : i + _SNAPSHOT_CHUNK], protocol=5)))
                f.flush()
                os.fsync(f.fileno())
                size = f.tell()
            new_fd = os.open(tmp, os.O_RDWR)
            os.replace(tmp, self.path)
            self._fsync_dir()
        except OSError as e:
            raise self._os_error("compact", e) from e
        try:
            import fcntl

            fcntl.flock(new_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (ImportError, OSError):  # pragma: no cover
            pass
        os.close(self._fd)
        self._fd = new_fd
        self._log_bytes = size
        self._live_bytes = sum(len(vb) for vb in live.values())
        log.info("%s: compacted %s to %d bytes (%d live records)", self._who(), self.path, size, len(live))


def open_store(directory: str | os.PathLike[str] | None, *, label: str = "", fsync: str = "batch") -> Store:
    """A ``LogStore`` in ``directory``, or a ``MemoryStore`` when it is None."""
    if directory is None:
        return MemoryStore(label)
    return LogStore(directory, label=label, fsync=fsync)
