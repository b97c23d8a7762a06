"""The package's layers: imports point down the data path and never form a cycle.

Every ``import`` in the package counts, at module level or inside a function, and so does
each package an import makes Python run (``import relay.parse.stamp`` runs
``relay/parse/__init__.py`` first), except a module's own parent packages, which always
run before it.  See the layout section of the README for what each layer holds.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "relay"

# lowest first; a module may import its own layer and the layers below it
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("facts", ("relay", "relay.errors", "relay.facts")),
    ("message", ("relay.message",)),
    ("parse", ("relay.framing", "relay.parse")),
    ("render", ("relay.macros", "relay.template", "relay.template_functions",
                "relay.formatjson", "relay.subject")),
    ("route", ("relay.filter", "relay.rewrite", "relay.pipeline")),
    ("io", ("relay.config", "relay.flow", "relay.natsclient", "relay.sources",
            "relay.destinations")),
    ("assemble", ("relay.assemble",)),
    ("operate", ("relay.reload", "relay.metrics", "relay.stats", "relay.workers")),
    ("lifecycle", ("relay.server", "relay.worker", "relay.heap", "relay.privileges",
                   "relay.__main__", "relay.notify", "relay.tail")),
]
CORE = ("facts", "message", "parse", "render", "route")
IO_MODULES = frozenset({"socket", "asyncio", "ssl", "selectors", "uvloop"})
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _layer(name: str) -> int:
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best >= 0, f"{name} is in no layer: add it to LAYERS and to the README"
    return best


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _imports(name: str, path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(relay modules that importing ``name`` runs, other top-level modules it imports)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    external: set[str] = set()
    for node in ast.walk(tree):
        found: list[str] = []
        if isinstance(node, ast.Import):
            found = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found = [mod]
            # "from relay.parse import json" imports the module relay.parse.json
            found += [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in known]
        for mod in found:
            if mod.split(".")[0] != "relay":
                external.add(mod.split(".")[0])
                continue
            for target in [*_ancestors(mod), mod]:
                if target in known and target != name and target not in _ancestors(name):
                    targets.add(target)
    return targets, external


def _graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = _modules()
    known = set(modules)
    graph, external = {}, {}
    for name, path in modules.items():
        graph[name], external[name] = _imports(name, path, known)
    return graph, external


def test_every_module_has_a_layer() -> None:
    for name in _modules():
        _layer(name)


def test_imports_point_down() -> None:
    graph, _ = _graph()
    upward = [
        f"{a} ({LAYERS[_layer(a)][0]}) imports {b} ({LAYERS[_layer(b)][0]})"
        for a, targets in graph.items() for b in sorted(targets) if _layer(b) > _layer(a)
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    graph, _ = _graph()
    cycles: list[str] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_core_does_no_io() -> None:
    _, external = _graph()
    core = {LAYERS.index(layer) for layer in LAYERS if layer[0] in CORE}
    found = [f"{name} imports {sorted(mods & IO_MODULES)}"
             for name, mods in external.items() if _layer(name) in core and mods & IO_MODULES]
    assert found == []


def test_the_facts_import_nothing_else_of_the_relay() -> None:
    graph, _ = _graph()
    leaf = [n for n in graph if _layer(n) == 0]
    assert {n: sorted(graph[n]) for n in leaf if graph[n] - set(leaf)} == {}


@pytest.mark.parametrize("name", sorted(_modules()))
def test_module_is_short(name: str) -> None:
    lines = len(_modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{name} has {lines} lines"


def test_facility_names_are_written_once() -> None:
    holders = [n for n, p in _modules().items() if '"solaris-cron"' in p.read_text()]
    assert holders == ["relay.facts.names"]


def test_a_detector_sees_an_upward_import(tmp_path: Path) -> None:
    # the checks above would pass on a graph they cannot read: check one that they can
    fake = tmp_path / "relay"
    (fake / "parse").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "parse" / "__init__.py").write_text("from relay.parse import json\n")
    (fake / "parse" / "json.py").write_text("def f():\n    import relay.server\n")
    (fake / "server.py").write_text("import relay.parse.json\n")
    module = sys.modules[__name__]
    old = module.ROOT
    module.ROOT = fake
    try:
        graph, _ = _graph()
    finally:
        module.ROOT = old
    assert "relay.server" in graph["relay.parse.json"]
    assert "relay.parse" in graph["relay.server"] and "relay.parse.json" in graph["relay.server"]
    assert "relay.parse" not in graph["relay.parse.json"]  # its own parent
