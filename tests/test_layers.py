"""Imports run only down the layers of ARCHITECTURE.md, and no imports go round in a circle.

Read from the source with ``ast``: nothing is imported to build the graph. Every import
counts, the ones inside functions too; an import under ``if TYPE_CHECKING:`` (never run)
counts for the layers but not for circles.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "advnets"

# Top first. A part may import from its own layer and the layers below it.
LAYERS: list[set[str]] = [
    {"cli", "__main__"},
    {"experiments", "explain", "figures"},
    {"evaluation", "training"},
    {"games"},
    {"models", "data", "runs", "sampling"},
    {"config", "files", "limits", "arrays", "__init__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def part(module: str) -> str:
    """The layer part of a module: advnets.training.loop -> training; advnets -> __init__."""
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def _type_checking_lines(tree: ast.Module) -> set[int]:
    """Line numbers inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports(module: str) -> list[tuple[str, bool]]:
    """The advnets modules ``module`` imports, each with whether the import ever runs."""
    tree = ast.parse(MODULES[module].read_text())
    typing_only = _type_checking_lines(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in MODULES
                else node.module
                for alias in node.names
            ]
        else:
            continue
        runs = node.lineno not in typing_only
        found += [(name, runs) for name in names if name.split(".")[0] == "advnets"]
    return found


GRAPH = {module: imports(module) for module in MODULES}


def layer(module: str) -> int:
    return next(i for i, parts in enumerate(LAYERS) if part(module) in parts)


def test_every_part_has_a_layer():
    unplaced = {part(module) for module in MODULES} - set().union(*LAYERS)
    assert not unplaced, f"add {sorted(unplaced)} to a layer in LAYERS"


def test_imports_only_go_down_the_layers():
    upward = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target, _ in targets
        if layer(target) < layer(module)
    ]
    assert upward == []


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of ``graph`` (as its nodes, the first repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


@pytest.mark.parametrize("level", ["module", "part"])
def test_no_circle_of_imports(level):
    if level == "module":
        graph = {m: {t for t, runs in targets if runs} for m, targets in GRAPH.items()}
    else:
        graph: dict[str, set[str]] = {}
        for module, targets in GRAPH.items():
            edges = graph.setdefault(part(module), set())
            edges |= {part(t) for t, _ in targets if part(t) != part(module)}
    assert _circle(graph) == []


def test_the_check_finds_an_upward_import_and_a_circle():
    assert layer("advnets.runs.rundir") > layer("advnets.training.loop")
    assert _circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
