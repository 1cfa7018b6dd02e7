"""The whole graph, materialised in process over scale-0.01 exports, with the default
configuration: every step succeeds (no DuckDB lock errors), scores and the report land,
and readers get a published copy."""

from __future__ import annotations

import duckdb
import pytest

from sample_exports import generate
from warehouse.settings import Settings


@pytest.mark.slow
def test_a_full_materialisation_over_sample_exports_succeeds_end_to_end(tmp_path, monkeypatch):
    from crmw.orchestrate import run_everything

    monkeypatch.setenv("CRMW_HOME", str(tmp_path / "home"))
    settings = Settings(home=tmp_path / "home").ensure()
    generate(out_dir=settings.landing_dir / "sample", scale=0.01, seed=11)

    result = run_everything(settings)

    assert result["success"], result["errors"]
    log = (settings.home / "logs" / "last-run.log").read_text()
    assert "database is locked" not in log.lower() and "could not set lock" not in log.lower()
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        assert con.execute("select count(*) from marts.mart_client_360").fetchone()[0] > 0
        assert con.execute("select count(*) from ml.churn_scores").fetchone()[0] > 0
        assert con.execute("select count(*) from ml.sales_forecast").fetchone()[0] > 0
    finally:
        con.close()
    reports = list(settings.reports_dir.glob("*/report.html"))
    assert reports, "the monthly report of the last month should be rendered"
