"""The benchmark harness runs end to end at scale 0.01 (a smoke test: no timing asserted; the figures
in docs/performance.md come from `make bench`)."""

from __future__ import annotations

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
            "generate,baseline,ingest,dbt,models,reports,incremental",
            "--out",
            str(out),
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
    assert 0 < scale["incremental"]["daily_share_of_full"] < 1
    assert results["machine"]["cores"] >= 1
    assert "| 0.01 | ingest |" in next(out.glob("bench-*.md")).read_text()
