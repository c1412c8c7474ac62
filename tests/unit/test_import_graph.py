"""No import circles in the source tree (orchestrator/, hooks/, sandbox/).

The graph is read with ``ast``, without importing anything: one node per module (a package is its
``__init__``), an edge A -> B when A's code imports B. ``from P import name`` is an edge to ``P.name``
when that is a module of the tree, else to ``P``; relative imports are resolved against A's package.
Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too, but those are not edges: a
package's ``__init__`` re-exporting its own modules would otherwise close a circle with each of them.

Which imports count:
- every import that runs when the module loads: the module body, including inside ``try``,
  ``with``, ``if`` and class bodies;
- imports under ``if TYPE_CHECKING:`` count too. They never run, but they are a dependency all
  the same (mypy follows them, and a reader must read B to read A): the circle the redesign issue
  names, ``sandbox/narrator.py`` <-> ``sandbox/world.py``, was one;
- imports inside a function (or method) do not count: they run when called, after both modules
  have loaded, and the tree uses them on purpose to keep start-up light (``bluegreen --help``
  imports no boto3; the sandbox is imported only when ``--sandbox`` is asked for).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("orchestrator", "hooks", "sandbox")

# Circles in rooms other helpers are restructuring at the same time (issue #10): reported, not fixed
# here. Each entry is a circle as `cycle_name` prints it; the lead empties this list.
KNOWN_CYCLES: set[str] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for room in ROOMS
        for path in sorted((ROOT / room).rglob("*.py"))
        if ".venv" not in path.parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def load_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of a module body (see the module docstring for which count)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue  # runs when called
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from load_time_imports(node.body)  # a dependency, though it never runs
            yield from load_time_imports(node.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    yield from load_time_imports([c for c in children if isinstance(c, ast.stmt)])
            for handler in getattr(node, "handlers", []) or []:
                yield from load_time_imports(handler.body)


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in load_time_imports(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected component with more than one module (Tarjan), as one shortest
    circle through its smallest module, so a failure names modules a person can follow."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_shortest_circle(graph, component) for component in components)


def _shortest_circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    return [*paths[node], start]
                if succ not in paths:
                    paths[succ] = [*paths[node], succ]
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no circle through {start}")  # a strongly connected component has one


def cycle_name(circle: list[str]) -> str:
    return " -> ".join(circle)


def test_the_source_tree_has_no_import_circle() -> None:
    found = {cycle_name(circle) for circle in cycles(import_graph())}
    new = sorted(found - KNOWN_CYCLES)
    assert not new, "import circles (A -> B: A imports B at load time):\n" + "\n".join(new)


def test_known_circles_still_exist() -> None:
    """An entry of KNOWN_CYCLES that is gone is removed from the list (so the list only shrinks)."""
    found = {cycle_name(circle) for circle in cycles(import_graph())}
    assert not sorted(KNOWN_CYCLES - found), "fixed circles still listed in KNOWN_CYCLES"


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b", "a"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}, [["a", "b", "c", "a"]]),
        ({"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}, [["a", "c", "a"]]),  # the shortest through "a"
        ({"x": {"y"}, "y": {"x"}, "a": {"b"}, "b": {"a"}}, [["a", "b", "a"], ["x", "y", "x"]]),
    ],
)
def test_cycles_names_each_circle(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def _graph_of(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    modules = {
        ".".join(p.relative_to(tmp_path).with_suffix("").parts).removesuffix(".__init__"): p
        for p in tmp_path.rglob("*.py")
    }
    return {name: imported_modules(name, path, set(modules)) for name, path in modules.items()}


def test_which_imports_count(tmp_path: Path) -> None:
    graph = _graph_of(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": (
                "from typing import TYPE_CHECKING\n"
                "from pkg import b\n"
                "from . import c\n"
                "try:\n    import pkg.d\nexcept ImportError:\n    pass\n"
                "if TYPE_CHECKING:\n    from pkg.e import E\n"
                "def f():\n    from pkg import f\n"
                "class K:\n    from .g import G\n"
            ),
            **{f"pkg/{m}.py": "" for m in "bcdefg"},
        },
    )
    assert graph["pkg.a"] == {"pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.g"}
