"""The import rules of docs/architecture.md, checked on the source: layers depend downwards only,
dialects import no other vendor's dialect and nothing below the service, and no module imports
itself back through a cycle. An AST walk over src/ sees every import, including those inside
functions (lazy imports of heavy packages) and under TYPE_CHECKING.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "reelforge"

# bottom to top; a module may import its own room and the rooms of lower floors only
FLOORS = (
    ("__init__", "core", "config"),
    ("media", "db", "blobs", "client"),
    ("engines", "queue"),
    ("service", "worker", "doctor"),
    ("runtime",),
    ("api",),
    ("cli",),
    ("__main__",),
)
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}
# what a dialect may import besides its own vendor's modules
DIALECT_ALLOWED = ("core", "service", "config", "api")
DIALECTS = f"{PACKAGE}.api.dialects"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if "migrations" in parts:
            continue  # Alembic's scripts, loaded by Alembic
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The reelforge modules a file imports (a name imported from a package is its submodule
    when there is one)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names.add(sub if sub in MODULES else node.module)
    return {name for name in names if name == PACKAGE or name.startswith(f"{PACKAGE}.")}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _vendor(module: str) -> str | None:
    """The vendor a dialect module belongs to (`leonardo`, `google`, `aimlapi`, ...)."""
    if not module.startswith(f"{DIALECTS}."):
        return None
    return module.removeprefix(f"{DIALECTS}.").split(".")[0]


def test_every_room_has_a_floor():
    assert {_room(m) for m in MODULES} <= FLOOR.keys(), {_room(m) for m in MODULES} - FLOOR.keys()


def test_no_import_climbs_to_a_higher_floor_or_sideways():
    bad = [
        f"{module} -> {imported}"
        for module, imports in GRAPH.items()
        for imported in imports
        if _room(imported) != _room(module) and FLOOR[_room(imported)] >= FLOOR[_room(module)]
    ]
    assert not bad, bad


def test_core_imports_nothing_of_reelforge_outside_core():
    bad = [
        (m, i) for m, imports in GRAPH.items() if _room(m) == "core" for i in imports if _room(i) != "core"
    ]
    assert not bad, bad


def test_dialects_translate_only():
    bad = []
    for module, imports in GRAPH.items():
        vendor = _vendor(module)
        if vendor is None:
            continue
        for imported in imports:
            other = _vendor(imported)
            if other is not None and other != vendor:
                bad.append(f"{module} -> {imported} (another vendor)")
            elif other is None and _room(imported) not in DIALECT_ALLOWED:
                bad.append(f"{module} -> {imported} (below the service)")
    assert not bad, bad


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    assert _cycle() is None, " -> ".join(_cycle() or [])


@pytest.mark.parametrize(
    "module, imported, check",
    [
        ("reelforge.core.job", "reelforge.db.tables", test_no_import_climbs_to_a_higher_floor_or_sideways),
        ("reelforge.db.repository", "reelforge.blobs", test_no_import_climbs_to_a_higher_floor_or_sideways),
        ("reelforge.core.job", "reelforge.config", test_core_imports_nothing_of_reelforge_outside_core),
        ("reelforge.api.dialects.highway", "reelforge.api.dialects.aimlapi", test_dialects_translate_only),
        ("reelforge.api.dialects.highway", "reelforge.media.fetch", test_dialects_translate_only),
        ("reelforge.core.errors", "reelforge.core.job", test_no_import_cycles),
    ],
)
def test_the_rules_catch_a_violation(module, imported, check, monkeypatch):
    """The checks above are not vacuous: one bad edge makes each of them fail."""
    monkeypatch.setitem(GRAPH, module, GRAPH[module] | {imported})
    with pytest.raises(AssertionError):
        check()
