"""The benchmark harness runs end to end at scale 0.01 (a smoke test: no timing asserted; the figures
in docs/performance.md come from `make bench`)."""

from __future__ import annotations

import importlib.util
import json

import pytest


@pytest.mark.slow
def test_the_benchmark_runs_every_stage_at_scale_0_01_and_writes_its_results(tmp_path, monkeypatch):
    import bench.__main__ as harness

    monkeypatch.setattr(harness, "RESULTS", tmp_path)
    out = tmp_path / "results"
    code = harness.main(
        [
            "--scale",
            "0.01",
            "--stages",
            "generate,baseline,dlt,ingest,dbt,models,reports,incremental",
            "--out",
            str(out),
            "--plot",
            str(tmp_path / "growth.png"),
        ]
    )
    assert code == 0
    (json_path,) = out.glob("bench-*.json")
    results = json.loads(json_path.read_text())
    (scale,) = results["scales"]
    for stage in ("generate", "baseline", "ingest", "dbt", "models", "reports"):
        assert scale["stages"][stage]["seconds"] > 0, stage
        assert scale["stages"][stage]["peak_mb"] > 0, stage
        assert "skipped" not in scale["stages"][stage]["result"], stage
    assert scale["ingest_vs_baseline"] > 0
    if importlib.util.find_spec("dlt"):  # the bench extra
        assert scale["stages"]["dlt"]["result"]["rows"] == scale["stages"]["baseline"]["result"]["rows"]
        assert scale["ingest_vs_dlt"] > 0 and scale["dlt_vs_baseline"] > 0
    else:
        assert "requirements-bench.lock" in scale["stages"]["dlt"]["result"]["skipped"]
    assert (tmp_path / "growth.png").read_bytes()[:4] == b"\x89PNG"
    assert 0 < scale["incremental"]["daily_share_of_full"] < 1
    assert results["machine"]["cores"] >= 1
    markdown = next(out.glob("bench-*.md")).read_text()
    assert "| 0.01 | ingest |" in markdown
    assert "## Growth" in markdown  # one scale: no growth yet, and the section says so
    assert "no growth to report" in markdown
