"""What an analyst uses besides the report: dbt run from dbt/ with no variable set, the
semantic layer (MetricFlow) answering as the marts do, and descriptions as comments in the
warehouse and in the published copy (what SQL clients show)."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from warehouse.publish import publish
from warehouse.settings import PROJECT_DIR, Settings

BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_descriptions_are_comments_in_the_warehouse_and_in_the_published_copy(built_home: Settings, tmp_path):
    published = tmp_path / "published.duckdb"
    publish(built_home.warehouse_path, published)
    for path in (built_home.warehouse_path, published):
        con = duckdb.connect(str(path), read_only=True)
        try:
            (table,) = con.execute(
                "select comment from duckdb_tables() where schema_name = 'marts' and table_name = 'mart_client_360'"
            ).fetchone()
            column = con.execute(
                "select comment from duckdb_columns() where schema_name = 'marts' and table_name = 'fct_invoices' "
                "and column_name = 'amount_rub'"
            ).fetchone()[0]
            undescribed = con.execute(
                "select count(*) filter (where comment is null), count(*) from duckdb_columns() "
                "where schema_name = 'marts'"
            ).fetchone()
        finally:
            con.close()
        assert "grain" in table.lower(), path
        assert column and "rouble" in column.lower(), path
        assert undescribed[0] == 0 and undescribed[1] > 300, (path, undescribed)


@pytest.mark.slow
def test_an_analyst_runs_dbt_and_metricflow_from_the_dbt_folder_with_no_variable_set(
    built_home: Settings, tmp_path
):
    """A copy of the checkout's dbt/ next to a var/warehouse/ holding the built warehouse: the
    default home of that copy. dbt and mf run there with CRMW_* unset."""
    project = tmp_path / "dbt"
    shutil.copytree(PROJECT_DIR / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    (tmp_path / "var" / "warehouse").mkdir(parents=True)
    shutil.copy(built_home.warehouse_path, tmp_path / "var" / "warehouse" / "warehouse.duckdb")
    (project / "target").mkdir()
    # what `dbt parse` there would write (the session's build parsed the same files)
    shutil.copy(built_home.home / "dbt" / "target" / "semantic_manifest.json", project / "target")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMW_", "DBT_"))}

    dbt = subprocess.run(
        [str(BIN / "dbt"), "--no-use-colors", "debug"], cwd=project, env=env, capture_output=True, text=True
    )
    assert dbt.returncode == 0, dbt.stdout[-2000:]
    assert "Connection test: [OK" in dbt.stdout and "path: ../var/warehouse/warehouse.duckdb" in dbt.stdout
    out = tmp_path / "revenue.csv"
    mf = subprocess.run(
        [
            str(BIN / "mf"),
            "query",
            "--metrics",
            "revenue,invoices,margin",
            "--group-by",
            "metric_time__year",
            "--csv",
            str(out),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert mf.returncode == 0 and out.exists(), mf.stdout[-2000:] + mf.stderr[-2000:]
    with out.open() as fh:
        answered = {
            row["metric_time__year"][:4]: (float(row["revenue"]), int(row["invoices"]), float(row["margin"]))
            for row in csv.DictReader(fh)
        }
    con = duckdb.connect(str(tmp_path / "var" / "warehouse" / "warehouse.duckdb"), read_only=True)
    try:
        expected = {
            str(year): (float(revenue), int(count), float(margin))
            for year, revenue, count, margin in con.execute(
                "select year(invoice_date), sum(net_revenue_rub), count(*), sum(gross_margin_rub) "
                "from marts.fct_invoices group by 1"
            ).fetchall()
        }
    finally:
        con.close()
    assert answered.keys() == expected.keys() and len(expected) >= 3
    for year, (revenue, count, margin) in expected.items():
        assert answered[year][1] == count
        assert answered[year][0] == pytest.approx(revenue, rel=1e-9)
        assert answered[year][2] == pytest.approx(margin, rel=1e-9)


def test_the_report_exposure_names_every_mart_and_ml_table_the_report_reads():
    """dbt docs draw the report at the end of the lineage: a table its SQL reads but the
    exposure leaves out would let a change to that table look harmless."""
    exposures = yaml.safe_load((PROJECT_DIR / "dbt" / "models" / "exposures.yml").read_text())["exposures"]
    report = next(e for e in exposures if e["name"] == "management_report")
    declared = set()
    for item in report["depends_on"]:
        ref = re.fullmatch(r"ref\('(\w+)'\)", item)
        source = re.fullmatch(r"source\('(\w+)', '(\w+)'\)", item)
        declared.add(ref.group(1) if ref else source.group(2))
    code = " ".join(p.read_text() for p in (PROJECT_DIR / "reports").rglob("*.py"))
    read = set(re.findall(r"\b(?:marts|ml)\.(\w+)", code))
    assert len(read) > 15
    assert read - declared == set()
