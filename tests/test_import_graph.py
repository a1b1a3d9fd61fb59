"""The import graph of src/ (every import statement: module-level, function-level and
TYPE_CHECKING ones): no circle, frontends reach only the public layer, and no library module
imports the package face."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cosyvoice_clone"
PACKAGE = "cosyvoice_clone"
FRONTENDS = ("cli", "mcp", "server", "integrations", "wyoming")
PUBLIC = (
    "client", "models", "errors", "catalog", "config", "audio", "emulator", "request",
    "_version", "extras",
)  # fmt: skip
"""The public layer a frontend may import (TEAM.md), besides the package face itself."""


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [
                    f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target
                    for a in node.names
                ]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target and target not in mods and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in mods and target != name:
                    graph[name].add(target)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.add(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_frontend(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in FRONTENDS


def _public(name: str) -> bool:
    parts = name.split(".")
    return name == PACKAGE or parts[1] in PUBLIC or parts[1] in FRONTENDS


MODS = _modules()
GRAPH = _graph(MODS)


def test_the_graph_sees_function_level_and_type_checking_imports() -> None:
    """A test that could not see a deferred import could not find a hidden circle."""
    assert f"{PACKAGE}.synthesis.protocol" in GRAPH[f"{PACKAGE}.models"]  # function-level
    assert f"{PACKAGE}.enrollment" in GRAPH[f"{PACKAGE}.models"]  # TYPE_CHECKING
    probe = _graph({"cosyvoice_clone.a": SRC / "catalog.py"})
    assert probe == {"cosyvoice_clone.a": set()}


def test_the_library_core_has_no_circle() -> None:
    core = [c for c in _circles(GRAPH) if not any(_is_frontend(m) for m in c)]
    assert core == [], core


def test_no_circle_anywhere() -> None:
    assert _circles(GRAPH) == []


def test_frontends_import_only_the_public_layer() -> None:
    reaches = sorted(
        (m, t) for m, targets in GRAPH.items() if _is_frontend(m) for t in targets
        if not _public(t)
    )  # fmt: skip
    assert reaches == []


def test_no_library_module_imports_the_package_face() -> None:
    importers = sorted(
        m for m, targets in GRAPH.items()
        if PACKAGE in targets and not _is_frontend(m) and m != f"{PACKAGE}.__main__"
    )  # fmt: skip
    assert importers == []
