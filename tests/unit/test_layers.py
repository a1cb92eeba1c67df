"""The layering rules of README's Layout section, checked on the source: every import of every project
module (ast, imports inside functions included) forms a graph; it must have no cycle, and no layer may reach
a layer it must not know, directly or through other modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("repro", "baselines", "dvpo")

# Layer name -> module prefixes. The first matching prefix wins (longest first), so
# `repro.stages` is core while `repro.pipeline` is the shared-stages layer.
LAYERS = {
    "core": ["repro.spec", "repro.sections", "repro.stages", "repro.registry", "repro.store", "repro.layout",
             "repro.recipes", "repro.errors", "repro.versions", "repro.variants", "repro.sweep"],
    "shared_stages": ["repro.pipeline"],
    "methods": ["baselines", "dvpo"],
    "launchers": ["repro.launch"],
    "tables": ["repro.tables"],
    "cli": ["repro.cli"],
}
# What each layer must never reach, directly or through any chain of imports.
FORBIDDEN = {
    "core": ["methods", "launchers", "cli", "shared_stages"],
    "shared_stages": ["methods", "launchers", "cli"],
    "methods": ["launchers", "cli"],
    "tables": ["launchers", "cli"],
    "launchers": ["cli"],
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def imported_names(path: Path, name: str) -> set[str]:
    """Every module the file imports, anywhere in it (function bodies too), resolved to absolute names."""
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out |= {f"{mod}.{a.name}" for a in node.names}  # `from pkg import submodule`
    return out


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = {m for m in imported_names(path, name) if m in modules and m != name}
        graph[name] = edges
    return graph


def layer_of(module: str) -> str | None:
    best = None
    for layer, prefixes in LAYERS.items():
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > len(best[1])):
                best = (layer, p)
    return best[0] if best else None


def forbidden_paths(graph: dict[str, set[str]]) -> list[str]:
    """One shortest offending import chain per (module, forbidden layer)."""
    found = []
    for start in sorted(graph):
        banned = FORBIDDEN.get(layer_of(start) or "", [])
        if not banned:
            continue
        parent = {start: None}
        queue = [start]
        reported: set[str] = set()
        while queue:
            node = queue.pop(0)
            for nxt in sorted(graph[node]):
                if nxt in parent:
                    continue
                parent[nxt] = node
                layer = layer_of(nxt)
                if layer in banned:
                    if layer not in reported:
                        chain, n = [], nxt
                        while n is not None:
                            chain.append(n)
                            n = parent[n]
                        found.append(f"{layer_of(start)} -> {layer}: {' -> '.join(reversed(chain))}")
                        reported.add(layer)
                    continue  # a banned module's own imports are its layer's business
                queue.append(nxt)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_function_level_and_relative_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("from . import sib\nfrom .x import y\ndef f():\n    import baselines.sft\n")
    names = imported_names(src, "repro.pkg.m")
    assert {"repro.pkg.sib", "repro.pkg.x", "repro.pkg.x.y", "baselines.sft"} <= names


def test_checks_catch_a_cycle_and_a_transitive_forbidden_edge():
    graph = {"repro.spec": {"repro.util"}, "repro.util": {"baselines.x"}, "baselines.x": {"repro.spec"}}
    assert cycles(graph) == [["baselines.x", "repro.spec", "repro.util"]]
    assert forbidden_paths(graph) == ["core -> methods: repro.spec -> repro.util -> baselines.x"]


def test_no_import_cycles_among_project_modules():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_no_layer_reaches_what_it_must_not_know(layer):
    graph = import_graph()
    found = [p for p in forbidden_paths(graph) if p.startswith(f"{layer} ->")]
    assert not found, "forbidden imports:\n" + "\n".join(found)
