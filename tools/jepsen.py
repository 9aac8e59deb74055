"""Jepsen-style run against the Paxos-replicated Redis store (examples/redis_replicated.py).

    python tools/jepsen.py --minutes 10 --mode limited            # the long run
    python tools/jepsen.py --seconds 20 --seed 7                  # a short one
    python tools/jepsen.py --mode full --minutes 10               # needs durable, restartable members

Clients record a history of SET/GET/INCR while a nemesis kills, restarts and pauses members
(docs/jepsen.md); then every key is read, and the history is checked for lost acknowledged
writes and for linearizability. Prints a report, writes a JSON summary (``--summary``), and
exits 1 on a failure (the report has the seed, the nemesis log and the offending key's
history).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from jepsen_support import MODES, Config, judge, read_history, run, write_summary  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=MODES, default="limited", help="limited: the faults the store survives today; full: every role restarted, whole-cluster restart")
    ap.add_argument("--minutes", type=float, help="minutes of load under the nemesis")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds of load (when --minutes is not given)")
    ap.add_argument("--seed", type=int, default=None, help="the nemesis and client seed (default: from the clock, printed)")
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--op-timeout", type=float, default=3.0, help="seconds before an operation's outcome is unknown")
    ap.add_argument("--gap", type=float, nargs=2, default=(0.8, 2.0), metavar=("MIN", "MAX"), help="seconds between two faults")
    ap.add_argument("--data-dir", help="full mode: the members' data directories (default: a temporary directory)")
    ap.add_argument("--summary", help="write the JSON summary here")
    ap.add_argument("--history", help="write the whole history here (JSON lines)")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    ap.add_argument("--check", metavar="HISTORY", help="check a history written by --history again, without running anything")
    args = ap.parse_args(argv)
    if args.check:
        history, final = read_history(args.check)
        span = max((op.complete or op.invoke for op in history), default=0.0)
        outcome = judge(Config(mode=args.mode, seed=args.seed or 0, seconds=span), history, final, None, [], None)
        print(outcome.report(), flush=True)
        return 0 if outcome.ok else 1
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    cfg = Config(
        mode=args.mode,
        seconds=args.minutes * 60 if args.minutes else args.seconds,
        seed=seed,
        clients=args.clients,
        op_timeout=args.op_timeout,
        gap=tuple(args.gap),
        data_dir=args.data_dir,
        log=None if args.quiet else (lambda line: print(line, flush=True)),
        history_path=args.history,
    )
    outcome = run(cfg)
    print(outcome.report(), flush=True)
    if args.summary:
        write_summary(outcome, args.summary)
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
