"""``hydrologic run prog.py:build [--cluster NAME=N ...]``: run a program on local processes.

Starts one OS process per process and per cluster member (``hl.deploy.Localhost``), prints
where each External port listens, streams every process's output prefixed with its location,
and runs until Ctrl-C or ``--duration`` seconds. A process that dies is restarted (at most 5
times within 60 s by default, then the deployment stops with exit status 1), as a service
manager would; ``--on-failure continue|shutdown`` and ``--on-failure-for NAME=POLICY`` change that.
Durable state (``durable=``) lives under ``--data-dir`` (default
``./.hydrologic-data/<program>/``, one subdirectory per instance), which a restarted process and
a later run of the same program reuse; ``--fsync always|batch|never`` chooses when it is synced.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from ._args import cluster_size
from ..deploy.deployment import DeploymentError
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
    args = parser.parse_args(argv)
    count, window = args.restart_limit
    restart = RestartPolicy(max_restarts=count, within=window)

    def policy(p: str) -> Policy:
        return restart if p == "restart" else as_policy(p)

    try:
        target = Localhost(
            log_level=args.log_level,
            on_failure=policy(args.on_failure),
            on_failure_for={name: policy(p) for name, p in args.on_failure_for},
            data_dir=args.data_dir or default_data_dir(args.program),
            fsync=args.fsync,
        )
        deployment = target.start(args.program, dict(args.cluster))
    except ValueError as e:
        print(f"[hydrologic] {e}", file=sys.stderr)
        return 2
    except (BuildError, DeploymentError) as e:
        print(f"[hydrologic] {e}", file=sys.stderr)
        return 1
    with deployment:
        for p in deployment.ports():
            where = "" if p.member is None else f" (member {p.member})"
            print(f"[hydrologic] external {p.kind} {p.name!r}{where}: {p.codec} at {p.host}:{p.port}", flush=True)
        durable = sorted({n.root.name for n in deployment.graph.nodes if n.params.get("durable")})
        if durable:
            print(
                f"[hydrologic] durable state of {', '.join(durable)} in {target.data_dir} (fsync={args.fsync})", flush=True
            )
        print(f"[hydrologic] running {len(deployment.instances)} process(es); Ctrl-C to stop", flush=True)
        try:
            deployment.wait(args.duration)
        except KeyboardInterrupt:
            print("[hydrologic] stopping", flush=True)
        deployment.stop()
        if deployment.failed:
            print("[hydrologic] the deployment failed:\n" + "\n".join(deployment.failures), file=sys.stderr)
            deployment.failures.clear()  # reported here; don't raise from the `with` as well
            return 1
    return 0
