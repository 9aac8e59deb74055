"""The value codec of internal (authenticated) channels.

A frame's payload carries one tick's output for one peer: a list of ``[node_id, items]``
groups. It is encoded in one of two formats, chosen per frame and named by the first byte:

* ``M`` — MessagePack (msgspec), when every item is a plain scalar (int, float, str, bytes,
  bool, None) and the frame carries text or bytes (a group's first item is a ``str`` or
  ``bytes``): there MessagePack is smaller and about a third faster than pickle, keys and
  commands being the common case.
* ``P`` — pickle (protocol 5) for everything else, numbers included: checking that every item
  is a plain scalar costs 16 ns per item, five times MessagePack's own encoding, and pickle
  alone encodes and decodes a frame of ints or floats faster than the check plus MessagePack
  (25 µs against 36 µs per 1,000 ints, encode and decode; the 2-hop pipeline benchmark moved
  from 0.50× to 0.64× of its hand-written baseline with this rule). MessagePack has one array type, so a
  tuple would come back as a list, a ``MemberId`` as an int and a set not at all; a program's
  semantics depend on those types (``into_keyed`` needs pairs, ``demux`` needs ``MemberId``).
  Pickle round-trips them exactly and is as fast as MessagePack for containers in CPython.

Pickle can run code while loading, which is why it is accepted **only** on internal channels,
after the peer proved it knows the deployment's secret (``auth.py``). External ports never
unpickle (``external_codec.py``). User functions are never pickled: every process rebuilds
the program; only data values cross.
"""

from __future__ import annotations

import operator
import pickle
from typing import Any

import msgspec

from .errors import CodecError

__all__ = ["encode_batch", "decode_batch", "Groups"]

Groups = list[tuple[int, list[Any]]]

_TAG_MSGPACK = 0x4D  # "M"
_TAG_PICKLE = 0x50  # "P"
_PLAIN: frozenset[type[Any]] = frozenset({int, float, str, bytes, bool, type(None)})
_ENCODER = msgspec.msgpack.Encoder()
_DECODER = msgspec.msgpack.Decoder()


def _plain(groups: Groups) -> bool:
    plain = _PLAIN
    for _, items in groups:
        if not set(map(type, items)) <= plain:
            return False
    return True


_TEXT: frozenset[type[Any]] = frozenset({str, bytes})


def _textual(groups: Groups) -> bool:
    """Whether MessagePack is worth checking for: some group starts with text or bytes."""
    for _, items in groups:
        if items and type(items[0]) in _TEXT:
            return True
    return False


def encode_batch(groups: Groups) -> bytes:
    """One frame payload for ``groups`` (``[(node_id, items), ...]``)."""
    if _textual(groups) and _plain(groups):
        try:
            return b"M" + _ENCODER.encode(groups)
        except (OverflowError, msgspec.EncodeError):  # e.g. an int wider than 64 bits
            pass
    try:
        return b"P" + pickle.dumps(groups, protocol=5)
    except Exception as e:
        raise CodecError(f"cannot encode a value for the network: {type(e).__name__}: {e}") from e


class FrameEncoder:
    """Encodes the frames of one flush, once for frames made of the very same objects.

    A broadcast puts the same objects in every receiver's frame (a command sent to every
    replica, a leader's Accept to every acceptor, an acceptor's vote to every learner); encoding
    each copy again cost the sender a pickle per receiver. Frames are compared by identity of
    their items, never by ``==``: equal values of different types (``1`` and ``1.0``) must not
    share bytes. Only the last few frames are remembered, so a flush to many peers with
    different frames pays a few failed comparisons (each stops at the first different item).
    """

    KEEP = 4

    def __init__(self) -> None:
        self._done: list[tuple[Groups, bytes]] = []

    def encode(self, groups: Groups) -> bytes:
        for prev, payload in self._done:
            if _same_objects(prev, groups):
                return payload
        payload = encode_batch(groups)
        if len(self._done) >= self.KEEP:
            del self._done[0]
        self._done.append((groups, payload))
        return payload


def _same_objects(a: Groups, b: Groups) -> bool:
    if len(a) != len(b):
        return False
    for (n1, xs), (n2, ys) in zip(a, b):
        if n1 != n2 or len(xs) != len(ys):
            return False
        if xs is not ys and not all(map(operator.is_, xs, ys)):
            return False
    return True


def decode_batch(payload: bytes) -> Groups:
    """Inverse of ``encode_batch``; raises ``CodecError`` on anything else."""
    if not payload:
        raise CodecError("empty frame payload")
    tag = payload[0]
    body = memoryview(payload)[1:]
    try:
        if tag == _TAG_MSGPACK:
            raw: Any = _DECODER.decode(body)
        elif tag == _TAG_PICKLE:
            raw = pickle.loads(body)
        else:
            raise CodecError(f"unknown frame format byte 0x{tag:02x} (expected 'M' or 'P')")
    except CodecError:
        raise
    except Exception as e:
        raise CodecError(f"undecodable frame payload ({type(e).__name__}: {e})") from e
    if not _is_list(raw):
        raise CodecError(f"frame payload is a {type(raw).__name__}, expected a list of [node_id, items]")
    out: Groups = []
    groups: list[Any] = raw
    for pair in groups:
        if not _is_pair(pair):
            raise CodecError(f"malformed group in frame payload: {pair!r:.80}")
        nid: Any = pair[0]
        items: Any = pair[1]
        if type(nid) is not int or not _is_list(items):
            raise CodecError(f"malformed group in frame payload: {pair!r:.80}")
        out.append((nid, items))
    return out


def _is_pair(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and len(x) == 2  # pyright: ignore[reportUnknownArgumentType]


def _is_list(x: Any) -> bool:
    return isinstance(x, list)
