"""The dbt project's files, without running dbt: staging agrees with the ingest contracts,
every model has its YAML (grain, every column described), marts enforce contracts, and
marts use no DuckDB-only syntax."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from ingest.contracts import CONTRACTS

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
MODELS = DBT_DIR / "models"
# DuckDB spellings that other engines do not know; staging may use them (marked), marts may not
DUCKDB_ONLY = re.compile(
    r"\b(qualify|list_\w+|struct_pack|strftime|strptime|regexp_matches|epoch)\b|::", re.I
)


def _generator():
    spec = importlib.util.spec_from_file_location(
        "generate_staging", DBT_DIR / "scripts" / "generate_staging.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model_yaml() -> dict[str, dict]:
    models = {}
    for path in MODELS.rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            models[model["name"]] = model | {"_yaml": path}
    return models


def test_staging_and_the_raw_tables_macro_are_what_the_generator_writes_from_the_contracts(tmp_path):
    _generator().main(tmp_path / "staging", tmp_path / "macros")
    generated = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p: (MODELS / p if p.parts[0] == "staging" else DBT_DIR / p).read_text() for p in generated}
    stale = [str(p) for p in generated if generated[p] != committed[p]]
    assert Path("macros/raw_tables.sql") in generated
    assert stale == [], "run: python dbt/scripts/generate_staging.py"


def test_every_contract_entity_has_a_staging_model_keeping_its_column_names():
    models = _model_yaml()
    gen = _generator()
    for contract in CONTRACTS.values():
        model = models[gen.model_name(contract)]
        columns = [c["name"] for c in model["columns"]]
        assert columns[: len(contract.columns)] == list(contract.column_names)


def test_every_model_has_yaml_with_its_grain_and_every_column_described():
    models = _model_yaml()
    sql_models = [p.stem for p in MODELS.rglob("*.sql") if "resolution" not in p.parts]
    missing = [m for m in sql_models if m not in models]
    assert missing == []
    for name in sql_models:
        model = models[name]
        assert "grain" in model["description"].lower(), name
        undescribed = [c["name"] for c in model["columns"] if not c.get("description")]
        assert undescribed == [], name


def test_marts_enforce_contracts_with_a_type_for_every_column():
    models = _model_yaml()
    marts = [p.stem for p in (MODELS / "marts").rglob("*.sql") if "pii" not in p.parts]
    assert len(marts) >= 25
    for name in marts:
        model = models[name]
        assert model.get("config", {}).get("contract", {}).get("enforced") is True, name
        assert all(c.get("data_type") for c in model["columns"]), name


def test_no_model_uses_duckdb_only_syntax():
    """Every SQL model runs on DuckDB and on Spark (docs/scale-out.md): what an engine spells its own
    way lives in a macro dispatched per adapter (macros/engines.sql, macros/cross_db.sql)."""
    offenders = []
    for path in MODELS.rglob("*.sql"):
        code = re.sub(r"--.*", "", path.read_text())
        if DUCKDB_ONLY.search(code) or re.search(r"\bas varchar\b", code, re.I):
            offenders.append(path.name)
    assert offenders == []


def test_seed_column_types_are_spelled_for_both_engines():
    """Seeds are created by each adapter from these types: Spark's varchar needs a length, and
    `string` is text on both engines."""
    seeds = yaml.safe_load((DBT_DIR / "seeds" / "_seeds.yml").read_text())["seeds"]
    typed = {s["name"]: s.get("config", {}).get("column_types", {}) for s in seeds}
    assert any(typed.values())
    varchar = [
        f"{seed}.{column}" for seed, types in typed.items() for column, t in types.items() if "varchar" in t
    ]
    assert varchar == []


def _macros() -> dict[str, str]:
    found = {}
    for path in (DBT_DIR / "macros").glob("*.sql"):
        for name in re.findall(r"{%-?\s*macro\s+(\w+)\(", path.read_text()):
            found[name] = path.name
    return found


def test_every_engine_specific_macro_has_a_dispatching_macro_or_overrides_one_of_dbt():
    macros = _macros()
    text = "".join(p.read_text() for p in (DBT_DIR / "macros").glob("*.sql"))
    # dbt's own cross-database macros this project overrides on Spark (dispatch search order)
    dbt_overrides = {"listagg", "cast", "format_column", "get_select_subquery", "load_csv_rows"}
    for name in macros:
        engine, _, base = name.partition("__")
        if engine not in ("spark", "duckdb") or not base:
            continue
        if base in dbt_overrides:
            continue
        assert f"adapter.dispatch('{base}'" in text, f"{name} is never dispatched to"


def test_the_resolution_python_models_have_spark_stand_ins_of_the_same_names():
    python_models = {p.stem for p in (MODELS / "intermediate" / "resolution").glob("*.py")}
    stand_ins = {p.stem for p in (MODELS / "intermediate" / "resolution" / "outside_dbt").glob("*.sql")}
    assert python_models and python_models == stand_ins
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    resolution = project["models"]["crm_warehouse"]["intermediate"]["resolution"]
    for name in python_models:
        assert resolution[name]["+enabled"] == "{{ target.type != 'spark' }}", name
    assert resolution["outside_dbt"]["+enabled"] == "{{ target.type == 'spark' }}"
