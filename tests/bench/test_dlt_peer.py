"""The benchmark's peer: dlt loads the export files into its DuckDB destination in a child process,
and the harness skips it with its reason where dlt (the bench extra) is not installed."""

from __future__ import annotations

import json
import sys

import duckdb
import pytest

import bench.__main__ as harness
from bench.stages import export_groups, stage_dlt

ACTIVITIES_HEADER = "activity_id,activity_type,occurred_at,account_id,duration_seconds\n"


@pytest.fixture
def work(tmp_path):
    """A benchmark work folder whose exports are two months of activities and a JSONL web export."""
    exports = tmp_path / "exports"
    (exports / "crm").mkdir(parents=True)
    (exports / "web").mkdir()
    (exports / "ground_truth").mkdir()
    (exports / "ground_truth" / "manifest.json").write_text("{}")  # never loaded
    (exports / "crm" / "activities__2024-01.csv").write_text(
        ACTIVITIES_HEADER
        + "ACT-1,call,2024-01-02T05:58:16,ACC-000069,250\nACT-2,email,2024-01-03T08:03:05,ACC-000078,\n"
    )
    (exports / "crm" / "activities__2024-02.csv").write_text(
        ACTIVITIES_HEADER + "ACT-3,meeting,2024-02-01T10:00:00,ACC-000001,3600\n"
    )
    (exports / "web" / "web_events__2024-01.jsonl").write_text(
        '{"event_id": "EV-1", "event_type": "page_view", "visitor_id": "v1"}\n'
        '{"event_id": "EV-2", "event_type": "form_submit", "visitor_id": "v1"}\n'
    )
    return tmp_path


def test_each_kind_of_export_is_one_table_read_by_the_transformer_of_its_format(work):
    assert export_groups(work / "exports") == {
        "crm/activities__*.csv": ("crm_activities", "read_csv"),
        "web/web_events__*.jsonl": ("web_web_events", "read_jsonl"),
    }


@pytest.mark.slow
def test_dlt_loads_every_row_of_the_exports_in_a_child_process(work):
    pytest.importorskip("dlt", reason="dlt is the bench extra: pip install -r requirements-bench.lock")

    stage = harness.run_stage("dlt", work, 0.01, 42)

    assert stage["result"] == {"rows": 5, "tables": 2, "loader_file_format": "parquet"}
    assert stage["seconds"] > 0 and stage["peak_mb"] > 0
    with duckdb.connect(str(work / "dlt.duckdb"), read_only=True) as con:
        activities = con.execute(
            "select activity_id, duration_seconds from exports.crm_activities order by activity_id"
        ).fetchall()
        events = con.execute("select event_id, event_type from exports.web_web_events order by 1").fetchall()
    assert activities == [("ACT-1", 250), ("ACT-2", None), ("ACT-3", 3600)]
    assert events == [("EV-1", "page_view"), ("EV-2", "form_submit")]
    assert (work / "dlt-pipelines" / "bench_peer").is_dir()  # dlt's state in work/, not ~/.dlt
    assert not list((work / "dlt-pipelines").glob("bench_peer/load/new/*"))  # every package loaded


def test_the_dlt_stage_says_why_it_cannot_run_without_dlt(work, monkeypatch):
    monkeypatch.setitem(sys.modules, "dlt", None)  # import dlt fails, as where it is not installed

    result = stage_dlt(work, 0.01, 42)

    assert "dlt is not installed" in result["skipped"]
    assert "requirements-bench.lock" in result["skipped"]
    assert not (work / "dlt.duckdb").exists()


@pytest.mark.slow
def test_the_harness_skips_dlt_with_its_reason_and_runs_the_rest(work, tmp_path_factory, monkeypatch):
    monkeypatch.setitem(sys.modules, "dlt", None)
    results_dir = tmp_path_factory.mktemp("results")
    monkeypatch.setattr(harness, "RESULTS", results_dir)
    scale_work = results_dir / "work" / "scale-0.01"  # where the harness keeps a scale's exports
    scale_work.mkdir(parents=True)
    (work / "exports").rename(scale_work / "exports")
    plot = tmp_path_factory.mktemp("docs") / "growth.png"

    code = harness.main(
        ["--scale", "0.01", "--stages", "baseline,dlt", "--out", str(results_dir), "--plot", str(plot)]
    )

    assert code == 0
    (json_path,) = results_dir.glob("bench-*.json")
    (scale,) = json.loads(json_path.read_text())["scales"]
    assert scale["stages"]["dlt"]["seconds"] is None
    assert "requirements-bench.lock" in scale["stages"]["dlt"]["result"]["skipped"]
    assert scale["stages"]["baseline"]["result"] == {"rows": 5}
    assert "ingest_vs_dlt" not in scale and "dlt_vs_baseline" not in scale
    markdown = next(results_dir.glob("bench-*.md")).read_text()
    assert "| 0.01 | dlt | - | - | skipped=dlt is not installed" in markdown
    assert plot.exists()


def test_ingest_is_reported_against_both_the_baseline_and_dlt():
    def ran(seconds):
        return {"seconds": seconds, "peak_mb": 100.0, "result": {}}

    stages = {"baseline": ran(10.0), "dlt": ran(40.0), "ingest": ran(13.0)}
    assert harness.ingest_ratios(stages) == {
        "ingest_vs_baseline": 1.3,
        "ingest_vs_dlt": 0.33,
        "dlt_vs_baseline": 4.0,
    }
    stages["dlt"] = harness.skipped_stage("dlt", "not installed")
    assert harness.ingest_ratios(stages) == {"ingest_vs_baseline": 1.3}
