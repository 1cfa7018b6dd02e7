"""The data-shape matrix: the whole pipeline on the shapes real companies send (tests/support/shapes.py:
one source, nothing to match, one or ten clients, 3 to 13 months, every client arriving at once, one
office and one line in other currencies, a late source and empty months; one shape through `crmw
run`). Each exits 0 with every mart built, and every model is scored, scored by its baseline or
skipped with its reason: in ml.model_runs, its model card, the CLI's summary and the report, never a
traceback. The forecast's total is no worse than the mean of the last three months on every backtest
that exists, and docs/models.md shows what the matrix measured.

Each shape costs one ingest, one dbt build, one or two model runs and a report (some 25 seconds on
two cores); shapes are built one after another in one working home, so dbt parses its project once.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest

from tests.support.shape_runs import ShapeRun
from tests.support.shapes import SHAPES, month_label
from warehouse.settings import PROJECT_DIR

pytestmark = pytest.mark.slow

NAMES = [s.name for s in SHAPES]
STEP_BY_STEP = [s.name for s in SHAPES if not s.dagster]
MODELS = ("segments", "churn", "lead", "sales_forecast")
MARTS_DIR = PROJECT_DIR / "dbt" / "models" / "marts"
DOCS = PROJECT_DIR / "docs" / "models.md"
DOC_BEGIN, DOC_END = "<!-- shapes:begin -->", "<!-- shapes:end -->"


@pytest.fixture(params=NAMES)
def shaped(request, data_shapes) -> ShapeRun:
    return data_shapes.run(request.param)


def _flat(text: str) -> str:
    """Text without the table borders and line breaks a terminal table wraps it in."""
    return re.sub(r"[\s│┃|]+", "", html.unescape(text))


def _mart_names() -> set[tuple[str, str]]:
    """(schema, relation) of every model under dbt/models/marts (its alias when it has one)."""
    out = set()
    for path in MARTS_DIR.rglob("*"):
        if path.suffix in (".sql", ".py"):
            alias = re.search(r"alias\s*=\s*['\"](\w+)['\"]", path.read_text(encoding="utf-8"))
            schema = "pii" if "pii" in path.relative_to(MARTS_DIR).parts else "marts"
            out.add((schema, alias.group(1) if alias else path.stem))
    return out


def test_every_step_exits_0_and_every_mart_is_built(shaped):
    assert shaped.failures() == {}, f"{shaped.shape.name}: {shaped.failures()}"
    for step, result in shaped.steps.items():
        assert "Traceback" not in result.output, (step, result.output[-2000:])
    built = set(
        shaped.query(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'pii')"
        ).itertuples(index=False, name=None)
    )
    assert _mart_names() <= built, _mart_names() - built


def test_every_model_is_scored_or_skipped_and_says_why_everywhere(shaped):
    assert shaped.models, "no model run was recorded"
    report = Path(shaped.report["html"]).read_text(encoding="utf-8") if shaped.report else ""
    for snap in shaped.models:
        for model in MODELS:
            run = snap.runs.get(model)
            assert run is not None, f"{model} left no row in ml.model_runs"
            assert run["status"] in ("trained", "baseline", "skipped"), run
            card = Path(run["model_card_path"]).read_text(encoding="utf-8")
            if run["status"] == "trained" and not isinstance(run["reason"], str):
                continue
            reason = run["reason"]
            assert isinstance(reason, str) and reason, f"{model} {run['status']} without a reason"
            assert reason in card, (model, card[:500])
            if not shaped.shape.dagster:
                assert _flat(reason) in _flat(snap.output), (model, snap.output[-3000:])
    # the report shows the latest run's reasons (the models section, and the churn section when skipped)
    for model, run in shaped.models[-1].runs.items():
        if model in MODELS and isinstance(run["reason"], str) and run["reason"]:
            assert _flat(run["reason"]) in _flat(report), (model, run["reason"])


def test_the_models_this_shape_decides_are_as_expected(shaped):
    runs = shaped.models[0].runs
    got = {model: runs[model]["status"] for model in shaped.shape.expect}
    assert got == shaped.shape.expect


def test_a_model_that_cannot_be_trained_scores_its_baseline_marked_in_its_rows(shaped):
    for snap in shaped.models:
        churn = snap.runs["churn"]
        methods = set(snap.scores["churn_scores"]["method"])
        if churn["status"] == "baseline":
            assert methods <= {"bg_nbd", "days_since_last_purchase"} and methods, methods
            assert "baseline" in churn["reason"]
        elif churn["status"] == "trained":
            assert methods == {"model"}
        lead = snap.runs["lead"]
        lead_methods = set(snap.scores["lead_scores"]["method"]) - {"past_rate"}
        if lead["status"] == "baseline":
            assert lead_methods <= {"source_channel"}
        elif lead["status"] == "trained":
            assert lead_methods <= {"model"}


def test_scores_and_backtests_carry_the_horizon_actually_used(shaped):
    for snap in shaped.models:
        for model, table in (("churn", "churn_scores"), ("lead", "lead_scores")):
            run = snap.runs[model]
            if run["status"] == "skipped":
                assert snap.scores[table].empty
                continue
            # a baseline may have nothing to score (no open lead on the day); what it scores carries the horizon
            assert set(snap.scores[table]["horizon_days"]) <= {run["horizon_days"]}
            backtest = snap.metrics[snap.metrics["model_name"] == model]
            if run["status"] == "trained":
                assert set(backtest["horizon_days"]) <= {run["horizon_days"]}


def test_the_forecast_total_is_no_worse_than_the_last_3_months_mean_on_every_backtest(shaped):
    for snap in shaped.models:
        total = snap.accuracy[snap.accuracy["level"] == "total"]
        if total.empty:
            continue
        wape = total.pivot_table(index="horizon_months", columns="method", values="wape")
        assert (wape["model"] <= wape["last_3_months_mean"] + 1e-9).all(), wape.round(4).to_string()


def test_the_report_says_how_much_history_the_forecast_rests_on(shaped):
    forecast = shaped.models[-1].runs["sales_forecast"]
    if forecast["status"] == "skipped":
        return
    months = int(shaped.models[-1].scores["sales_forecast"]["history_months"].iloc[0])
    text = Path(shaped.report["html"]).read_text(encoding="utf-8")
    assert f"rests on {months} complete month" in text


# ------------------------------------------------------------------ what single shapes show
def test_with_nothing_to_match_every_record_is_its_own_legal_entity_and_client(data_shapes):
    run = data_shapes.run("nothing_matches")
    resolved = run.query(
        "select record_key, legal_entity_id, client_id, match_evidence "
        "from intermediate.int_entity_records__resolved"
    )
    assert len(resolved) > 20
    assert resolved["legal_entity_id"].is_unique and resolved["client_id"].is_unique
    assert set(resolved["match_evidence"]) == {"singleton"}


def test_a_short_history_of_clients_arriving_together_is_not_forecast_as_a_season(data_shapes):
    """Nine months, everyone's first invoice in the first month, a 273-day churn horizon and a
    nine-month forecast asked (the reported retail case): churn trains on a shorter horizon or scores
    its baseline and says so; the forecast has no seasonality and no month of it copies the burst."""
    run = data_shapes.run("arriving_together")
    first, second = run.models
    churn = first.runs["churn"]
    assert churn["status"] in ("trained", "baseline") and "273" in churn["reason"]
    forecast = first.scores["sales_forecast"]
    assert set(forecast["method"]) == {"short_history"} and set(forecast["history_months"]) == {9}
    monthly = run.query(
        "select date_trunc('month', invoice_date) as month, sum(amount_rub) as revenue "
        "from marts.fct_invoices group by 1 order by 1"
    )
    burst, recent = monthly["revenue"].iloc[0], monthly["revenue"].iloc[-3:].mean()
    ahead = run.query("select forecast_rub from ml.sales_forecast where level = 'total'")["forecast_rub"]
    assert burst > 1.3 * recent and (ahead < 1.2 * recent).all(), (burst, recent, ahead.max())
    # the 90-day run without backtests still wrote its empty backtest tables and its scores
    assert (
        second.runs["churn"]["horizon_days"] == 90
        and second.metrics[second.metrics["model_name"] == "churn"].empty
    )


def test_a_horizon_longer_than_the_history_is_shortened_or_answered_by_the_baseline(data_shapes):
    run = data_shapes.run("months_3")
    longer = run.models[1]
    churn = longer.runs["churn"]
    assert churn["status"] in ("trained", "baseline")
    assert "273" in churn["reason"]
    assert set(longer.scores["sales_forecast"]["history_months"]) == {3}
    assert longer.accuracy.empty  # three months leave no origin with three months behind it


def test_other_currencies_are_converted_to_roubles_by_the_warehouse(data_shapes):
    run = data_shapes.run("office_line_currencies")
    invoices = run.query(
        "select currency, count(*) as n, sum(amount_rub) / sum(amount) as rate "
        "from marts.fct_invoices group by 1 order by 1"
    )
    rates = invoices.set_index("currency")["rate"].round(6).to_dict()
    assert "RUB" not in rates and rates["EUR"] == 100.0  # the sample's other currencies stay as they were
    assert invoices.set_index("currency")["n"]["EUR"] > 0.9 * invoices["n"].sum()
    series = run.query(
        "select distinct product_line, office_code from ml.sales_forecast where level <> 'total'"
    )
    assert series.to_dict("records") == [{"product_line": "licenses", "office_code": "MSK"}]


def test_months_with_no_rows_load_as_empty_and_a_late_source_starts_late(data_shapes):
    run = data_shapes.run("late_sources_empty_months")
    files = run.query(
        "select file_name, rows_read from meta.load_manifest where status = 'loaded'"
    ).set_index("file_name")["rows_read"]
    empty = [month_label(15), month_label(16)]
    for month in empty:
        assert files[f"invoices__{month}.csv"] == 0 and files[f"web_events__{month}.csv"] == 0
    invoiced = set(
        run.query("select distinct strftime(invoice_date, '%Y-%m') as m from marts.fct_invoices")["m"]
    )
    assert not invoiced & set(empty) and len(invoiced) == 34  # 36 months less the two empty ones
    first_activity = run.query("select min(occurred_at)::date as d from marts.fct_interactions")["d"][0]
    assert f"{first_activity:%Y-%m}" >= month_label(17)


# ------------------------------------------------------------------ the documentation
def matrix_table(runs: list[ShapeRun]) -> str:
    """The section of docs/models.md between the shapes markers: per shape and model run, what each
    model did and how the forecast scored against the mean of the last three months."""
    lines = [
        "| shape | asked | segments | churn | leads | forecast | forecast WAPE, total, h1: model / last 3 months |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for model_run, snap in zip(run.shape.runs, run.models, strict=False):
            cells = [
                run.shape.name,
                f"{model_run.churn_horizon_days} d, {model_run.forecast_horizon_months} m",
            ]
            for model in MODELS:
                r = snap.runs[model]
                horizon = (
                    f" {int(r['horizon_days'])} d"
                    if model in ("churn", "lead") and r["status"] != "skipped"
                    else ""
                )
                cells.append(f"{r['status']}{horizon}")
            forecast = snap.scores["sales_forecast"]
            if not forecast.empty:
                cells[-1] += (
                    f" ({int(forecast['history_months'].iloc[0])} months, {forecast['method'].iloc[0]})"
                )
            total = snap.accuracy[
                (snap.accuracy["level"] == "total") & (snap.accuracy["horizon_months"] == 1)
            ]
            wape = total.set_index("method")["wape"] if len(total) else pd.Series(dtype=float)
            cells.append(
                f"{wape['model']:.3f} / {wape['last_3_months_mean']:.3f}"
                if "model" in wape
                else "no backtest"
            )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_docs_models_md_shows_what_the_matrix_measured(data_shapes, tmp_path_factory):
    runs = [data_shapes.run(name) for name in NAMES]
    table = matrix_table(runs)
    text = DOCS.read_text(encoding="utf-8")
    documented = text.split(DOC_BEGIN, 1)[1].split(DOC_END, 1)[0].strip() if DOC_BEGIN in text else ""
    if documented != table:
        measured = tmp_path_factory.getbasetemp() / "shapes" / "models-md-shapes.md"
        measured.write_text(table + "\n", encoding="utf-8")
        pytest.fail(
            f"docs/models.md's shape table is not what the matrix measured; put {measured} between "
            f"{DOC_BEGIN} and {DOC_END}:\n{table}"
        )
