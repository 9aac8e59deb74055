"""``hydrologic graph prog.py:build``: draw the dataflow as Mermaid, DOT or a self-contained HTML page."""

from __future__ import annotations

import argparse
import sys

from ..ir.render import to_dot, to_html, to_mermaid
from ..flow import FlowBuilder
from ..lang.program import load_program
from ..types.errors import BuildError

__all__ = ["main"]

_FORMATS = {"mermaid": to_mermaid, "dot": to_dot}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hydrologic graph", description=__doc__)
    parser.add_argument("program", help="module:function or path/to/file.py:function")
    parser.add_argument("--format", choices=["mermaid", "dot", "html"], default="mermaid")
    parser.add_argument("-o", "--output", help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    try:
        fn, _ = load_program(args.program)
        flow = FlowBuilder(args.program)
        fn(flow)
        graph = flow.build()
    except BuildError as e:
        print(str(e), file=sys.stderr)
        return 1 if e.code != "HL501" else 2
    text = to_html(graph, title=args.program) if args.format == "html" else _FORMATS[args.format](graph)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0
