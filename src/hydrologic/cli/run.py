"""``hydrologic run prog.py:build [--cluster NAME=N ...]``: run a program on local processes.

Starts one OS process per process and per cluster member (``hl.deploy.Localhost``), prints
where each External port listens, streams every process's output prefixed with its location,
and runs until Ctrl-C, ``--duration`` seconds, or the failure of any process (exit status 1).
"""

from __future__ import annotations

import argparse
import sys

from ._args import cluster_size
from ..deploy.deployment import DeploymentError
from ..deploy.localhost import Localhost
from ..types.errors import BuildError

__all__ = ["main"]




def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic run", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("program", help="module:function or path/to/file.py:function")
    parser.add_argument("--cluster", action="append", type=cluster_size, default=[], metavar="NAME=N", help="size of a cluster")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--log-level", default="INFO", help="log level of the location processes (default INFO)")
    args = parser.parse_args(argv)
    try:
        deployment = Localhost(log_level=args.log_level).start(args.program, dict(args.cluster))
    except (BuildError, DeploymentError) as e:
        print(f"hydrologic run: {e}", file=sys.stderr)
        return 1
    with deployment:
        for p in deployment.ports():
            where = "" if p.member is None else f" (member {p.member})"
            print(f"[hydrologic] external {p.kind} {p.name!r}{where}: {p.codec} at {p.host}:{p.port}", flush=True)
        print(f"[hydrologic] running {len(deployment.instances)} process(es); Ctrl-C to stop", flush=True)
        try:
            deployment.wait(args.duration)
        except KeyboardInterrupt:
            print("[hydrologic] stopping", flush=True)
        deployment.stop()
        if deployment.failures:
            print("[hydrologic] the deployment failed:\n" + "\n".join(deployment.failures), file=sys.stderr)
            deployment.failures.clear()  # reported here; don't raise from the `with` as well
            return 1
    return 0
