"""realdata imports in one direction: no cycle (lazy imports included), nothing from above it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "realdata"
#: the layers above realdata (and its sibling): realdata never imports them
FORBIDDEN = ("locent.figures", "locent.paper_checks", "locent.simulate", "locent.pipeline")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("locent", "realdata", *parts)).removesuffix(".__init__")
        out[name] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every module imported anywhere in ``path`` (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _cycle(graph) -> list[str] | None:
    state, stack = {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == "open":
                return [*stack[stack.index(v) :], v]
            if v not in state and (found := visit(v)):
                return found
        stack.pop()
        state[u] = "done"
        return None

    for u in sorted(graph):
        if u not in state and (found := visit(u)):
            return found
    return None


def test_no_import_cycle_and_nothing_from_above():
    modules = _modules()
    graph, upward = {}, []
    for name, path in modules.items():
        imported = _imports(path)
        graph[name] = {m for m in imported if m in modules and m != name}
        upward += [f"{name} -> {m}" for m in imported if m.startswith(FORBIDDEN)]
    assert not upward, upward
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_walker_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
