"""The rule dependency graph of a knowledge base, laid out in columns and drawn as SVG or Mermaid.

Columns run left to right: the input facts, then the derived findings (one
column per derivation depth: a finding read by a rule that derives another
finding sits to its left), then the conclusions (triage levels and catalogue
recommendations). An edge joins something a rule reads to something the same
rule concludes; edges are aggregated over rules, so one edge stands for every
rule that links the same two nodes in the same way, and its tooltip names
them. A dashed edge reads an absence: a finding no rule derived, a fact
answered no, or a fact left unknown.

The layout is a plain layered (Sugiyama-style) heuristic, enough for a few
hundred nodes without a Graphviz binary: barycenter sweeps order each column
to reduce crossings, then each node is placed as close as it can get to the
mean height of what it reads, keeping the column's order and spacing.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spasm_advisor.kb.conditions import FindingRef, Literal_, holds_on_absence
from spasm_advisor.kb.model import TRIAGE_LEVELS, KnowledgeBase

__all__ = [
    "DependencyGraph",
    "GraphEdge",
    "GraphNode",
    "Layout",
    "anchor",
    "dependency_graph",
    "layout_graph",
    "render_mermaid",
    "render_svg",
]

# Node kinds, and the action kinds an edge can carry.
NODE_KINDS: tuple[str, ...] = ("fact", "finding", "triage", "recommendation")
EDGE_KINDS: tuple[str, ...] = ("derive", "triage", "recommend", "withhold", "caution")

# The audit report's element ids; the graph links each node to its entry there.
_ANCHOR_PREFIX = {
    "fact": "fact",
    "finding": "finding",
    "triage": "triage",
    "recommendation": "rec",
    "source": "source",
    "rule": "rule",
    "case": "case",
    "invariant": "inv",
}

# Geometry, in SVG user units (pixels). Labels use a monospace font so their
# width is known exactly without measuring text: 0.6 em per character.
_FONT_SIZE = 11.0
_CHAR_WIDTH = _FONT_SIZE * 0.6
_NODE_HEIGHT = 18.0
_PITCH = 24.0  # vertical distance between node tops in one column
_PAD_X = 8.0  # label padding inside a node
_COLUMN_GAP = 130.0  # room for the edges between two columns
_MARGIN = 16.0
_HEADER = 58.0  # space above the first node for the legend and the column titles
_SWEEPS = 12


def anchor(kind: str, name: str) -> str:
    """The audit-report element id for a fact, finding, rule... (``fact-age``, ``rec-acupuncture``)."""
    return f"{_ANCHOR_PREFIX[kind]}-{name}"


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A fact, finding, triage level or recommendation.

    ``key`` is unique in the graph (``fact:age``); ``group`` is the fact's
    role, the recommendation's category or the triage level, for colour;
    ``detail`` is the tooltip (question or title); ``used`` is false for a
    node no rule reads or concludes.
    """

    key: str
    name: str
    kind: str
    column: int
    group: str
    detail: str
    used: bool = True


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """Something rules read (``source``) leading to what they conclude (``target``).

    ``kind`` is the action (derive, triage, recommend, withhold, caution);
    ``absence`` is true when the rules read the absence of the source (no
    such finding, a fact answered no, or unknown).
    """

    source: str
    target: str
    kind: str
    absence: bool
    rules: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DependencyGraph:
    """Nodes in column order, edges, and a title for each column."""

    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    columns: tuple[str, ...]

    def node(self, key: str) -> GraphNode:
        """The node with this key."""
        return next(n for n in self.nodes if n.key == key)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each node goes: ``positions`` maps a node key to its top-left corner.

    Every node of a column has the column's width; ``labels`` name the blocks
    of the conclusions column (triage, referral, relief, therapy).
    """

    positions: Mapping[str, tuple[float, float]]
    column_x: tuple[float, ...]
    column_width: tuple[float, ...]
    width: float
    height: float
    labels: tuple[tuple[float, float, str], ...] = ()  # block labels: x, baseline y, text


def _reads_absence(lit: Literal_) -> bool:
    """Whether a literal holds on an absence: no finding, a 'no' answer, or an unanswered fact."""
    return holds_on_absence(lit)


def _target_key(kind: str, target: str) -> str:
    if kind == "derive":
        return f"finding:{target}"
    if kind == "triage":
        return f"triage:{target}"
    return f"recommendation:{target}"


def _finding_depths(kb: KnowledgeBase) -> dict[str, int]:
    """Longest chain of findings below each finding (1 when it rests on facts only).

    Circular derivations are a verification error, not a drawing one: a back
    edge is ignored so the depth stays finite and the graph still draws.
    """
    below: dict[str, set[str]] = {name: set() for name in kb.findings}
    for rule in kb.rules:
        for name in rule.derives:
            below.setdefault(name, set()).update(rule.findings_read())
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in depth:
            return depth[name]
        if name in visiting:
            return 0
        visiting.add(name)
        result = 1 + max((visit(child) for child in sorted(below.get(name, ()))), default=0)
        visiting.discard(name)
        depth[name] = result
        return result

    for name in sorted(below):
        visit(name)
    return depth


def dependency_graph(kb: KnowledgeBase) -> DependencyGraph:
    """Build the dependency graph of a knowledge base (facts -> findings -> conclusions)."""
    depths = _finding_depths(kb)
    last_finding_column = max(depths.values(), default=0)
    conclusion_column = last_finding_column + 1

    grouped: dict[tuple[str, str, str, bool], set[str]] = {}
    for rule in kb.rules:
        reads = {
            (
                f"finding:{lit.name}" if isinstance(lit, FindingRef) else f"fact:{lit.name}",
                _reads_absence(lit),
            )
            for conj in rule.dnf
            for lit in conj
        }
        for action in rule.actions:
            target = _target_key(action.kind, action.target)
            for source, absence in reads:
                grouped.setdefault((source, target, action.kind, absence), set()).add(rule.id)
    edges = tuple(
        GraphEdge(source, target, kind, absence, tuple(sorted(rules)))
        for (source, target, kind, absence), rules in sorted(grouped.items())
    )
    touched = {e.source for e in edges} | {e.target for e in edges}

    nodes: list[GraphNode] = []
    for fact in kb.facts.values():
        key = f"fact:{fact.id}"
        nodes.append(GraphNode(key, fact.id, "fact", 0, fact.role, fact.question, key in touched))
    for name in sorted(depths, key=lambda n: (depths[n], n)):
        key = f"finding:{name}"
        nodes.append(GraphNode(key, name, "finding", depths[name], "finding", "derived finding", key in touched))
    # Highest triage first: the emergency node sits on top, where a reader looks first.
    for level in reversed(TRIAGE_LEVELS):
        key = f"triage:{level}"
        if key in touched:
            nodes.append(GraphNode(key, level, "triage", conclusion_column, level, f"triage level {level}"))
    for rec in kb.recommendations.values():
        key = f"recommendation:{rec.id}"
        nodes.append(
            GraphNode(key, rec.id, "recommendation", conclusion_column, rec.category, rec.title, key in touched)
        )

    columns = ["Input facts"]
    columns += [f"Findings, depth {d}" for d in range(1, last_finding_column + 1)]
    columns.append("Triage and recommendations")
    return DependencyGraph(tuple(nodes), edges, tuple(columns))


# --------------------------------------------------------------------------
# Layout
# --------------------------------------------------------------------------


_BLOCKS: tuple[str, ...] = ("triage", "referral", "relief", "therapy")


def _block(node: GraphNode) -> str:
    """The labelled block of the conclusions column a node belongs to ("" elsewhere).

    Triage levels come first and recommendations are grouped by category, so a
    reader finds "every therapy" in one place; barycenter order applies within
    a block.
    """
    if node.kind == "triage":
        return "triage"
    if node.kind == "recommendation":
        return node.group
    return ""


def _block_rank(node: GraphNode) -> int:
    block = _block(node)
    return _BLOCKS.index(block) if block in _BLOCKS else len(_BLOCKS)


def _order_columns(graph: DependencyGraph) -> list[list[str]]:
    """Order the nodes of each column by barycenter sweeps (fewer edge crossings)."""
    width = len(graph.columns)
    columns: list[list[str]] = [[] for _ in range(width)]
    for node in graph.nodes:
        columns[node.column].append(node.key)
    column_of = {n.key: n.column for n in graph.nodes}
    block_rank = {n.key: _block_rank(n) for n in graph.nodes}
    # Triage levels keep severity order (emergency on top) rather than the crossing-minimal one.
    fixed = {n.key: -float(TRIAGE_LEVELS.index(n.name)) for n in graph.nodes if n.kind == "triage"}
    neighbours: dict[str, list[str]] = {n.key: [] for n in graph.nodes}
    for edge in graph.edges:
        neighbours[edge.source].append(edge.target)
        neighbours[edge.target].append(edge.source)

    def rank() -> dict[str, float]:
        # Positions as fractions of the column height, so columns of different
        # lengths (and edges spanning several columns) compare fairly.
        return {key: (i + 0.5) / len(col) for col in columns for i, key in enumerate(col)}

    def reorder(index: int, forward: bool) -> None:
        pos = rank()
        col = columns[index]

        def barycenter(key: str) -> float:
            others = [pos[k] for k in neighbours[key] if (column_of[k] < index if forward else column_of[k] > index)]
            return sum(others) / len(others) if others else pos[key]

        # sorted() is stable, and a node with no neighbours on that side keeps
        # its current place, so unconnected nodes do not drift.
        columns[index] = sorted(col, key=lambda key: (block_rank[key], fixed.get(key, barycenter(key))))

    # The facts column keeps vocabulary order (grouped by role as written), so
    # a clinician finds a fact where the vocabulary file puts it.
    for _ in range(_SWEEPS):
        for index in range(1, width):
            reorder(index, forward=True)
        for index in range(width - 2, 0, -1):
            reorder(index, forward=False)
    for index in range(1, width):
        reorder(index, forward=True)
    return columns


def _isotonic_place(desired: Sequence[float], offsets: Sequence[float], top: float) -> list[float]:
    """Heights closest (least squares) to ``desired`` that keep order and spacing, below ``top``.

    ``offsets[i]`` is the least distance from the first node to node ``i``.
    Subtracting it turns the spacing constraint into "non-decreasing", solved
    exactly by pool-adjacent-violators.
    """
    targets = [d - off for d, off in zip(desired, offsets, strict=True)]
    blocks: list[list[float]] = []  # [mean, weight]
    for value in targets:
        blocks.append([value, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, weight = blocks.pop()
            prev_mean, prev_weight = blocks[-1]
            total = prev_weight + weight
            blocks[-1] = [(prev_mean * prev_weight + mean * weight) / total, total]
    flat = [max(mean, top) for mean, weight in blocks for _ in range(int(weight))]
    return [z + off for z, off in zip(flat, offsets, strict=True)]


def _label_width(text: str) -> float:
    return len(text) * _CHAR_WIDTH + 2 * _PAD_X


def layout_graph(graph: DependencyGraph) -> Layout:
    """Place every node: columns left to right, each column ordered and spaced.

    The facts column is packed from the top; every later node is placed as
    near as order and spacing allow to the mean height of what its rules
    read, so most edges run nearly straight.
    """
    columns = _order_columns(graph)
    by_key = {n.key: n for n in graph.nodes}
    predecessors: dict[str, list[str]] = {n.key: [] for n in graph.nodes}
    for edge in graph.edges:
        predecessors[edge.target].append(edge.source)

    column_width = tuple(
        max([_label_width(by_key[k].name) for k in col] + [_label_width(title) * 0.8])
        for col, title in zip(columns, graph.columns, strict=True)
    )
    column_x: list[float] = []
    x = _MARGIN
    for w in column_width:
        column_x.append(x)
        x += w + _COLUMN_GAP
    width = max(x - _COLUMN_GAP + _MARGIN, _legend_width())

    top = _MARGIN + _HEADER
    y_of: dict[str, float] = {}
    labels: list[tuple[float, float, str]] = []
    for index, col in enumerate(columns):
        # A new block (triage, then each category) starts one row lower, leaving room for its label.
        offsets: list[float] = []
        starts: list[int] = []
        offset = -_PITCH
        for i, key in enumerate(col):
            offset += _PITCH
            if _block(by_key[key]) and (i == 0 or _block(by_key[key]) != _block(by_key[col[i - 1]])):
                offset += _PITCH
                starts.append(i)
            offsets.append(offset)
        desired: list[float] = []
        for i, key in enumerate(col):
            preds = [y_of[k] for k in predecessors[key] if k in y_of]
            fallback = desired[i - 1] + offsets[i] - offsets[i - 1] if i else top + offsets[0]
            desired.append(sum(preds) / len(preds) if preds and index else fallback)
        placed = _isotonic_place(desired, offsets, top)
        for key, y in zip(col, placed, strict=True):
            y_of[key] = y
        for i in starts:
            labels.append((column_x[index], placed[i] - 6, _block(by_key[col[i]])))
    positions = {key: (column_x[index], y_of[key]) for index, col in enumerate(columns) for key in col}
    height = max(y_of.values(), default=top) + _NODE_HEIGHT + _MARGIN
    return Layout(positions, tuple(column_x), column_width, width, height, tuple(labels))


# --------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------

_EDGE_COLOURS = {
    "derive": "#4a5d73",
    "triage": "#4a5d73",
    "recommend": "#4a5d73",
    "withhold": "#c0392b",
    "caution": "#c27c0e",
}

_SVG_STYLE = """
.depgraph { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.depgraph .colhead { font: 600 12px system-ui, sans-serif; fill: #1f2d3d; }
.depgraph .blocklabel { font: italic 600 11px system-ui, sans-serif; fill: #555; }
.depgraph .legendtext { font-size: 11px; fill: #333; dominant-baseline: central; }
.depgraph .node rect { stroke: #51606f; stroke-width: 0.8; }
.depgraph .node text { font-size: 11px; fill: #111; dominant-baseline: central; }
.depgraph .node.unused rect { fill: #fff; stroke-dasharray: 3 2; }
.depgraph .node.unused text { fill: #888; }
.depgraph .fact rect { fill: #e8eef5; }
.depgraph .fact.red_flag rect { fill: #fbe3e1; stroke: #b03a2e; }
.depgraph .fact.caution rect { fill: #fdf0d5; stroke: #b9770e; }
.depgraph .finding rect { fill: #e4f1e6; stroke: #2e7d4f; }
.depgraph .triage rect { fill: #f4ecf7; stroke: #6c3483; }
.depgraph .triage.emergency rect { fill: #c0392b; stroke: #7b241c; }
.depgraph .triage.emergency text { fill: #fff; font-weight: 700; }
.depgraph .triage.urgent rect { fill: #f5b7b1; }
.depgraph .recommendation rect { fill: #eaf2fb; stroke: #1f618d; }
.depgraph .recommendation.referral rect { fill: #d6eaf8; }
.depgraph .edge { fill: none; stroke-width: 1; opacity: 0.45; }
.depgraph .edge.absence { stroke-dasharray: 5 3; }
.depgraph.focus .edge { opacity: 0.05; }
.depgraph.focus .edge.hot { opacity: 0.95; stroke-width: 1.8; }
.depgraph.focus .node { opacity: 0.35; }
.depgraph.focus .node.hot { opacity: 1; }
.depgraph a:focus rect, .depgraph .node:hover rect { stroke-width: 2; }
"""


# (swatch kind, css class, text). Node swatches reuse the node classes so the
# legend cannot drift from the drawing.
_LEGEND: tuple[tuple[str, str, str], ...] = (
    ("node", "node fact", "fact"),
    ("node", "node fact red_flag", "red-flag fact"),
    ("node", "node fact caution", "caution fact"),
    ("node", "node finding", "finding"),
    ("node", "node triage", "triage level"),
    ("node", "node recommendation", "recommendation"),
    ("edge", "edge recommend", "read -> concluded"),
    ("edge", "edge recommend absence", "reads an absence (no / unknown / not derived)"),
    ("edge", "edge withhold", "withholds"),
    ("edge", "edge caution", "cautions"),
)
_SWATCH = 26.0
_LEGEND_GAP = 14.0


def _legend_width() -> float:
    return 2 * _MARGIN + sum(_SWATCH + 4 + len(text) * _CHAR_WIDTH + _LEGEND_GAP for _, _, text in _LEGEND)


def _legend() -> str:
    parts = ['<g class="legend">']
    x, y = _MARGIN, _MARGIN
    for swatch, cls, text in _LEGEND:
        if swatch == "node":
            parts.append(
                f'<g class="{cls}"><rect x="{x:.1f}" y="{y:.1f}" width="{_SWATCH:.0f}" height="12" rx="3"/></g>'
            )
        else:
            kind = cls.split()[1]
            colour = _EDGE_COLOURS[kind]
            parts.append(
                f'<path class="{cls}" style="opacity:1" d="M{x:.1f},{y + 6:.1f} h{_SWATCH - 4:.0f}" '
                f'stroke="{colour}" '
                f'marker-end="url(#arrow-{colour[1:]})"/>'
            )
        parts.append(f'<text class="legendtext" x="{x + _SWATCH + 4:.1f}" y="{y + 6:.1f}">{_e(text)}</text>')
        x += _SWATCH + 4 + len(text) * _CHAR_WIDTH + _LEGEND_GAP
    parts.append("</g>")
    return "".join(parts)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _markers() -> str:
    parts = []
    for colour in sorted(set(_EDGE_COLOURS.values())):
        parts.append(
            f'<marker id="arrow-{colour[1:]}" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
            f'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="{colour}"/></marker>'
        )
    return "<defs>" + "".join(parts) + "</defs>"


def _edge_title(graph_names: Mapping[str, GraphNode], edge: GraphEdge) -> str:
    source, target = graph_names[edge.source], graph_names[edge.target]
    reading = f"no {source.name}" if edge.absence and source.kind == "finding" else source.name
    if edge.absence and source.kind == "fact":
        reading = f"{source.name} answered no or unknown"
    verb = {
        "derive": "derives",
        "triage": "sets triage",
        "recommend": "recommends",
        "withhold": "withholds",
        "caution": "cautions on",
    }[edge.kind]
    rules = ", ".join(edge.rules)
    return f"{reading} -> {verb} {target.name} (rule{'s' if len(edge.rules) > 1 else ''}: {rules})"


def render_svg(graph: DependencyGraph, layout: Layout | None = None) -> str:
    """The graph as one standalone ``<svg>`` element (inline style, no external resources).

    Each node links to its description in the audit report (see :func:`anchor`);
    each node and edge has a ``<title>`` tooltip; nodes and edges carry
    ``data-key`` / ``data-from`` / ``data-to`` so a page script may highlight
    a node's edges.
    """
    layout = layout or layout_graph(graph)
    by_key = {n.key: n for n in graph.nodes}
    width, height = layout.width, layout.height
    out = [
        f'<svg class="depgraph" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-labelledby="depgraph-title">',
        '<title id="depgraph-title">Rule dependency graph: input facts, findings, triage and recommendations</title>',
        f"<style>{_SVG_STYLE}</style>",
        _markers(),
        _legend(),
    ]
    for x, w, title in zip(layout.column_x, layout.column_width, graph.columns, strict=True):
        out.append(
            f'<text class="colhead" x="{x + w / 2:.1f}" y="{_MARGIN + 40:.1f}" text-anchor="middle">{_e(title)}</text>'
        )
    for x, y, text in layout.labels:
        out.append(f'<text class="blocklabel" x="{x:.1f}" y="{y:.1f}">{_e(text)}</text>')
    out.append('<g class="edges">')
    for edge in graph.edges:
        (sx, sy), (tx, ty) = layout.positions[edge.source], layout.positions[edge.target]
        x1 = sx + layout.column_width[by_key[edge.source].column]
        y1 = sy + _NODE_HEIGHT / 2
        x2, y2 = tx - 1.5, ty + _NODE_HEIGHT / 2
        bend = max((x2 - x1) / 2, 30.0)
        colour = _EDGE_COLOURS[edge.kind]
        cls = f"edge {edge.kind}" + (" absence" if edge.absence else "")
        out.append(
            f'<path class="{cls}" data-from="{_e(edge.source)}" data-to="{_e(edge.target)}" '
            f'd="M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}" '
            f'stroke="{colour}" marker-end="url(#arrow-{colour[1:]})">'
            f"<title>{_e(_edge_title(by_key, edge))}</title></path>"
        )
    out.append("</g>")
    out.append('<g class="nodes">')
    for node in graph.nodes:
        x, y = layout.positions[node.key]
        w = layout.column_width[node.column]
        cls = f"node {node.kind} {node.group}" + ("" if node.used else " unused")
        tip = f"{node.kind} {node.name}: {node.detail}" + ("" if node.used else " (no rule uses it)")
        out.append(
            f'<a href="#{_e(anchor(node.kind, node.name))}"><g class="{_e(cls)}" data-key="{_e(node.key)}">'
            f"<title>{_e(tip)}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{_NODE_HEIGHT:.0f}" rx="4"/>'
            f'<text x="{x + _PAD_X:.1f}" y="{y + _NODE_HEIGHT / 2:.1f}">{_e(node.name)}</text></g></a>'
        )
    out.append("</g></svg>")
    return "\n".join(out)


# --------------------------------------------------------------------------
# Mermaid
# --------------------------------------------------------------------------

_MERMAID_PREFIX = {"fact": "fa", "finding": "fi", "triage": "tr", "recommendation": "re"}
_MERMAID_SHAPE = {
    "fact": ('["', '"]'),
    "finding": ('("', '")'),
    "triage": ('{{"', '"}}'),
    "recommendation": ('[["', '"]]'),
}


def _mermaid_id(node: GraphNode) -> str:
    return f"{_MERMAID_PREFIX[node.kind]}_{node.name}"


def _mermaid_label(text: str) -> str:
    # Mermaid labels are quoted; a quote or markup inside is written as an entity.
    return html.escape(text, quote=True)


def render_mermaid(graph: DependencyGraph) -> str:
    """The graph as a Mermaid ``flowchart LR`` (without the code fence).

    One subgraph per column; dotted arrows read an absence; withhold edges
    are red and caution edges amber (``linkStyle``).
    """
    by_key = {n.key: n for n in graph.nodes}
    lines = ["flowchart LR"]
    for index, title in enumerate(graph.columns):
        lines.append(f'  subgraph col{index}["{_mermaid_label(title)}"]')
        for node in graph.nodes:
            if node.column == index:
                left, right = _MERMAID_SHAPE[node.kind]
                lines.append(f"    {_mermaid_id(node)}{left}{_mermaid_label(node.name)}{right}")
        lines.append("  end")
    styled: dict[str, list[int]] = {"withhold": [], "caution": []}
    for number, edge in enumerate(graph.edges):
        arrow = "-.->" if edge.absence else "-->"
        lines.append(f"  {_mermaid_id(by_key[edge.source])} {arrow} {_mermaid_id(by_key[edge.target])}")
        if edge.kind in styled:
            styled[edge.kind].append(number)
    lines += [
        "  classDef fact fill:#e8eef5,stroke:#51606f",
        "  classDef red_flag fill:#fbe3e1,stroke:#b03a2e",
        "  classDef finding fill:#e4f1e6,stroke:#2e7d4f",
        "  classDef triage fill:#f4ecf7,stroke:#6c3483",
        "  classDef recommendation fill:#eaf2fb,stroke:#1f618d",
    ]
    for kind in NODE_KINDS:
        members = [
            _mermaid_id(n) for n in graph.nodes if n.kind == kind and not (kind == "fact" and n.group == "red_flag")
        ]
        if members:
            lines.append(f"  class {','.join(members)} {kind}")
    red = [_mermaid_id(n) for n in graph.nodes if n.kind == "fact" and n.group == "red_flag"]
    if red:
        lines.append(f"  class {','.join(red)} red_flag")
    for kind, colour in (("withhold", _EDGE_COLOURS["withhold"]), ("caution", _EDGE_COLOURS["caution"])):
        if styled[kind]:
            lines.append(f"  linkStyle {','.join(map(str, styled[kind]))} stroke:{colour}")
    return "\n".join(lines)
