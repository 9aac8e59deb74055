"""The launcher ↔ worker control protocol's constants and helpers (``worker.py`` has the exchange)."""

from __future__ import annotations

from typing import Any

from ..lang.liveness import Liveness, LivenessKind
from ..net.channel import Address, PeerKey

CONTROL = "@@hydrologic "
"""Prefix of the worker's control lines on stdout; every other line is program output."""

WORKER_MODULE = "hydrologic.deploy.worker"


def sizes_to_json(sizes: dict[int, int]) -> list[list[int]]:
    """Cluster sizes as JSON keeps them, ``[[location id, n], ...]``: ids stay ints end to end."""
    return [[loc, n] for loc, n in sorted(sizes.items())]


def sizes_from_json(pairs: list[list[int]]) -> dict[int, int]:
    return {int(loc): int(n) for loc, n in pairs}


def parse_key(raw: str) -> PeerKey:
    loc, _, member = raw.partition(":")
    return int(loc), (int(member) if member else None)


def liveness_from_json(raw: dict[str, Any]) -> dict[PeerKey, Liveness]:
    """``{"loc:member": ["up" | "down" | "restarted", incarnation]}`` -> the supervisor's view."""
    return {parse_key(k): Liveness(LivenessKind(v[0]), int(v[1])) for k, v in raw.items()}


def parse_peers(raw: dict[str, Any]) -> dict[PeerKey, Address]:
    out: dict[PeerKey, Address] = {}
    for k, v in raw.items():
        loc, _, member = k.partition(":")
        out[(int(loc), int(member) if member else None)] = (str(v[0]), int(v[1]))
    return out


def liveness_command(key: str, state: Liveness, address: Address | None = None) -> dict[str, Any]:
    """The launcher's news of one instance for every other one (a worker's stdin line, a Ray call):
    ``{"cmd": "liveness", "peer": "loc:member", "kind": ..., "incarnation": n}``, plus
    ``"address": [host, port]`` when it came back listening somewhere new."""
    msg: dict[str, Any] = {"cmd": "liveness", "peer": key, "kind": state.kind.value, "incarnation": state.incarnation}
    if address is not None:
        msg["address"] = [address[0], address[1]]
    return msg


def parse_liveness_command(msg: dict[str, Any]) -> tuple[PeerKey, Liveness, Address | None]:
    """``liveness_command``'s fields, for ``LocationNode.peer_changed`` (KeyError/ValueError/TypeError if malformed)."""
    raw = msg.get("address")
    address = None if raw is None else (str(raw[0]), int(raw[1]))
    return parse_key(str(msg["peer"])), Liveness(LivenessKind(msg["kind"]), int(msg["incarnation"])), address


# --- cluster membership


def membership_command(key: str, change: str, incarnation: int = 0, address: Address | None = None) -> dict[str, Any]:
    """The launcher's news that member ``key`` was ``"added"`` to its cluster (listening at
    ``address``) or ``"removed"`` from it (its last incarnation ``incarnation``)."""
    msg: dict[str, Any] = {"cmd": "membership", "peer": key, "change": change, "incarnation": incarnation}
    if address is not None:
        msg["address"] = [address[0], address[1]]
    return msg


def parse_membership_command(msg: dict[str, Any]) -> tuple[PeerKey, str, int, Address | None]:
    """``membership_command``'s fields (KeyError/ValueError/TypeError if malformed)."""
    change = str(msg["change"])
    if change not in ("added", "removed"):
        raise ValueError(f"unknown membership change {change!r}")
    raw = msg.get("address")
    address = None if raw is None else (str(raw[0]), int(raw[1]))
    return parse_key(str(msg["peer"])), change, int(msg.get("incarnation", 0)), address


def removed_from_json(raw: list[Any]) -> set[PeerKey]:
    """The members removed from their clusters so far (``["loc:member", ...]``)."""
    return {parse_key(str(k)) for k in raw}
