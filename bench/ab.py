"""Compare two versions of hydrologic on one benchmark script, runs interleaved (A/B).

    python bench/ab.py --before /path/to/other/checkout/src --rounds 5 -- bench/bench_core.py --reps 5

Runs ``python SCRIPT --json TMP ARGS`` alternately with ``PYTHONPATH=BEFORE`` (the "before"
code) and with this checkout's ``src`` (the "after" code), ``--rounds`` times each, so that the
load of a shared machine hits both sides alike. Prints, for every metric the script writes, the
median of each side and their ratio, and the load average of every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_once(src: str, script: list[str], root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "m.json")
        env = dict(os.environ, PYTHONPATH=src)
        subprocess.run([sys.executable, script[0], "--json", out, *script[1:]], env=env, check=True,
                       cwd=root, stdout=subprocess.DEVNULL)
        with open(out) as f:
            result: dict[str, Any] = json.load(f)
            return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True, help="the src directory of the version to compare against")
    ap.add_argument("--after", default=str(ROOT / "src"), help="default: this checkout's src")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--before-root", help="run the before side's copy of SCRIPT, from this checkout (for scripts "
                    "that put their own checkout's src first on sys.path, such as bench_net.py)")
    ap.add_argument("--json", metavar="PATH", help="also write every run's metrics")
    ap.add_argument("script", nargs=argparse.REMAINDER, help="-- SCRIPT [ARGS...]")
    args = ap.parse_args()
    script = [a for a in args.script if a != "--"] if args.script[:1] == ["--"] else args.script
    sides: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for r in range(args.rounds):
        for side in ("before", "after"):
            before = side == "before"
            root = Path(args.before_root) if before and args.before_root else ROOT
            res = run_once(args.before if before else args.after, script, root)
            sides[side].append(res)
            print(f"round {r + 1} {side:6} load {res.get('load')}", file=sys.stderr, flush=True)
    names = list(sides["after"][0]["metrics"])
    print(f"{' '.join(script)}: median of {args.rounds} interleaved runs per side")
    print(f"{'metric':44} {'before':>10} {'after':>10} {'after/before':>13}")
    for name in names:
        b = statistics.median(run["metrics"][name]["value"] for run in sides["before"] if name in run["metrics"]) \
            if all(name in run["metrics"] for run in sides["before"]) else float("nan")
        a = statistics.median(run["metrics"][name]["value"] for run in sides["after"])
        print(f"{name:44} {b:10.3f} {a:10.3f} {a / b if b else float('nan'):12.2f}x")
    loads = [run.get("load", [0])[0] for s in sides.values() for run in s]
    print(f"load average (1 min) during the runs: {min(loads):.1f}–{max(loads):.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(sides, f, indent=1)


if __name__ == "__main__":
    main()
