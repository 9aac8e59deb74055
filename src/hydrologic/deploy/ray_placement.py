"""Where a location's actors run on Ray, and what each one reserves: ``Placement``.

A location given a ``Placement`` gets one Ray placement group with one bundle per member (one
for a process): the bundle holds what each member asks for (``num_cpus``, ``num_gpus``,
``memory``, custom ``resources``), the group's strategy says how the members are spread over
the nodes, and ``label`` restricts every bundle to nodes carrying those labels. Member ``i``
always runs in bundle ``i``, so a restarted member lands where its predecessor was (and its
reservation is held while it is down). The group is reserved before any actor starts; one that
Ray cannot satisfy within ``timeout`` seconds is removed and reported, naming the location and
the request, instead of leaving actors pending forever.

A location without a ``Placement`` keeps the default: its actors reserve nothing (``num_cpus=0``)
and are placed round-robin over the nodes alive at start-up, pinned to their node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..ir.graph import Graph
from ..ir.node import LocationInfo
from ..types.errors import UsageError

__all__ = ["Placement", "STRATEGIES", "resolve_placement", "bundle_of", "describe_request", "amount"]

STRATEGIES = {"spread": "SPREAD", "pack": "PACK", "strict_spread": "STRICT_SPREAD", "strict_pack": "STRICT_PACK"}
"""Our names for Ray's placement group strategies."""

MIN_CPU = 0.0001
"""A bundle must reserve something: a location that asks for no resources reserves this much CPU."""


@dataclass(frozen=True)
class Placement:
    """What each actor of one location needs from Ray, and how its members are placed.

    ``num_cpus``, ``num_gpus``: reserved per member (default 0: nothing but a token CPU share).
    ``memory``: bytes reserved per member. ``resources``: custom resources per member, as the
    nodes declare them (``ray start --resources='{"ssd": 1}'``). ``strategy``: ``"spread"``
    (members on distinct nodes where possible, the default), ``"strict_spread"`` (on distinct
    nodes, or the deployment does not start), ``"pack"`` (on as few nodes as possible) or
    ``"strict_pack"`` (all on one node). ``label``: node labels every member's node must carry
    (``ray start --labels="zone=a"``). ``timeout``: seconds to wait for Ray to reserve it all.
    """

    num_cpus: float = 0.0
    num_gpus: float = 0.0
    memory: int | None = None
    resources: Mapping[str, float] = field(default_factory=lambda: {})
    strategy: str = "spread"
    label: Mapping[str, str] = field(default_factory=lambda: {})
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UsageError(
                "HL501",
                f"Placement strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}",
                fix='Pick one, e.g. Placement(strategy="strict_spread") to put every member on its own node.',
            )
        amounts = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "memory": self.memory or 0, **self.resources}
        bad = {k: v for k, v in amounts.items() if not isinstance(v, (int, float)) or v < 0}  # pyright: ignore[reportUnnecessaryIsInstance]
        if bad:
            raise UsageError("HL501", f"Placement amounts must be numbers >= 0, got {bad}")
        if self.timeout <= 0:
            raise UsageError("HL501", f"Placement timeout must be > 0 seconds, got {self.timeout!r}")
        labels = dict(self.label)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"Placement label must map label names to values (strings), got {labels!r}")


def bundle_of(p: Placement) -> dict[str, float]:
    """The Ray resources one member reserves (never empty: Ray refuses empty bundles)."""
    bundle: dict[str, float] = {"CPU": float(p.num_cpus) if p.num_cpus > 0 else MIN_CPU}
    if p.num_gpus > 0:
        bundle["GPU"] = float(p.num_gpus)
    if p.memory:
        bundle["memory"] = float(p.memory)
    bundle.update({k: float(v) for k, v in p.resources.items() if v > 0})
    return bundle


def amount(resource: str, value: float) -> str:
    """``value`` of ``resource`` for a message: memory in GiB, the rest as Ray counts it."""
    return f"{value / 2**30:.2f} GiB" if resource in ("memory", "object_store_memory") else f"{value:g}"


def describe_request(loc: str, members: int, p: Placement) -> str:
    """The request in words, for errors: ``Workers: 3 members, strict_spread, each {CPU: 1}``."""
    each = ", ".join(f"{k}: {amount(k, v)}" for k, v in bundle_of(p).items())
    labels = f", on nodes labelled {dict(p.label)}" if p.label else ""
    return f"{loc}: {members} member(s), {p.strategy}, each {{{each}}}{labels}"


def resolve_placement(graph: Graph, placement: Mapping[Any, Placement] | None) -> dict[int, Placement]:
    """``{location name or tag class: Placement}`` keyed by location id; unknown keys are refused."""
    out: dict[int, Placement] = {}
    locations = [l for l in graph.locations if l.kind != "external"]
    for key, p in (placement or {}).items():
        if not isinstance(p, Placement):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UsageError("HL501", f"placement for {key!r} must be an hl.deploy.Placement, got {type(p).__name__}")
        matches: list[LocationInfo] = [l for l in locations if l.tag is key or l.name == key]
        if len(matches) != 1:
            known = ", ".join(l.name for l in locations) or "none"
            raise UsageError(
                "HL501",
                f"placement key {key!r} names {'no' if not matches else 'more than one'} location (locations: {known})",
                fix="Key the placement by a process or cluster name (or its tag class).",
            )
        out[matches[0].id] = p
    return out
