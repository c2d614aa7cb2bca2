"""A picture of a pipeline, drawn on the server as SVG: the entrypoint's DAG or steps, left to right by
dependency level, and the exit handler in its own lane below. Each node shows its retry limit and
policy, its deadline, approval gates and conditions; nothing from the manifest reaches the SVG without
being escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from generator.depends import depends_tasks
from generator.explain import failure_modes
from generator.model import Manifest, Task, Template, WorkflowSpec

NODE_W, NODE_H, GAP_X, GAP_Y, PAD, LANE_HEAD = 210, 90, 56, 18, 16, 26


@dataclass(frozen=True)
class Node:
    id: str
    title: str
    lines: tuple[str, ...]
    kind: str  # "step", "gate", "group"
    level: int
    row: int


def _retry(template: Template, spec: WorkflowSpec) -> str:
    retry = template.retry or spec.retry
    if template.kind == "suspend":
        return ""
    if retry is None:
        return "no retries"
    if not retry.bounded:
        return "retries UNBOUNDED"
    return f"retry ≤{retry.limit} {retry.effective_policy}"


def _deadline(template: Template) -> str:
    if template.active_deadline_seconds is not None:
        return f"deadline {template.active_deadline_seconds}s"
    if template.timeout is not None:
        return f"timeout {template.timeout}"
    if template.kind == "suspend":
        return "waits for approval" if template.suspend_duration is None else f"auto after {template.suspend_duration}"
    return "no deadline" if template.runs_pod else ""


def _describe(task: Task, spec: WorkflowSpec) -> tuple[str, tuple[str, ...]]:
    template = spec.templates.get(task.template or "")
    if template is None:
        return "step", ("template not found",)
    if not template.is_leaf:
        return "group", (f"{template.kind}: {len(template.children)} steps",)
    kind = "gate" if template.kind == "suspend" else "step"
    lines = [line for line in (_retry(template, spec), _deadline(template)) if line]
    if task.when:
        lines.append(f"when {task.when}")
    elif task.continue_on_failed or task.continue_on_error:
        lines.append("continues on failure")
    return kind, tuple(lines)


def _levels(tasks: tuple[Task, ...]) -> dict[str, int]:
    names = {t.name for t in tasks}
    parents = {t.name: [d for d in (*t.dependencies, *depends_tasks(t.depends)) if d in names] for t in tasks}
    level: dict[str, int] = {}

    def depth(name: str, trail: frozenset[str]) -> int:
        if name not in level:
            above = [depth(p, trail | {name}) for p in parents[name] if p not in trail]
            level[name] = 1 + max(above, default=-1)
        return level[name]

    for task in tasks:
        depth(task.name, frozenset())
    return level


def _lane(template: Template | None, spec: WorkflowSpec, prefix: str) -> tuple[list[Node], list[tuple[str, str]]]:
    """Nodes and edges of one lane: the entrypoint or the exit handler."""
    if template is None:
        return [], []
    if template.is_leaf:
        task = Task(name=template.name, template=template.name, line=template.line)
        kind, lines = _describe(task, spec)
        return [Node(prefix + template.name, template.name, lines, kind, 0, 0)], []
    if template.kind == "dag":
        tasks = template.dag_tasks
        level = _levels(tasks)
        names = {t.name for t in tasks}
        edges = [(prefix + p, prefix + t.name) for t in tasks
                 for p in dict.fromkeys((*t.dependencies, *depends_tasks(t.depends))) if p in names]
        placed = [(t, level[t.name]) for t in tasks]
    else:
        placed = [(t, i) for i, group in enumerate(template.steps) for t in group]
        edges = [(prefix + a.name, prefix + b.name) for i in range(1, len(template.steps))
                 for a in template.steps[i - 1] for b in template.steps[i]]
    rows: dict[int, int] = {}
    nodes = []
    for task, lvl in placed:
        kind, lines = _describe(task, spec)
        nodes.append(Node(prefix + task.name, task.name, lines, kind, lvl, rows.get(lvl, 0)))
        rows[lvl] = rows.get(lvl, 0) + 1
    return nodes, edges


def _text(x: float, y: float, text: str, cls: str, limit: int = 30) -> str:
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}">{escape(shown)}</text>'


def _detail(x: float, y: float, text: str, limit: int = 32) -> str:
    """One detail line of a box, cut to fit, with the whole line as its hover text (a cut ``when``
    hides exactly the part that matters, such as the approval check)."""
    shown = text if len(text) <= limit else text[: limit - 1] + "…"
    return f'<text x="{x:.0f}" y="{y:.0f}" class="detail">{escape(shown)}<title>{escape(text)}</title></text>'


def _node_svg(node: Node, x: float, y: float) -> str:
    parts = [f'<g class="node {node.kind}" data-step="{escape(node.title)}">',
             f'<title>{escape(node.title + ": " + "; ".join(node.lines))}</title>',
             f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="8"/>',
             _text(x + 10, y + 22, ("gate: " if node.kind == "gate" else "") + node.title, "name", 26)]
    parts += [_detail(x + 10, y + 42 + 16 * i, line) for i, line in enumerate(node.lines[:3])]
    parts.append("</g>")
    return "".join(parts)


def conditions(manifest: Manifest) -> dict[str, str]:
    """Each task's or step's full ``when`` expression, by step name: the graph's boxes can only show the
    start of it, so the page's table and the hover text carry it whole."""
    found: dict[str, str] = {}
    for template in manifest.spec.templates.values():
        for task in (*template.dag_tasks, *(t for group in template.steps for t in group)):
            if task.when:
                found[task.name] = task.when
    return found


def _no_exit_handler(manifest: Manifest, y: float) -> str:
    """A red warning only when the pipeline creates something and nothing is left to clean it up after a
    failure; a pipeline that creates nothing (approval-gated-delete deletes, it creates nothing) needs no
    exit handler, and a red warning there would teach people to ignore it."""
    rows = failure_modes(manifest)
    created = any(effect.startswith("creates") for row in rows for effect in row.side_effects)
    if created:
        return _text(PAD, y + 16, "no exit handler: nothing cleans up after a failure", "lane missing", 80)
    return _text(PAD, y + 16, "no exit handler: this pipeline creates nothing that needs cleanup", "lane", 80)


def dag_svg(manifest: Manifest) -> str:
    """The SVG picture of the manifest's entrypoint and exit handler."""
    spec = manifest.spec
    lanes = [
        (f"entrypoint: {spec.entrypoint or '-'}", *_lane(spec.templates.get(spec.entrypoint or ""), spec, "main:")),
        ("exit handler (onExit): runs when the workflow ends, whatever the outcome",
         *_lane(spec.templates.get(spec.exit_handler or ""), spec, "exit:")),
    ]
    body: list[str] = []
    where: dict[str, tuple[float, float]] = {}
    y, width = PAD, 0.0
    for label, nodes, edges in lanes:
        if not nodes and label.startswith("exit"):
            body.append(_no_exit_handler(manifest, y))
            y += LANE_HEAD
            continue
        body.append(_text(PAD, y + 16, label, "lane", 90))
        top = y + LANE_HEAD
        for node in nodes:
            x, ny = PAD + node.level * (NODE_W + GAP_X), top + node.row * (NODE_H + GAP_Y)
            where[node.id] = (x, ny)
            body.append(_node_svg(node, x, ny))
            width = max(width, x + NODE_W + PAD)
        rows = max((n.row for n in nodes), default=0) + 1
        for a, b in edges:
            (x1, y1), (x2, y2) = where[a], where[b]
            body.insert(0, f'<path class="edge" d="M{x1 + NODE_W:.0f},{y1 + NODE_H / 2:.0f} '
                           f'L{x2:.0f},{y2 + NODE_H / 2:.0f}" marker-end="url(#arrow)"/>')
        y = top + rows * (NODE_H + GAP_Y) + 4
    deadline = f"workflow deadline {spec.active_deadline_seconds}s" if spec.active_deadline_seconds else \
        "no workflow deadline"
    body.append(_text(PAD, y + 14, deadline, "lane", 60))
    height, width = y + 26, max(width, 520.0)
    name = escape(manifest.name or "pipeline")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" aria-labelledby="dag-title" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">'
        f'<title id="dag-title">Pipeline graph of {name}: steps, retries, deadlines, gates, exit handler</title>'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>'
        + "".join(body) + "</svg>"
    )
