"""docs/models.md reports the demo's backtests as they are: per date and metric, generated from the
run's ml.model_metrics and ml.forecast_accuracy (models.backtest_summary.docs_section)."""

from __future__ import annotations

import pytest

from models.backtest_summary import docs_section
from tests.support.demo import models_error
from warehouse.settings import PROJECT_DIR

DOCS = PROJECT_DIR / "docs" / "models.md"
BEGIN, END = "<!-- backtests:begin -->", "<!-- backtests:end -->"


@pytest.mark.slow
def test_docs_models_md_shows_the_demo_backtests_as_the_run_measured_them(published_demo, tmp_path):
    assert models_error(published_demo) is None, models_error(published_demo)
    measured = docs_section(published_demo).strip()
    text = DOCS.read_text(encoding="utf-8")
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    if documented != measured:
        out = tmp_path / "backtests.md"
        out.write_text(measured + "\n", encoding="utf-8")
        pytest.fail(
            f"docs/models.md's backtests differ from the demo run's ml.model_metrics; put {out} between "
            f"{BEGIN} and {END} (or run `python -m models.backtest_summary --home <demo home> --docs`):\n"
            f"{measured}"
        )
