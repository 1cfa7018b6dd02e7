"""The models behind the report: for each model, its latest run by the period end, whether it was
trained, scored by its baseline or skipped, the horizon it used and why (ml.model_runs)."""

from __future__ import annotations

from reports.formatting import fmt_int
from reports.model import Context, Metric, Section, Table, report_section
from reports.model_runs import MODEL_TITLES, latest_runs
from reports.source import TableMissing

STATUS_TEXT = {
    "trained": "trained",
    "baseline": "baseline in its place",
    "skipped": "not made",
}


@report_section("models", "Models behind this report")
def models(ctx: Context, section: Section) -> None:
    runs = latest_runs(ctx.source, ctx.period.end)
    if runs.empty:
        raise TableMissing(["ml.model_runs"])
    counts = runs["status"].value_counts()
    section.metrics = [
        Metric("Models trained", int(counts.get("trained", 0)), better=None, note=f"of {len(runs)}"),
        Metric(
            "Scored by their baseline",
            int(counts.get("baseline", 0)),
            better="down",
            note="the model could not be trained",
        ),
        Metric("Not made", int(counts.get("skipped", 0)), better="down", note="the data cannot support them"),
    ]
    rows = []
    for r in runs.to_dict("records"):
        basis = r["reason"] if isinstance(r["reason"], str) and r["reason"] else ""
        if r["model_name"] == "sales_forecast" and r["history_months"] is not None and not basis:
            basis = f"{fmt_int(r['history_months'])} complete months of revenue, with seasonality"
        rows.append(
            [
                MODEL_TITLES.get(r["model_name"], r["model_name"]),
                f"{r['as_of_date']:%d %b %Y}",
                STATUS_TEXT.get(r["status"], r["status"]),
                r["horizon"] or "–",
                basis or "as asked",
            ]
        )
    section.tables.append(
        Table(
            title="Each model's latest run by the period end",
            columns=["Model", "Data up to", "Status", "Horizon", "Why, and what it rests on"],
            rows=rows,
            align=["l", "r", "l", "r", "l"],
            clip={4: "52%"},
        )
    )
    not_trained = runs[runs["status"] != "trained"]
    section.summary = (
        f"All {len(runs)} models were trained on the data up to the period end."
        if not_trained.empty
        else f"{len(runs) - len(not_trained)} of {len(runs)} models were trained; "
        + "; ".join(
            f"{MODEL_TITLES.get(r.model_name, r.model_name).lower()} {STATUS_TEXT[r.status]}"
            for r in not_trained.itertuples()
        )
        + "."
    )
    section.notes.append(
        "A model the data cannot support (a source missing, too short a history, too few clients) is not "
        "made, or its baseline scores in its place; a horizon shorter than asked is used when the history "
        "cannot label enough past snapshots with the one asked. 'Data up to': the run saw data strictly "
        "before that day."
    )
