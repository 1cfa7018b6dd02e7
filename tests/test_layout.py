"""The layout's rules, read from the imports (docs/architecture.md, "Layout"): every arrow points
down the stack, only warehouse/ opens the warehouse file, and the sample-export generator is used
only by the command line, the tests and the benchmark."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each room, and the rooms it may import (its own level's neighbours are not among them).
LEVELS = {
    "warehouse": 0,
    "ingest": 1,
    "resolution": 1,
    "sample_exports": 2,
    "privacy": 2,
    "quality": 2,
    "models": 2,
    "reports": 3,
    "dagster_project": 4,
    "crmw": 5,
    "bench": 6,
}
ROOMS = tuple(LEVELS)
# who may import the generator besides the tests
GENERATOR_USERS = {"crmw", "bench", "sample_exports"}
# duckdb.connect outside warehouse/: only on files that are not the warehouse
CONNECT_ALLOWED = {
    ("bench/stages.py", "stage_baseline"),  # the DuckDB-native baseline writes its own file
}


def _python_files(room: str) -> list[Path]:
    return sorted(p for p in (ROOT / room).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level module) of every import in the file, at any depth (function-level too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module.split(".")[0]))
    return out


def _violations(room: str) -> list[str]:
    bad = []
    for path in _python_files(room):
        for line, module in _imports(path):
            if module not in LEVELS or module == room:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {module}"
            if module == "sample_exports" and room not in GENERATOR_USERS:
                bad.append(f"{where} (only the CLI, the tests and the benchmark use the generator)")
            elif LEVELS[module] >= LEVELS[room] and room != "bench":
                bad.append(f"{where} (level {LEVELS[module]} >= its own {LEVELS[room]}: the arrow points up)")
    return bad


@pytest.mark.parametrize("room", ROOMS)
def test_every_import_of_a_room_points_down_the_stack(room):
    assert (ROOT / room).is_dir(), f"{room}/ is listed in the layout but missing"
    assert _violations(room) == []


def test_ingest_and_models_never_import_each_other_nor_the_orchestration():
    pairs = [
        ("ingest", "models"),
        ("models", "ingest"),
        ("ingest", "dagster_project"),
        ("models", "dagster_project"),
    ]
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for room, other in pairs
        for path in _python_files(room)
        for line, module in _imports(path)
        if module == other
    ]
    assert found == []


def test_the_dbt_python_models_import_only_rooms_below_the_orchestration():
    models = sorted((ROOT / "dbt" / "models").rglob("*.py"))
    assert models
    found = [
        f"{p.relative_to(ROOT)}:{line} imports {module}"
        for p in models
        for line, module in _imports(p)
        if module in LEVELS and LEVELS[module] > LEVELS["resolution"]
    ]
    assert found == []


def _connect_calls(path: Path) -> list[tuple[int, str, bool]]:
    """(line, enclosing function, has arguments) of every duckdb.connect(...) call."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = []

    def visit(node, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if (
                isinstance(child, ast.Call)
                and isinstance(child.func, ast.Attribute)
                and child.func.attr == "connect"
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id == "duckdb"
            ):
                in_memory = not child.args or (
                    isinstance(child.args[0], ast.Constant) and child.args[0].value in ("", ":memory:")
                )
                calls.append((child.lineno, function, not in_memory))
            visit(child, name)

    visit(tree, "")
    return calls


def test_only_the_warehouse_room_opens_a_database_file():
    found = []
    for room in ROOMS:
        if room == "warehouse":
            continue
        for path in _python_files(room):
            rel = str(path.relative_to(ROOT))
            for line, function, opens_a_file in _connect_calls(path):
                if opens_a_file and (rel, function) not in CONNECT_ALLOWED:
                    found.append(f"{rel}:{line} in {function or 'module'}")
    assert found == [], "open the warehouse through warehouse.connection.connect"


def test_the_rule_checker_sees_an_upward_arrow(tmp_path, monkeypatch):
    room = tmp_path / "ingest"
    room.mkdir()
    (room / "bad.py").write_text("def f():\n    from models.jobs import run_all\n")
    (room / "fine.py").write_text(
        "from warehouse.connection import connect\nimport duckdb\nduckdb.connect()\n"
    )
    (room / "opens.py").write_text("import duckdb\n\ndef g(p):\n    return duckdb.connect(str(p))\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert [v.split(" (")[0] for v in _violations("ingest")] == ["ingest/bad.py:2 imports models"]
    assert [c[1:] for c in _connect_calls(room / "opens.py")] == [("g", True)]
    assert _connect_calls(room / "fine.py") == [(3, "", False)]
