"""``hydrologic status --ray ADDRESS``: where every instance of the programs running on a Ray cluster runs.

Each actor of an ``hl.deploy.Ray`` deployment is a named Ray actor
(``hydrologic/<deployment>/<label>#<incarnation>``); this connects to the cluster as a separate
driver, finds them by name and asks each where it runs: its node's address and Ray node id,
its process id, its incarnation and whether its location is running, starting or failed, then
which instances share each node (with the node's labels). It changes nothing. An actor that does not answer within ``--timeout`` seconds is listed as such.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

__all__ = ["main"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic status", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--ray", required=True, metavar="ADDRESS", help="the Ray cluster (auto, or the head's host:port)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each actor's answer (default 10)")
    args = parser.parse_args(argv)
    try:
        ray: Any = importlib.import_module("ray")
    except ImportError:
        print("[hydrologic] `hydrologic status --ray` needs the `ray` package: pip install 'hydrologic[ray]'", file=sys.stderr)
        return 1
    from ..deploy.ray import ACTOR_PREFIX

    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    try:
        ray.init(address=args.ray, logging_level=logging.ERROR, log_to_driver=False)
    except Exception as e:  # ConnectionError and Ray's own: no cluster there
        print(f"[hydrologic] could not connect to the Ray cluster at {args.ray}: {e}", file=sys.stderr)
        return 1
    try:
        rows = _collect(ray, ACTOR_PREFIX, args.timeout)
        nodes = _node_labels(ray)
    finally:
        ray.shutdown()
    if not rows:
        print(f"no hydrologic deployment is running on the Ray cluster at {args.ray}")
        return 0
    by_deployment: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_deployment.setdefault(str(row["deployment"]), []).append(row)
    for dep, members in sorted(by_deployment.items()):
        program = next((str(m["program"]) for m in members if m.get("program")), "?")
        print(f"deployment {dep}: {program}")
        width = max(len(str(m["label"])) for m in members)
        for m in sorted(members, key=lambda m: str(m["label"])):
            if "error" in m:
                print(f"  {str(m['label']):{width}}  incarnation {m['incarnation']}  did not answer: {m['error']}")
                continue
            print(
                f"  {str(m['label']):{width}}  node {m['node_ip']} (Ray node {str(m['node_id'])[:8]})  pid {m['pid']}  "
                f"incarnation {m['incarnation']}  {m['state']}"
            )
        _per_node(members, nodes)
    return 0


def _node_labels(ray: Any) -> dict[str, str]:
    """Each Ray node's own labels (``key=value, ...``; Ray's ``ray.io/`` ones left out), by node id."""
    out: dict[str, str] = {}
    try:
        nodes: list[dict[str, Any]] = ray.nodes()
        for n in nodes:
            labels: dict[str, str] = {str(k): str(v) for k, v in dict(n.get("Labels") or {}).items()}
            out[str(n.get("NodeID", ""))] = ", ".join(
                f"{k}={v}" for k, v in sorted(labels.items()) if not k.startswith("ray.io/")
            )
    except Exception:  # the GCS did not answer: the summary goes without labels
        pass
    return out


def _per_node(members: list[dict[str, Any]], labels: dict[str, str]) -> None:
    """The placement at a glance: which instances share each node."""
    on: dict[str, list[dict[str, Any]]] = {}
    for m in members:
        if "error" not in m:
            on.setdefault(str(m["node_id"]), []).append(m)
    for node_id, here in sorted(on.items(), key=lambda kv: (str(kv[1][0]["node_ip"]), kv[0])):
        tags = labels.get(node_id, "")
        names = ", ".join(sorted(str(m["label"]) for m in here))
        print(f"  on {here[0]['node_ip']} (Ray node {node_id[:8]}{'; ' + tags if tags else ''}): {len(here)}: {names}")


def _collect(ray: Any, prefix: str, timeout: float) -> list[dict[str, Any]]:
    """Every named hydrologic actor's ``describe()``, or why it gave none."""
    named: list[dict[str, str]] = ray.util.list_named_actors(all_namespaces=True)
    found: list[tuple[dict[str, Any], Any]] = []
    for entry in named:
        name, namespace = entry.get("name", ""), entry.get("namespace")
        if not name.startswith(prefix):
            continue
        dep, _, rest = name[len(prefix):].partition("/")
        label, _, incarnation = rest.rpartition("#")
        guess: dict[str, Any] = {"deployment": dep, "label": label, "incarnation": incarnation, "program": ""}
        try:
            handle = ray.get_actor(name, namespace=namespace)
            found.append((guess, handle.describe.remote()))
        except Exception as e:  # gone between listing and lookup
            found.append(({**guess, "error": f"{type(e).__name__}: {e}"}, None))
    rows: list[dict[str, Any]] = []
    for guess, ref in found:
        if ref is None:
            rows.append(guess)
            continue
        try:
            rows.append(dict(ray.get(ref, timeout=timeout)))
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0]
            rows.append({**guess, "error": f"{type(e).__name__}: {first}"})
    return rows
