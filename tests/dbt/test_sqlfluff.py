"""The dbt models pass sqlfluff (dbt/.sqlfluff: dbt templater, lower case, trailing commas)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.tables import ensure_ingest_tables
from warehouse.connection import connect
from warehouse.dbt import DBT_PROJECT_DIR
from warehouse.settings import Settings

pytestmark = pytest.mark.slow


def test_dbt_models_and_tests_pass_sqlfluff(tmp_path):
    settings = Settings(home=tmp_path).ensure()
    with connect(settings.warehouse_path) as con:  # the dbt templater compiles against a warehouse
        ensure_ingest_tables(con)
    sqlfluff = Path(sys.executable).parent / "sqlfluff"
    env = os.environ | {"CRMW_WAREHOUSE_PATH": str(settings.warehouse_path)}
    run = subprocess.run(
        [str(sqlfluff), "lint", "models", "tests", "--format", "json", "--nofail"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout[run.stdout.index("[") :])
    violations = [
        f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}"
        for f in report
        for v in f["violations"]
    ]
    assert len(report) >= 50
    assert violations == []
