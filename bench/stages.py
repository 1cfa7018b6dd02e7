"""One function per benchmarked stage. Each runs in its own child process (see
bench/__main__.py), so its wall time and peak memory are its own."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb


def _exports(work: Path) -> Path:
    return work / "exports"


def stage_generate(work: Path, scale: float, seed: int) -> dict:
    from sample_exports import generate

    out = _exports(work)
    shutil.rmtree(out, ignore_errors=True)
    summary = generate(out_dir=out, scale=scale, seed=seed, finance_dialect="generic")
    rows = sum(n for _, n in summary.files)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and "ground_truth" not in p.parts)
    return {"rows": rows, "files": len(summary.files), "bytes": size}


def export_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and "ground_truth" not in p.parts and not p.name.startswith(".")
    )


def stage_baseline(work: Path, scale: float, seed: int) -> dict:
    """DuckDB's own CREATE TABLE ... AS SELECT * FROM read_csv(...) of the same files."""
    db = work / "baseline.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    con.execute("set enable_progress_bar = false")
    rows = 0
    for i, path in enumerate(export_files(_exports(work))):
        reader = "read_json" if path.suffix == ".jsonl" else "read_csv"
        con.execute(f"create table t{i} as select * from {reader}(?)", [str(path)])
        rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    con.close()
    return {"rows": rows}


DLT_MISSING = (
    "dlt is not installed: it is the bench extra, pinned in requirements-bench.lock "
    "(`make bench` installs it, or `pip install -r requirements-bench.lock -c requirements.lock`)"
)


def dlt_missing_reason() -> str | None:
    """Why the dlt peer cannot run here, or None when it can."""
    return DLT_MISSING if importlib.util.find_spec("dlt") is None else None


def export_groups(folder: Path) -> dict[str, tuple[str, str]]:
    """The export files by kind, as dlt's filesystem source is pointed at them: one table per kind
    (``crm/activities__2024-05.csv`` -> table ``crm_activities``, glob ``crm/activities__*.csv``),
    each read by the transformer of its format."""
    groups: dict[str, tuple[str, str]] = {}
    for path in export_files(folder):
        rel = path.relative_to(folder)
        kind = rel.stem.split("__")[0]
        reader = "read_jsonl" if path.suffix == ".jsonl" else "read_csv"
        glob = (rel.parent / f"{kind}__*{path.suffix}").as_posix() if "__" in rel.stem else rel.as_posix()
        table = "_".join([*rel.parent.parts, kind])
        groups[glob] = (table, reader)
    return groups


def stage_dlt(work: Path, scale: float, seed: int, loader_file_format: str = "parquet") -> dict:
    """The peer: dlt's filesystem source with its ``read_csv`` (pandas) / ``read_jsonl`` transformers
    into its DuckDB destination, the same export files as the baseline.

    Loaded through parquet files, as dlt's docs advise for bulk loads: its default for DuckDB
    (``insert_values``, SQL INSERT statements) took 41 s and 2.9 GB at scale 0.01, against 8 s and
    0.4 GB."""
    if reason := dlt_missing_reason():
        return {"skipped": reason}
    # dlt sends anonymous usage events by default; a benchmark must not reach the network, and
    # dlt reads its configuration from the environment of the process it runs in (this child's)
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    import dlt
    from dlt.sources.filesystem import filesystem, read_csv, read_jsonl

    folder = _exports(work)
    db = work / "dlt.duckdb"
    db.unlink(missing_ok=True)
    pipelines_dir = work / "dlt-pipelines"  # not ~/.dlt: its state and load packages stay in work/
    shutil.rmtree(pipelines_dir, ignore_errors=True)
    transformers = {"read_csv": read_csv, "read_jsonl": read_jsonl}
    groups = export_groups(folder)
    resources = [
        (filesystem(bucket_url=folder.as_uri(), file_glob=glob) | transformers[reader]()).with_name(table)
        for glob, (table, reader) in groups.items()
    ]
    pipeline = dlt.pipeline(
        pipeline_name="bench_peer",
        pipelines_dir=str(pipelines_dir),
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="exports",
    )
    pipeline.run(resources, loader_file_format=loader_file_format)
    # counted in the destination through dlt's own client (its dataset API, pipeline.dataset(), fails
    # with the sqlglot that requirements.lock pins: qualify() lost infer_schema in sqlglot 30)
    tables = [table["name"] for table in pipeline.default_schema.data_tables()]
    with pipeline.sql_client() as client:
        rows = sum(
            client.execute_sql(f"select count(*) from {client.make_qualified_table_name(t)}")[0][0]
            for t in tables
        )
    return {"rows": rows, "tables": len(tables), "loader_file_format": loader_file_format}


def _fresh_home(work: Path, name: str) -> Path:
    home = work / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return home


def stage_ingest(
    work: Path,
    scale: float,
    seed: int,
    files: list[Path] | None = None,
    home_name="home",
    engine: str = "duckdb",
) -> dict:
    """Ingest into the warehouse file, or (spark) into the home's lake."""
    from ingest.load import ingest_into

    if files is None:
        _fresh_home(work, home_name)
    batch = ingest_into(_settings(work, home_name, engine), files or [_exports(work)])
    totals = batch.totals()
    if not batch.ok:
        raise SystemExit(f"ingest refused files: {[f.message for f in batch.refused]}")
    return totals


def _settings(work: Path, home_name: str = "home", engine: str = "duckdb"):
    from warehouse.settings import Settings

    return Settings(home=work / home_name, engine=engine)


@contextlib.contextmanager
def _engine_stage(engine: str):
    """A stage on Spark ends its JVM before the process does, so the stage's peak memory counts the
    JVM (a child the process waits for) and the next stage can open the metastore."""
    try:
        yield
    finally:
        if engine == "spark":
            from warehouse.spark import stop_spark

            stop_spark()


def stage_dbt(
    work: Path, scale: float, seed: int, full_refresh: bool = True, home_name="home", engine: str = "duckdb"
) -> dict:
    from resolution.runner import build_warehouse

    with _engine_stage(engine):
        result = build_warehouse(_settings(work, home_name, engine), full_refresh=full_refresh)
    return {"nodes": len(result.nodes), "dbt_seconds": round(result.seconds, 1)}


def stage_models(work: Path, scale: float, seed: int, home_name="home", engine: str = "duckdb") -> dict:
    from models.jobs import run_all
    from warehouse.dbt import build_warehouse

    settings = _settings(work, home_name, engine)
    with _engine_stage(engine):
        summary = run_all(settings)
        build_warehouse(settings, select="mart_client_scores")  # the scores joined back, as `crmw models run`
    return {"as_of": str(summary.get("as_of")), "seconds_in_models": summary.get("seconds")}


def stage_reports(work: Path, scale: float, seed: int, home_name="home", engine: str = "duckdb") -> dict:
    from reports import render_latest
    from warehouse.engine import open_tables
    from warehouse.publish import publish, publish_tables

    settings = _settings(work, home_name, engine)
    with _engine_stage(engine):
        if engine == "duckdb":
            published = publish(settings.warehouse_path, settings.published_path)
        else:
            with open_tables(settings) as tables:
                published = publish_tables(tables, settings.published_path)
    result = render_latest(settings)
    return {"published_tables": published["tables"], "period": result.get("period")}


def stage_run(work: Path, scale: float, seed: int, home_name="run") -> dict:
    """The whole `crmw run` (Dagster: ingest, quality checks, dbt build, models, publish,
    report) on a fresh home whose landing folder holds the exports (hard links)."""
    from crmw.orchestrate import run_everything

    settings = _settings(work, home_name)
    _fresh_home(work, home_name)
    exports = _exports(work)
    for path in export_files(exports):
        target = settings.landing_dir / path.relative_to(exports)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    result = run_everything(settings)
    if not result["success"]:
        raise SystemExit(f"crmw run failed at {result['failed_steps']}: {result['errors'][:1]}")
    return {"run_id": result["run_id"]}


def split_last_day(work: Path) -> tuple[list[Path], list[Path], str]:
    """Hold back the last day of every event export, to replay it as a daily increment.

    Returns (files for the full build, files of the last day, the day). Snapshot
    exports are re-sent in full on the day, as a CRM's daily export does.
    """
    from ingest.contracts import get_contract
    from ingest.detect import detect
    from ingest.readers import read_header

    src = _exports(work)
    base, day_dir = work / "split" / "base", work / "split" / "day"
    shutil.rmtree(work / "split", ignore_errors=True)
    manifest = json.loads((src / "ground_truth" / "manifest.json").read_text())
    end = date.fromisoformat(str(manifest.get("end_date", manifest.get("parameters", {}).get("end_date"))))
    day = end.isoformat()
    con = duckdb.connect()
    base_files, day_files = [], []
    for path in export_files(src):
        rel = path.relative_to(src)
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (day_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        detection = detect(read_header(path, ","), path)
        contract = get_contract(detection.entity)
        if contract.kind == "snapshot":
            shutil.copy(path, base / rel)
            day_copy = (day_dir / rel).with_name(rel.name.replace(rel.stem.split("__")[-1], day + "-daily"))
            shutil.copy(path, day_copy)
            base_files.append(base / rel)
            day_files.append(day_copy)
            continue
        et = contract.event_time
        query = f'select * from read_csv(?, all_varchar = true) where left("{et}", 10) {{op}} ?'
        con.execute(f"copy ({query.format(op='<')}) to '{base / rel}' (header)", [str(path), day])
        base_files.append(base / rel)
        n = con.execute(f"select count(*) from ({query.format(op='=')})", [str(path), day]).fetchone()[0]
        if n:
            target = (day_dir / rel).with_name(f"{contract.entity}__{day}.csv")
            con.execute(f"copy ({query.format(op='=')}) to '{target}' (header)", [str(path), day])
            day_files.append(target)
    return base_files, day_files, day


STAGES = {
    "generate": stage_generate,
    "baseline": stage_baseline,
    "dlt": stage_dlt,
    "ingest": stage_ingest,
    "dbt": stage_dbt,
    "models": stage_models,
    "reports": stage_reports,
    "run": stage_run,
}


def main() -> None:
    name, work, scale, seed = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
    if "files" in extra:
        extra["files"] = [Path(p) for p in extra["files"]]
    result = STAGES[name](work, scale, seed, **extra)
    print("BENCH-RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
