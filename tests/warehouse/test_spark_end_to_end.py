"""The whole pipeline on local Spark at scale 0.1, through Dagster (`crmw run` with CRMW_ENGINE=spark):
ingest into the lake, quality checks, the dbt build with client resolution between its two runs,
the model jobs on the Spark marts, the scores joined back, the published copy and the report; the
marts equal a DuckDB build of the same exports.

Too long for `make test` (about 10 minutes on 2 cores, more on a busy machine): `make test-spark-e2e`
runs it (marker spark_e2e, deselected by default).
"""

from __future__ import annotations

import os
import shutil

import duckdb
import pytest

from tests.support.homes import build_home, export_files, generate_sample
from tests.warehouse.test_spark_parity import differences
from warehouse.engine import open_tables
from warehouse.settings import Settings
from warehouse.spark import java_missing_reason

pytestmark = [pytest.mark.spark_e2e, pytest.mark.slow]


def test_the_whole_pipeline_runs_on_spark_through_dagster_at_scale_0_1(tmp_path, monkeypatch):
    reason = java_missing_reason()
    if reason:
        pytest.skip(f"Spark cannot run here: {reason}")
    from crmw.orchestrate import run_everything
    from warehouse.spark import stop_spark

    exports = generate_sample(tmp_path / "exports", scale=0.1)
    settings = Settings(home=tmp_path / "spark", engine="spark").ensure()
    for path in export_files(exports):
        target = settings.landing_dir / path.relative_to(exports)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    monkeypatch.setenv("CRMW_ENGINE", "spark")
    monkeypatch.delenv("CRMW_LAKE", raising=False)
    try:
        result = run_everything(settings)
        assert result["success"], result["errors"]

        # raw went to the lake, not to a DuckDB file; the marts and scores are Spark tables
        assert (settings.home / "lake" / "_crmw_lake.json").exists()
        assert not settings.warehouse_path.exists()
        with open_tables(settings) as tables:
            assert tables.engine == "spark"
            assert "mart_client_360" in tables.table_names("marts")
            scored = tables.query_arrow("select count(churn_probability) as n from marts.mart_client_scores")
            assert scored.column("n")[0].as_py() > 0
            quality = tables.query_arrow("select count(*) as n from meta.dq_suite_runs")
            assert quality.column("n")[0].as_py() > 0

        # readers get one DuckDB file as on the DuckDB engine, and the report is written
        con = duckdb.connect(str(settings.published_path), read_only=True)
        try:
            assert con.execute("select count(*) from marts.dim_clients").fetchone()[0] > 500
            assert con.execute("select count(*) from ml.churn_scores").fetchone()[0] > 0
        finally:
            con.close()
        assert list(settings.reports_dir.rglob("*.html"))

        # the same pseudonym key, so that the person keys agree
        shutil.copytree(settings.secrets_dir, tmp_path / "duckdb" / "secrets")
        duckdb_home = build_home(tmp_path / "duckdb", exports, run_tests=False)
        problems, compared = differences(duckdb_home, settings, ("marts",))
        assert compared >= 25
        assert problems == []
    finally:
        stop_spark()


def test_splink_on_spark_groups_records_into_the_same_clients_as_splink_on_duckdb(built_home, tmp_path):
    """CRMW_RESOLUTION_BACKEND=spark: the same records resolved with Splink's Spark backend give the
    same clients (200 records of the scale-0.01 sample: Spark's fixed cost makes more take minutes)."""
    reason = java_missing_reason()
    if reason:
        pytest.skip(f"Spark cannot run here: {reason}")
    from resolution import ResolutionConfig, resolve
    from resolution.linkage import LinkageConfig
    from warehouse.connection import connect
    from warehouse.spark import spark_session, stop_spark

    con = connect(built_home.warehouse_path, read_only=True)
    try:
        records = con.execute("select * from pii.int_entity_records order by record_key limit 200").df()
    finally:
        con.close()

    def clients(backend: str) -> set[frozenset[str]]:
        result = resolve(records, config=ResolutionConfig(linkage=LinkageConfig(backend=backend)))
        return set(result.records.groupby("client_id")["record_key"].apply(frozenset))

    spark_session(Settings(home=tmp_path, engine="spark"))
    try:
        on_spark = clients("spark")
    finally:
        stop_spark()
    assert on_spark == clients("duckdb")
    assert len(on_spark) < len(records)  # some records did group
