"""Decision sources: the only place where a simulated execution can go one way or another.

Every choice the simulator makes is one call ``chooser.choose(n)`` returning an int in
``range(n)``; a choice with ``n == 1`` is not a choice and is never asked. An execution is
therefore fully described by its list of answers, which is what replay tokens encode and what
exhaustive search enumerates (stateless DFS: re-run the scenario from scratch with a longer or
bumped prefix, like an odometer). Fuzzing answers at random; the Hypothesis mode answers with
``data.draw(...)`` so Hypothesis can shrink the answer list.
"""

from __future__ import annotations

import base64
import random
import zlib
from typing import Any, Callable, Protocol

from ._errors import StaleTokenError

__all__ = [
    "Advance",
    "Chooser",
    "PrefixChooser",
    "RandomChooser",
    "UniformChooser",
    "DrawChooser",
    "encode_token",
    "decode_token",
]

# A DFS's next prefix after an execution that answered ``values`` to questions of ``ranges`` options.
Advance = Callable[[list[int], list[int]], "list[int] | None"]


class Chooser(Protocol):
    """Answers ``choose(n)`` with an int in ``range(n)`` (``n >= 2``) and remembers the answers.

    ``prunes``: the execution is one of a depth-first search, which may stop it where the sleep set
    says a sibling execution covered everything below (``RedundantExecution``). Random, guided
    and replayed executions run to the end: nothing guarantees that the sibling ever ran.
    """

    values: list[int]
    ranges: list[int]
    prunes: bool

    def choose(self, n: int) -> int: ...


class PrefixChooser:
    """Replays ``prefix``, then answers 0 (the first option) for every further choice.

    Exhaustive search uses it with a growing prefix; replay and shrinking use it with a recorded one.
    ``strict`` makes an out-of-range prefix value an error (replaying a token) instead of clamping it
    (shrinking, where the program may ask a different question after an edit).
    """

    def __init__(self, prefix: list[int], *, strict: bool = False, prunes: bool = False) -> None:
        self.prefix = prefix
        self.strict = strict
        self.prunes = prunes
        self.values: list[int] = []
        self.ranges: list[int] = []
        # a DFS's next prefix after an execution that answered ``values`` to questions of
        # ``ranges`` options: set by an exhaustive search so that a pruned execution can go
        # back to a state it recorded instead of ending (``_rewind``); None: it ends
        self.advance: Advance | None = None
        self.rewinds = 0  # pruned executions that went back instead of ending, and their answers
        self.rewound_decisions = 0
        # Options a DFS need not take, per decision on the current path (its depth): at a state
        # the search explored before with a larger sleep set, the units it ran from there then
        # (``Scheduler.pick``, ``_states``). An answer lands on the next option not excluded; the
        # search carries these from one execution to the next for the decisions they share.
        self.excluded: dict[int, frozenset[int]] = {}
        # (a parallel search's worker) options at or above these were given to other workers
        self.caps: dict[int, int] | None = None

    def choose(self, n: int) -> int:
        i = len(self.values)
        v = 0
        if i < len(self.prefix):
            v = self.prefix[i]
            if v >= n:
                if self.strict:
                    raise StaleTokenError(
                        f"replay token answers {v} to decision #{i + 1}, which has only {n} options: "
                        "the program or the scenario changed since the token was made"
                    )
                v = n - 1
        if self.excluded:
            ex = self.excluded.get(i)
            if ex is not None and v in ex:
                v = self._skip(i, v, n, ex)
        self.values.append(v)
        self.ranges.append(n)
        return v

    def _skip(self, i: int, v: int, n: int, ex: frozenset[int]) -> int:
        """The first option from ``v`` on that is not excluded; the last one this search may take
        if none is (it is excluded too: the scheduler then ends the execution, and the DFS moves
        on from the last option, past this decision)."""
        top = n
        if self.caps is not None and i in self.caps:
            top = min(top, self.caps[i])
        while v < top - 1 and v in ex:
            v += 1
        return v

    def keep_excluded(self, depth: int) -> dict[int, frozenset[int]]:
        """The exclusions of the decisions up to ``depth``, which the next execution shares."""
        return {d: s for d, s in self.excluded.items() if d <= depth}


class RandomChooser:
    """Seeded random answers. Mostly uniform, with a bias towards the extremes (all or nothing,
    first or last), which is where batching and ordering bugs tend to live."""

    prunes = False

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.values: list[int] = []
        self.ranges: list[int] = []

    def choose(self, n: int) -> int:
        r = self.rng.random()
        if r < 0.1:
            v = 0
        elif r < 0.2:
            v = n - 1
        else:
            v = self.rng.randrange(n)
        self.values.append(v)
        self.ranges.append(n)
        return v


class UniformChooser:
    """Uniformly random answers (an unbiased random walk down the decision tree)."""

    prunes = False

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.values: list[int] = []
        self.ranges: list[int] = []

    def choose(self, n: int) -> int:
        v = self.rng.randrange(n)
        self.values.append(v)
        self.ranges.append(n)
        return v


class DrawChooser:
    """Answers drawn from Hypothesis (``st.data()``), so Hypothesis shrinks failing executions."""

    prunes = False

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self._data = data
        self._st = st
        self.values: list[int] = []
        self.ranges: list[int] = []

    def choose(self, n: int) -> int:
        v: int = self._data.draw(self._st.integers(0, n - 1))
        self.values.append(v)
        self.ranges.append(n)
        return v


# ---- replay tokens ------------------------------------------------------------------------------

_PREFIX = "hl1"


def _varints(values: list[int]) -> bytes:
    out = bytearray()
    for v in values:
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                break
    return bytes(out)


def _unvarints(data: bytes) -> list[int]:
    out: list[int] = []
    cur = 0
    shift = 0
    for b in data:
        cur |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
        else:
            out.append(cur)
            cur = 0
            shift = 0
    return out


def encode_token(values: list[int], fingerprint: str) -> str:
    """``hl1.<program fingerprint>.<compressed answers>``: short, copy-pasteable, URL-safe."""
    raw = zlib.compress(_varints(values), 9)
    payload = base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return f"{_PREFIX}.{fingerprint}.{payload}"


def decode_token(token: str, fingerprint: str) -> list[int]:
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise StaleTokenError(f"not a hydrologic replay token: {token!r} (expected 'hl1.<program>.<decisions>')")
    if parts[1] != fingerprint:
        raise StaleTokenError(
            f"replay token was made for another program (fingerprint {parts[1]}, this program is {fingerprint}); "
            "re-run the search to get a fresh token"
        )
    payload = parts[2] + "=" * (-len(parts[2]) % 4)
    try:
        return _unvarints(zlib.decompress(base64.urlsafe_b64decode(payload)))
    except Exception as e:  # binascii.Error, zlib.error
        raise StaleTokenError(f"replay token is corrupt: {token!r}") from e
