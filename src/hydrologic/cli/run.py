"""``hydrologic run prog.py:build [--cluster NAME=N ...]``: run a program on local processes.

Starts one OS process per process and per cluster member (``hl.deploy.Localhost``), prints
where each External port listens, streams every process's output prefixed with its location,
and runs until Ctrl-C or ``--duration`` seconds. A process that dies is restarted (at most 5
times within 60 s by default, then the deployment stops with exit status 1), as a service
manager would; ``--on-failure continue|shutdown`` and ``--on-failure-for NAME=POLICY`` change that.
Durable state (``durable=``) lives under ``--data-dir`` (default
``./.hydrologic-data/<program>/``, one subdirectory per instance), which a restarted process and
a later run of the same program reuse; ``--fsync always|batch|never`` chooses when it is synced.

``--ray ADDRESS`` deploys on an existing Ray cluster instead (``auto``, or the head's
``host:port``), one actor per process and cluster member, shipping the program's folder to the
nodes; ``--placement NAME=KEY=VALUE,...`` states what a location's actors reserve and how its
members are placed. Where every instance runs is printed at start-up, and the actors' output
reaches this terminal with their location's prefix.

Clusters can grow and shrink while the program runs: ``hydrologic scale prog.py:build NAME=N``
(from the same directory) reaches this run through an admin port on the loopback interface,
whose address and token are in an admin file only you can read (``--admin-file``; by default
in a private directory under the system's temporary directory, found again by ``hydrologic
scale`` from the working directory and the program address).

``--tls auto|on|off`` chooses TLS on the channels between instances (``auto``, the default:
on when they cross hosts, i.e. a Ray cluster whose nodes have more than one address), and
``--external-tls-ca FILE`` makes every External port require TLS with a certificate generated
for the run, writing the CA clients must trust to ``FILE`` (``redis-cli --tls --cacert FILE``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from typing import Any

from ._args import cluster_size, placement_spec
from ..deploy.admin import AdminServer, default_admin_file
from ..deploy.deployment import DeploymentError
from ..deploy.supervised import SupervisedDeployment
from ..deploy.localhost import Localhost
from ..deploy.supervision import Policy, RestartPolicy, as_policy
from ..types.errors import BuildError

__all__ = ["main"]

POLICIES = ("restart", "continue", "shutdown")


def _policy_for(text: str) -> tuple[str, str]:
    name, sep, policy = text.partition("=")
    if not sep or not name or policy not in POLICIES:
        raise argparse.ArgumentTypeError(f"expected NAME=POLICY with POLICY one of {', '.join(POLICIES)}, got {text!r}")
    return name, policy


def _limit(text: str) -> tuple[int, float]:
    n, sep, secs = text.partition("/")
    try:
        count, window = int(n), float(secs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RESTARTS/SECONDS such as 5/60, got {text!r}") from None
    if not sep or count < 1 or window <= 0:
        raise argparse.ArgumentTypeError(f"expected RESTARTS/SECONDS such as 5/60, got {text!r}")
    return count, window


def default_data_dir(program: str) -> str:
    """``./.hydrologic-data/<program>``: the file's or module's name and the function, e.g.
    ``counter.build`` for ``examples/counter.py:build``."""
    target, _, fn = program.rpartition(":")
    base = os.path.basename(target)
    base = base[:-3] if base.endswith(".py") else base
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{base}.{fn or 'build'}")
    return os.path.join(".hydrologic-data", name)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic run", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("program", help="module:function or path/to/file.py:function")
    parser.add_argument("--cluster", action="append", type=cluster_size, default=[], metavar="NAME=N", help="size of a cluster")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--log-level", default="INFO", help="log level of the location processes (default INFO)")
    parser.add_argument(
        "--on-failure", choices=POLICIES, default="restart", help="what to do when a process dies (default: restart)"
    )
    parser.add_argument(
        "--on-failure-for", action="append", type=_policy_for, default=[], metavar="NAME=POLICY", help="per-location override"
    )
    parser.add_argument(
        "--restart-limit", type=_limit, default=(5, 60.0), metavar="N/SECONDS",
        help="give up on a process restarted N times within SECONDS, and stop (default 5/60)",
    )
    parser.add_argument(
        "--data-dir", default=None, metavar="DIR",
        help="where durable state lives, one subdirectory per instance (default ./.hydrologic-data/<program>)",
    )
    parser.add_argument(
        "--fsync", choices=("always", "batch", "never"), default="batch",
        help="when durable writes are fsynced: batch (group commit, default), always, or never (OS cache only)",
    )
    parser.add_argument(
        "--ray", default=None, metavar="ADDRESS",
        help="deploy on the Ray cluster at ADDRESS (auto, or the head's host:port) instead of local processes",
    )
    parser.add_argument(
        "--placement", action="append", type=placement_spec, default=[], metavar="NAME=KEY=VALUE,...",
        help="with --ray: what a location's actors reserve and how its members are placed, "
        "e.g. Workers=strategy=strict_spread,num_cpus=1,label.zone=a",
    )
    parser.add_argument(
        "--no-ship-code", action="store_true",
        help="with --ray: do not ship the program's folder (every node sees the driver's paths)",
    )
    parser.add_argument(
        "--admin-file", default=None, metavar="PATH",
        help="where to write the admin port's address and token for `hydrologic scale` "
        "(default: a private file named after this directory and the program)",
    )
    # --- TLS across machines
    parser.add_argument(
        "--tls", choices=("auto", "on", "off"), default="auto",
        help="mutual TLS on the channels between instances (default auto: on when they cross hosts)",
    )
    parser.add_argument(
        "--external-tls-ca", default=None, metavar="FILE",
        help="External ports require TLS; the CA certificate clients must trust is written to FILE",
    )
    args = parser.parse_args(argv)
    if args.ray is None and (args.placement or args.no_ship_code):
        parser.error("--placement and --no-ship-code need --ray ADDRESS")
    count, window = args.restart_limit
    restart = RestartPolicy(max_restarts=count, within=window)

    def policy(p: str) -> Policy:
        return restart if p == "restart" else as_policy(p)

    data_dir: str | None = args.data_dir or default_data_dir(args.program)
    try:
        deployment: SupervisedDeployment
        if args.ray is not None:
            data_dir = args.data_dir  # a path on each node's disk: only where the user names one
            deployment = _ray_target(args, policy).start(args.program, dict(args.cluster))
        else:
            target = Localhost(
                log_level=args.log_level,
                on_failure=policy(args.on_failure),
                on_failure_for={name: policy(p) for name, p in args.on_failure_for},
                data_dir=data_dir,
                fsync=args.fsync,
                **_tls_options(args),
            )
            deployment = target.start(args.program, dict(args.cluster))
    except ValueError as e:
        print(f"[hydrologic] {e}", file=sys.stderr)
        return 2
    except (BuildError, DeploymentError) as e:
        print(f"[hydrologic] {e}", file=sys.stderr)
        return 1
    clusters = any(l.is_cluster for l in deployment.graph.locations)
    admin = _serve_admin(deployment, args.admin_file or default_admin_file(args.program)) if clusters else None
    with deployment:
        if deployment.tls:
            print("[hydrologic] channels between instances: mutual TLS", flush=True)
        if args.external_tls_ca and deployment.external_ca is not None:
            with open(args.external_tls_ca, "wb") as f:
                f.write(deployment.external_ca)
            print(f"[hydrologic] External ports require TLS; their CA certificate is in {args.external_tls_ca}", flush=True)
        for p in deployment.ports():
            where = "" if p.member is None else f" (member {p.member})"
            print(f"[hydrologic] external {p.kind} {p.name!r}{where}: {p.codec} at {p.host}:{p.port}", flush=True)
        durable = sorted({n.root.name for n in deployment.graph.nodes if n.params.get("durable")})
        if durable:
            where = f"in {data_dir} (fsync={args.fsync})" if data_dir else "in memory only (pass --data-dir to keep it)"
            print(f"[hydrologic] durable state of {', '.join(durable)} {where}", flush=True)
        if args.ray is not None:
            _print_placement(deployment)
            print(f"[hydrologic] running {len(deployment.instances)} actor(s) on Ray at {args.ray}; Ctrl-C to stop", flush=True)
        else:
            print(f"[hydrologic] running {len(deployment.instances)} process(es); Ctrl-C to stop", flush=True)
        if admin is not None:
            host, port = admin[0].address
            print(
                f"[hydrologic] admin port {host}:{port}: change cluster sizes with `hydrologic scale {args.program} NAME=N`",
                flush=True,
            )
        try:
            deployment.wait(args.duration)
        except KeyboardInterrupt:
            print("[hydrologic] stopping", flush=True)
        if admin is not None:
            admin[0].close()
            try:
                os.remove(admin[1])
            except OSError:
                pass
        deployment.stop()
        if deployment.failed:
            print("[hydrologic] the deployment failed:\n" + "\n".join(deployment.failures), file=sys.stderr)
            deployment.failures.clear()  # reported here; don't raise from the `with` as well
            return 1
    return 0


def _ray_target(args: argparse.Namespace, policy: Any) -> Any:
    """The ``hl.deploy.Ray`` target the flags describe (Ray is imported only here)."""
    # Ray folds log lines that differ only in numbers into "[repeated Nx across cluster]":
    # Workers/0's and Workers/1's lines would hide each other. Each member's own lines are wanted.
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    from ..deploy.ray import Ray
    from ..deploy.ray_placement import Placement

    return Ray(
        args.ray,
        log_level=args.log_level,
        on_failure=policy(args.on_failure),
        on_failure_for={name: policy(p) for name, p in args.on_failure_for},
        data_dir=args.data_dir,
        fsync=args.fsync,
        placement={name: Placement(**kwargs) for name, kwargs in args.placement},
        ship_code=not args.no_ship_code,
        init_kwargs={"logging_level": "WARNING"},
        **_tls_options(args),
    )


# --- TLS across machines


def _tls_options(args: argparse.Namespace) -> dict[str, Any]:
    """``tls=`` and ``external_tls=`` for the target, from ``--tls`` and ``--external-tls-ca``."""
    tls = {"auto": None, "on": True, "off": False}[args.tls]
    return {"tls": tls, "external_tls": bool(args.external_tls_ca)}


def _print_placement(deployment: Any) -> None:
    """Where each instance runs: node address, Ray node id (short) and process id."""
    pids: dict[str, int] = deployment.pids()
    for inst in deployment.instances:
        label = inst.label
        node = deployment.nodes.get(label, "?")
        node_id = deployment.placement.get(label, "")[:8]
        print(f"[hydrologic] {label} on node {node} (Ray node {node_id}) pid {pids.get(label, 0)}", flush=True)


# --- cluster membership


def _serve_admin(deployment: SupervisedDeployment, path: str) -> tuple[AdminServer, str] | None:
    """The admin port ``hydrologic scale`` talks to, and the file that says where it is."""
    try:
        server = AdminServer(deployment).start()
        server.write_file(path)
    except OSError as e:
        print(f"[hydrologic] no admin port ({e}); `hydrologic scale` will not reach this run", file=sys.stderr)
        return None
    return server, path
