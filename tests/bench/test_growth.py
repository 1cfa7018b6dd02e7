"""The growth report: points from result files, growth between consecutive scales, the flag on a stage
growing faster than its data, and the plot, on small synthetic results."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.growth import (
    TOLERATED_OVER_DATA,
    ResultFileError,
    collect_points,
    growth_rows,
    load_results,
    plot_growth,
    render_growth_markdown,
)


def _result(started_at: str, scales: dict[float, dict[str, tuple[float, float]]], load=None) -> dict:
    """A result as the harness writes it: scale -> stage -> (seconds, peak MB)."""
    return {
        "started_at": started_at,
        "machine": {"load_average_at_start": load},
        "scales": [
            {
                "scale": scale,
                "stages": {
                    name: {"seconds": seconds, "peak_mb": mb, "result": {}}
                    for name, (seconds, mb) in stages.items()
                },
            }
            for scale, stages in scales.items()
        ],
    }


def test_the_latest_run_of_a_stage_at_a_scale_is_its_point_and_a_skipped_stage_is_none():
    older = _result("2026-11-27T14:52:34+00:00", {0.1: {"ingest": (5.0, 700), "dbt": (20.0, 750)}})
    newer = _result("2026-12-07T23:50:00+00:00", {0.1: {"ingest": (8.0, 800)}}, load=[3.5, 3.0, 2.0])
    newer["scales"][0]["stages"]["dlt"] = {"seconds": None, "peak_mb": None, "result": {"skipped": "absent"}}

    points = collect_points([newer, older])  # the order of the files does not matter

    assert points["ingest"][0.1].seconds == 8.0
    assert points["ingest"][0.1].run == "2026-12-07 23:50, load 3.5"
    assert points["dbt"][0.1].seconds == 20.0  # not run again: the older point stays
    assert "dlt" not in points


def test_a_stage_growing_faster_than_twelve_times_for_ten_times_the_data_is_flagged():
    result = _result(
        "2026-12-07T23:50:00+00:00",
        {
            0.1: {"generate": (4.0, 100), "ingest": (5.0, 700)},
            1.0: {"generate": (52.0, 400), "ingest": (55.0, 9_100)},
        },
    )

    rows = {g.stage: g for g in growth_rows(collect_points([result]))}
    markdown = render_growth_markdown(list(rows.values()))

    assert rows["generate"].seconds_too_fast and not rows["generate"].peak_mb_too_fast
    assert not rows["ingest"].seconds_too_fast and rows["ingest"].peak_mb_too_fast
    assert "| generate | 0.1 -> 1 | 10x | **13.00x** | 4.00x |" in markdown
    assert "| ingest | 0.1 -> 1 | 10x | 11.00x | **13.00x** |" in markdown


def test_no_stage_at_two_scales_reports_that_there_is_no_growth():
    result = _result("2026-12-07T23:50:00+00:00", {0.1: {"ingest": (5.0, 700)}})
    assert "no growth" in render_growth_markdown(growth_rows(collect_points([result])))


scales_strategy = st.lists(
    st.floats(min_value=0.001, max_value=100, allow_nan=False), min_size=1, max_size=5, unique=True
)
cost = st.floats(min_value=0.01, max_value=1e5, allow_nan=False)


@given(scales=scales_strategy, data=st.data())
def test_growth_is_the_ratio_of_consecutive_scales_and_flags_only_what_outgrows_the_data(scales, data):
    measured = {s: (data.draw(cost), data.draw(cost)) for s in scales}
    result = _result("2026-12-07T23:50:00+00:00", {s: {"ingest": m} for s, m in measured.items()})

    rows = growth_rows(collect_points([result]))

    ordered = sorted(scales)
    assert [(g.from_scale, g.to_scale) for g in rows] == list(zip(ordered, ordered[1:], strict=False))
    for g in rows:
        (a_s, a_mb), (b_s, b_mb) = measured[g.from_scale], measured[g.to_scale]
        assert math.isclose(g.data_growth, g.to_scale / g.from_scale)
        assert math.isclose(g.seconds_growth * a_s, b_s)
        assert math.isclose(g.peak_mb_growth * a_mb, b_mb)
        assert g.seconds_too_fast == (b_s / a_s > TOLERATED_OVER_DATA * g.to_scale / g.from_scale)


def test_the_plot_is_a_png_of_both_measures(tmp_path):
    result = _result(
        "2026-12-07T23:50:00+00:00",
        {
            0.01: {"baseline": (2.0, 150), "ingest": (3.0, 280)},
            0.1: {"baseline": (5.0, 240), "ingest": (6.0, 700), "generate": (3.5, 118)},
        },
        load=[4.1, 3.0, 2.0],
    )

    path = plot_growth(collect_points([result]), tmp_path / "docs" / "growth.png")

    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[0] > 300 and image.shape[1] > 2 * image.shape[0] - 200  # two panels side by side


def test_a_result_file_that_is_not_json_is_refused_naming_the_file_and_line(tmp_path):
    (tmp_path / "bench-1-scale-0.1.json").write_text(json.dumps(_result("2026-12-07T23:50:00", {})))
    (tmp_path / "bench-2-scale-1.json").write_text('{"started_at": "x",\n "scales": [}')

    with pytest.raises(ResultFileError, match=r"bench-2-scale-1\.json: line 2, column 13"):
        load_results(tmp_path)


def test_a_json_file_without_scales_is_refused_naming_the_file(tmp_path):
    (tmp_path / "bench-3-scale-1.json").write_text('{"started_at": "x"}')

    with pytest.raises(ResultFileError, match=r"bench-3-scale-1\.json: no started_at and scales"):
        load_results(tmp_path)
