"""The import graph of the whole package: no cycle, and no import that goes up the layers.

Layers, bottom to top (a module may import its own part and any part below it, never above it
nor a sibling part of its layer):

    locent root utilities (results, provenance, progress, stats, resources)
    ← theory ← simulate | realdata ← figures ← paper_checks ← pipeline | cli

Every ``import`` and ``from ... import`` is counted, at module level or inside a function (a lazy
import hides a loop; it does not remove it), and so is ``importlib.import_module("locent...")``.
The graph is read with ``ast`` from the source folders that setup.py maps onto ``locent.<part>``;
nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: part → layer (a part is a top-level folder mapped to ``locent.<part>``, or a root module)
LAYERS = {
    "root": 0,
    "theory": 1,
    "simulate": 2,
    "realdata": 2,
    "figures": 3,
    "paper_checks": 4,
    "pipeline": 5,
    "cli": 5,
}
#: the root package's modules that are the app shell (top layer); any other root module is a
#: utility (bottom layer)
APP_MODULES = ("pipeline", "cli")


def package_folders(repo: Path = REPO) -> dict[str, Path]:
    """``{package name: folder}`` from setup.py's ``PARTS`` (read with ast, not executed)."""
    tree = ast.parse((repo / "setup.py").read_text())
    parts = next(
        ast.literal_eval(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PARTS" for t in node.targets)
    )
    return {"locent": repo / "locent", **{f"locent.{p}": repo / p for p in parts}}


def module_files(folders: dict[str, Path]) -> dict[str, Path]:
    """``{module name: file}`` of every ``.py`` file under the package folders."""
    modules = {}
    for package, folder in folders.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            modules[".".join([package, *parts])] = path
    return modules


def _is_package(module: str, modules: dict[str, Path]) -> bool:
    return modules[module].name == "__init__.py"


def imports_of(module: str, modules: dict[str, Path]) -> set[str]:
    """The package modules ``module`` imports anywhere in its file (functions included)."""
    tree = ast.parse(modules[module].read_text(), filename=str(modules[module]))
    package = module if _is_package(module, modules) else module.rpartition(".")[0]
    found: set[str] = set()

    def add(name: str) -> None:
        # the longest prefix that is one of our modules (``locent.theory.X`` → locent.theory)
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)

    for node in ast.walk(tree):
        if (  # importlib.import_module("locent.x"): a dynamic import of a named module
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("locent")
        ):
            add(str(node.args[0].value))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "locent":
                    add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "locent":
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                add(full if full in modules else source)
    found.discard(module)
    return found


def import_graph(repo: Path = REPO) -> dict[str, set[str]]:
    modules = module_files(package_folders(repo))
    return {m: imports_of(m, modules) for m in modules}


def part_of(module: str) -> str:
    """The part a module belongs to: ``locent.figures.build`` → figures; ``locent.results`` →
    root; ``locent.cli`` → cli."""
    pieces = module.split(".")
    if len(pieces) == 1:
        return "root"
    if pieces[1] in LAYERS and pieces[1] != "root":
        return pieces[1]
    return "root" if pieces[1] not in APP_MODULES else pieces[1]


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a higher layer, or of a sibling part of the same layer."""
    bad = []
    for module, targets in sorted(graph.items()):
        mine = part_of(module)
        for target in sorted(targets):
            theirs = part_of(target)
            if theirs == mine:
                continue
            if LAYERS[theirs] > LAYERS[mine]:
                bad.append(f"{module} ({mine}) imports {target} ({theirs}): up the layers")
            elif LAYERS[theirs] == LAYERS[mine] and {mine, theirs} != set(APP_MODULES):
                bad.append(f"{module} ({mine}) imports {target} ({theirs}): a sibling part")
    return bad


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = [0]

    def visit(v: str) -> None:
        # iterative enough for this graph's depth; recursion depth = longest import chain
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


# --------------------------------------------------------------------------------------------
# the package


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_covers_every_part(graph):
    parts = {part_of(m) for m in graph}
    assert parts == set(LAYERS), parts
    assert "locent.pipeline" in graph["locent.cli"]  # the run handler's import is seen


def test_no_import_goes_up_the_layers(graph):
    found = layer_violations(graph)
    assert found == [], "\n".join(found)


def test_no_import_cycle(graph):
    found = cycles(graph)
    assert found == [], "import cycles:\n" + "\n".join(" ↔ ".join(c) for c in found)


# --------------------------------------------------------------------------------------------
# the test of the test: constructed bad graphs must fail


def test_a_constructed_upward_import_and_cycle_are_found():
    bad = {
        "locent.theory.entropy": {"locent.figures.build"},  # theory → figures: up
        "locent.simulate.runner": {"locent.realdata.grid"},  # sibling parts
        "locent.results": {"locent.theory"},  # root utility → theory: up
        "locent.figures.build": {"locent.theory.entropy"},  # fine
        "locent.cli": {"locent.pipeline"},  # fine: the app shell
        "locent.pipeline": {"locent.cli"},  # allowed by layer, but a cycle with the line above
    }
    violations = layer_violations(bad)
    assert len(violations) == 3
    assert "locent.theory.entropy (theory) imports locent.figures.build" in violations[2]
    assert "sibling" in violations[1] and "locent.results (root)" in violations[0]
    assert cycles(bad) == [
        ["locent.cli", "locent.pipeline"],
        ["locent.figures.build", "locent.theory.entropy"],
    ]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_and_relative_imports_are_read(tmp_path):
    """A tiny package tree with a lazy upward import and a relative loop."""
    (tmp_path / "setup.py").write_text('PARTS = ("theory", "figures")\n')
    for folder in ("locent", "theory", "figures"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "locent" / "results.py").write_text(
        "import importlib\n\ndef g():\n    return importlib.import_module('locent.theory.a')\n"
    )
    (tmp_path / "figures" / "build.py").write_text("from locent.results import X\n")
    (tmp_path / "theory" / "a.py").write_text(
        "from . import b\n\ndef f():\n    from locent.figures import build\n    return build\n"
    )
    (tmp_path / "theory" / "b.py").write_text("from .a import f\nimport locent.results\n")
    graph = import_graph(tmp_path)
    assert graph["locent.theory.a"] == {"locent.theory.b", "locent.figures.build"}
    assert graph["locent.theory.b"] == {"locent.theory.a", "locent.results"}
    assert graph["locent.results"] == {"locent.theory.a"}
    assert layer_violations(graph) == [
        "locent.results (root) imports locent.theory.a (theory): up the layers",
        "locent.theory.a (theory) imports locent.figures.build (figures): up the layers",
    ]
    assert cycles(graph) == [
        ["locent.figures.build", "locent.results", "locent.theory.a", "locent.theory.b"]
    ]
