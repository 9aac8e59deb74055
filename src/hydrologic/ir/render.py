"""Draw a graph: Mermaid, Graphviz DOT, and a self-contained HTML page (inline SVG, no network).

Nodes are grouped by location (and by tick inside a location); each edge is labelled with the
kind and guarantees of the collection flowing on it; network edges are dashed, next-tick edges
dotted, and nondet sites highlighted with their reasons. The HTML layout is computed here (a
layered layout: rank = longest path from a source), so the page needs no JavaScript library.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .graph import Graph
from .node import AtomicInfo, LocationInfo, Node, TickInfo, root_of

__all__ = ["to_mermaid", "to_dot", "to_html", "edge_label", "node_label"]

_ABBREV = {"Unbounded": "Unb", "Bounded": "Bnd", "TotalOrder": "TO", "NoOrder": "NoOrd", "ExactlyOnce": "1x", "AtLeastOnce": "≥1x"}


def edge_label(n: Node) -> str:
    """What flows out of ``n``: kind and guarantees, e.g. ``Stream Unb TO 1x``."""
    kind = "".join(w.capitalize() for w in n.kind.split("_"))
    parts = [kind]
    for m in (n.bound, n.order, n.retries):
        if m is not None:
            parts.append(_ABBREV.get(m.__name__, m.__name__))
    return " ".join(parts)


def node_label(n: Node) -> str:
    """The operator's name as drawn: its method, and ``durable 'name'`` for durable state."""
    durable = n.params.get("durable")
    return n.method if durable is None else f"{n.method} durable {durable!r}"


def _node_text(n: Node) -> str:
    return f"{node_label(n)} ({n.site})"


def _edges(g: Graph) -> list[tuple[Node, Node, str]]:
    """(source, target, style) with style in solid | network | deferred."""
    out: list[tuple[Node, Node, str]] = []
    for n in g.nodes:
        deferred: tuple[int, ...] = n.params.get("deferred", ())
        for i, d in enumerate(n.inputs):
            style = "network" if n.op == "network" else "deferred" if i in deferred else "solid"
            out.append((d, n, style))
    return out


def _in_tick(n: Node, t: TickInfo) -> bool:
    """Nodes drawn inside tick ``t``: the tick's own and its atomic section's."""
    return n.scope is t or (isinstance(n.scope, AtomicInfo) and n.scope.tick is t)


# ---- Mermaid ---------------------------------------------------------------------------------


def _mm(text: str) -> str:
    return text.replace('"', "#quot;")


def to_mermaid(g: Graph) -> str:
    lines = ["flowchart TD"]
    for loc in g.locations:
        lines.append(f'  subgraph L{loc.id}["{_mm(str(loc))}"]')
        top = [n for n in g.nodes if n.scope is loc]
        for n in top:
            lines.append(f'    n{n.id}["{_mm(_node_text(n))}"]')
        for t in g.ticks:
            if t.outer is not loc:
                continue
            inner = [n for n in g.nodes if _in_tick(n, t)]
            if not inner:
                continue
            lines.append(f'    subgraph T{t.id}["{_mm(str(t))}"]')
            for n in inner:
                lines.append(f'      n{n.id}["{_mm(_node_text(n))}"]')
            lines.append("    end")
        lines.append("  end")
    arrows = {"solid": "-->", "network": "-.->", "deferred": "-.->"}
    for src, dst, style in _edges(g):
        label = edge_label(src) + (" (next tick)" if style == "deferred" else " (network)" if style == "network" else "")
        lines.append(f'  n{src.id} {arrows[style]}|"{_mm(label)}"| n{dst.id}')
    nondet = [n for n in g.nodes if n.nondet is not None]
    if nondet:
        lines.append("  classDef nondet fill:#ffd8a8,stroke:#e8590c,stroke-width:2px")
        lines.append("  class " + ",".join(f"n{n.id}" for n in nondet) + " nondet")
        for n in nondet:
            assert n.nondet is not None
            lines.append(f'  %% nondet n{n.id} {n.site}: {n.nondet.reason}')
    return "\n".join(lines) + "\n"


# ---- DOT --------------------------------------------------------------------------------------


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(g: Graph) -> str:
    lines = ["digraph hydrologic {", "  rankdir=TB;", '  node [shape=box, style="rounded", fontname="Helvetica"];']
    for loc in g.locations:
        lines.append(f"  subgraph cluster_L{loc.id} {{")
        lines.append(f"    label={_dq(str(loc))}; style=rounded; color=\"#495057\";")
        for n in g.nodes:
            if n.scope is loc:
                lines.append(f"    n{n.id} {_dot_node(n)};")
        for t in g.ticks:
            if t.outer is not loc:
                continue
            inner = [n for n in g.nodes if _in_tick(n, t)]
            lines.append(f"    subgraph cluster_T{t.id} {{ label={_dq(str(t))}; style=dashed; color=\"#868e96\";")
            for n in inner:
                lines.append(f"      n{n.id} {_dot_node(n)};")
            lines.append("    }")
        lines.append("  }")
    styles = {"solid": "", "network": ", style=dashed, color=\"#1c7ed6\", penwidth=2", "deferred": ", style=dotted"}
    for src, dst, style in _edges(g):
        lines.append(f"  n{src.id} -> n{dst.id} [label={_dq(edge_label(src))}{styles[style]}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_node(n: Node) -> str:
    attrs = [f"label={_dq(node_label(n) + chr(10) + str(n.site))}"]
    if n.nondet is not None:
        attrs.append('style="rounded,filled"')
        attrs.append('fillcolor="#ffd8a8"')
        attrs.append('color="#e8590c"')
        attrs.append(f"tooltip={_dq('nondet: ' + n.nondet.reason)}")
    return "[" + ", ".join(attrs) + "]"


# ---- HTML (inline SVG) --------------------------------------------------------------------------

_W, _H, _GAPX, _GAPY, _PAD = 190, 44, 30, 52, 24


@dataclass
class _Box:
    x: float
    y: float
    w: float
    h: float


def _ranks(g: Graph) -> dict[int, int]:
    rank: dict[int, int] = {}
    for n in g.nodes:  # build order is topological for non-deferred, non-cycle edges
        deferred: tuple[int, ...] = n.params.get("deferred", ())
        preds = [rank.get(d.id, 0) + 1 for i, d in enumerate(n.inputs) if i not in deferred and d.id in rank]
        rank[n.id] = max(preds, default=0)
    return rank


def _layout(g: Graph) -> tuple[dict[int, _Box], dict[int, _Box], float, float]:
    rank = _ranks(g)
    node_box: dict[int, _Box] = {}
    loc_box: dict[int, _Box] = {}
    x = _PAD
    height = 0.0
    for loc in g.locations:
        nodes = [n for n in g.nodes if root_of(n.scope) is loc]
        if not nodes:
            width = _W
        else:
            per_rank: dict[int, int] = {}
            for n in nodes:
                col = per_rank.get(rank[n.id], 0)
                per_rank[rank[n.id]] = col + 1
                node_box[n.id] = _Box(x + _PAD + col * (_W + _GAPX), _PAD * 3 + rank[n.id] * (_H + _GAPY), _W, _H)
            width = max(per_rank.values()) * (_W + _GAPX) - _GAPX
        bottom = max((b.y + b.h for i, b in node_box.items() if g.nodes[i].root is loc), default=_PAD * 3 + _H)
        loc_box[loc.id] = _Box(x, _PAD, width + 2 * _PAD, bottom)
        height = max(height, bottom + _PAD * 2)
        x += width + 3 * _PAD
    return node_box, loc_box, x, height


def _external_ports(g: Graph, loc: LocationInfo) -> list[str]:
    """For an External: the ports it feeds and reads, as text lines."""
    if loc.kind != "external":
        return []
    lines: list[str] = []
    for n in g.nodes:
        if n.params.get("external") is loc:
            arrow = "sends to" if n.op in ("source_external", "source_external_bidi", "external_membership") else "receives from"
            lines.append(f"{arrow} port '{n.params['name']}' ({n.root})")
    return lines


def to_html(g: Graph, title: str = "hydrologic program") -> str:
    node_box, loc_box, width, height = _layout(g)
    svg: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="graph" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#495057"/></marker>'
        '<marker id="arrow-net" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1c7ed6"/></marker></defs>',
    ]
    for loc in g.locations:
        b = loc_box[loc.id]
        cls = {"process": "process", "cluster": "cluster", "external": "external"}[loc.kind]
        ports = "".join(
            f'<text class="port" x="{b.x + 12}" y="{b.y + 44 + 16 * i}">{html.escape(text)}</text>'
            for i, text in enumerate(_external_ports(g, loc))
        )
        svg.append(
            f'<g class="location {cls}"><rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="10"/>'
            f'<text class="loc-label" x="{b.x + 12}" y="{b.y + 22}">{html.escape(str(loc))}</text>{ports}</g>'
        )
    for t in g.ticks:
        inner = [node_box[n.id] for n in g.nodes if _in_tick(n, t)]
        if not inner:
            continue
        x0 = min(b.x for b in inner) - 10
        y0 = min(b.y for b in inner) - 22
        x1 = max(b.x + b.w for b in inner) + 10
        y1 = max(b.y + b.h for b in inner) + 10
        svg.append(
            f'<g class="tick"><rect x="{x0}" y="{y0}" width="{x1 - x0}" height="{y1 - y0}" rx="8"/>'
            f'<text class="tick-label" x="{x0 + 8}" y="{y0 + 15}">{html.escape(str(t))}</text></g>'
        )
    for src, dst, style in _edges(g):
        a, b = node_box[src.id], node_box[dst.id]
        x1, y1 = a.x + a.w / 2, a.y + a.h
        x2, y2 = b.x + b.w / 2, b.y
        if style == "deferred" or y2 <= y1:
            x1, y1, x2, y2 = a.x + a.w, a.y + a.h / 2, b.x + b.w, b.y + b.h / 2
            path = f"M {x1} {y1} C {x1 + 60} {y1}, {x2 + 60} {y2}, {x2} {y2}"
        else:
            my = (y1 + y2) / 2
            path = f"M {x1} {y1} C {x1} {my}, {x2} {my}, {x2} {y2}"
        marker = "arrow-net" if style == "network" else "arrow"
        label = edge_label(src) + (" · next tick" if style == "deferred" else "")
        lx, ly = (x1 + x2) / 2 + 4, (y1 + y2) / 2 - 3
        svg.append(
            f'<g class="edge {style}"><title>{html.escape(label)}</title>'
            f'<path d="{path}" marker-end="url(#{marker})"/>'
            f'<text class="edge-label" x="{lx:.0f}" y="{ly:.0f}">{html.escape(label)}</text></g>'
        )
    for n in g.nodes:
        b = node_box[n.id]
        nd = n.nondet is not None
        tip = f"{n.method} at {n.site}\n{n.type_str()}" + (f"\nnondet: {n.nondet.reason}" if n.nondet else "")
        svg.append(
            f'<g class="node{" nondet" if nd else ""}" data-node="{n.id}"><title>{html.escape(tip)}</title>'
            f'<rect x="{b.x}" y="{b.y}" width="{b.w}" height="{b.h}" rx="6"/>'
            f'<text class="op" x="{b.x + 8}" y="{b.y + 18}">{html.escape(node_label(n))}</text>'
            f'<text class="site" x="{b.x + 8}" y="{b.y + 34}">{html.escape(str(n.site))}</text></g>'
        )
    svg.append("</svg>")
    nondet_rows = "".join(
        f"<li><code>{html.escape(s.site.__str__())}</code> <b>{html.escape(s.op)}</b> on {html.escape(s.location)}: "
        f"{html.escape(s.reason)}</li>"
        for s in g.nondet_sites()
    ) or "<li>none — this program has exactly one behaviour for given inputs</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px; color: #212529; }}
.location rect {{ fill: #f8f9fa; stroke: #495057; stroke-width: 1.5; }}
.location.cluster rect {{ fill: #e7f5ff; }}
.location.external rect {{ fill: #fff9db; }}
.loc-label {{ font-weight: bold; font-size: 14px; }}
.port {{ font-size: 11px; fill: #495057; }}
.tick rect {{ fill: none; stroke: #868e96; stroke-dasharray: 6 4; }}
.tick-label {{ font-size: 11px; fill: #868e96; }}
.node rect {{ fill: #ffffff; stroke: #343a40; stroke-width: 1.2; }}
.node.nondet rect {{ fill: #ffd8a8; stroke: #e8590c; stroke-width: 2.5; }}
.op {{ font-size: 13px; font-weight: bold; }}
.site {{ font-size: 10px; fill: #495057; }}
.edge path {{ fill: none; stroke: #495057; stroke-width: 1.2; }}
.edge.network path {{ stroke: #1c7ed6; stroke-width: 2.2; stroke-dasharray: 7 4; }}
.edge.deferred path {{ stroke-dasharray: 2 3; }}
.edge-label {{ font-size: 9px; fill: #495057; }}
.legend span {{ display: inline-block; margin-right: 18px; }}
</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="legend"><span>— local edge</span><span style="color:#1c7ed6">- - network edge</span><span>··· next tick</span>
<span style="background:#ffd8a8;border:2px solid #e8590c;padding:0 4px">nondet site</span>
<span>labels: kind, boundedness (Unb/Bnd), order (TO/NoOrd), retries (1x/≥1x)</span></p>
{''.join(svg)}
<h2>Nondet sites</h2><ul id="nondet-sites">{nondet_rows}</ul>
</body></html>
"""
