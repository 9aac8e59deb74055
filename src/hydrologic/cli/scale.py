"""``hydrologic scale prog.py:build NAME=N|NAME=+K|NAME=-K ... [--remove NAME/M]``: add or remove
cluster members of a program that ``hydrologic run`` is running.

``hydrologic run`` serves an admin port on the loopback interface and writes its address and a
token to an admin file only you can read (``--admin-file``, or by default a file in a private
directory under the system's temporary directory, named after the working directory and the
program address). This command reads that file, so run it from the same directory with the same
program address (or pass the same ``--admin-file``). ``NAME=N`` adds or removes members until the
cluster has N; ``NAME=+K`` adds K; ``NAME=-K`` removes the K highest member ids; ``--remove
NAME/M`` removes member M. New members get new ids (never an id used before). With no change it
prints the current members. The program sees every change as ``source_cluster_members`` events,
and ``broadcast``/``round_robin`` follow the current members.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import Any

from ..deploy.admin import AdminError, admin_request, default_admin_file

__all__ = ["main"]

_CHANGE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=([+-]?)(\d+)$")


def _change(text: str) -> tuple[str, str, int]:
    m = _CHANGE.match(text)
    if m is None:
        raise argparse.ArgumentTypeError(f"expected NAME=N, NAME=+K or NAME=-K, got {text!r}")
    return m.group(1), m.group(2), int(m.group(3))


def _member(text: str) -> tuple[str, int]:
    name, sep, m = text.rpartition("/")
    if not sep or not name or not m.isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME/MEMBER such as Workers/2, got {text!r}")
    return name, int(m)


def _show(clusters: dict[str, Any]) -> None:
    for name, members in sorted(clusters.items()):
        print(f"[hydrologic] {name}: {len(members)} member(s): {', '.join(map(str, members)) or 'none'}", flush=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic scale", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("program", help="the program address given to `hydrologic run` (module:function or file.py:function)")
    parser.add_argument("changes", nargs="*", type=_change, metavar="NAME=N|+K|-K", help="the new size of a cluster, or members to add/remove")
    parser.add_argument("--remove", action="append", type=_member, default=[], metavar="NAME/MEMBER", help="remove one member by id")
    parser.add_argument("--admin-file", default=None, metavar="PATH", help="the admin file `hydrologic run` wrote (default: the one it writes for this directory and program)")
    args = parser.parse_intermixed_args(argv)  # changes may come after the options too
    admin_file = args.admin_file or default_admin_file(args.program)
    requests: list[dict[str, Any]] = []
    for name, sign, n in args.changes:
        if sign == "+":
            requests.append({"cmd": "add", "cluster": name, "count": n})
        elif sign == "-":
            requests += [{"cmd": "remove", "cluster": name, "member": None}] * n
        else:
            requests.append({"cmd": "scale", "cluster": name, "to": n})
    requests += [{"cmd": "remove", "cluster": name, "member": m} for name, m in args.remove]
    try:
        answer: dict[str, Any] = {}
        for req in requests or [{"cmd": "members"}]:
            answer = admin_request(admin_file, req)
            if not answer.get("ok"):
                print(f"[hydrologic] {answer.get('error', 'the deployment refused the request')}", file=sys.stderr)
                _show(answer.get("clusters") or {})
                return 1
    except AdminError as e:
        print(f"[hydrologic] {e}", file=sys.stderr)
        return 1
    _show(answer.get("clusters") or {})
    return 0
