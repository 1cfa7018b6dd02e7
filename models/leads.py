"""Lead scoring: the probability that an open lead ends in a won deal within `horizon` days.

One sklearn Pipeline: the source channel one-hot encoded next to the numeric features
(models.features.lead_features: what the person typed, campaign touches, web behaviour, how they
answered calls, how far their deal had got), gradient boosting, sigmoid calibration over
lead-grouped folds. Trained on the leads open at monthly snapshots whose horizon is over.

Prospects (clients never invoiced) without an open lead get one row each with the rate at which
such prospects won a deal within the horizon in the past: there is nothing else to score them on.

The backtest judges it at the last four quarter starts next to a baseline that knows only the
source channel (a logistic regression on the channel).

Short histories: the label horizon is shortened as churn's is (`models.labels.label_plan`, counted
from the first lead). When the model still cannot be trained (too few lead-snapshots, or of one
outcome) but some leads were won and some not, the channel baseline is scored in its place (rows with
`method` = source_channel, run status `baseline`); when no lead was ever won (or every one was), lead
scoring is skipped with that reason.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from threadpoolctl import threadpool_limits

from models import labels, registry
from models.context import RunContext
from models.data import day_number, from_day_number
from models.features import LEAD_CATEGORICAL, LEAD_FEATURES, SUFFIX
from models.sk import (
    RANDOM_STATE,
    GroupedFolds,
    backtest_rows,
    group_contributions,
    why_untrainable,
    with_values,
)
from models.status import BASELINE, CannotScore

log = logging.getLogger(__name__)

MODEL_NAME = "lead"
HGB_PARAMS = {
    "max_iter": 120,
    "learning_rate": 0.06,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "random_state": RANDOM_STATE,
}
BASELINE_CHANNEL = "source_channel"
SCORE_BANDS = ((0.4, "hot"), (0.15, "warm"), (0.0, "cold"))
COLUMNS = LEAD_CATEGORICAL + LEAD_FEATURES


def build_pipeline(numeric: list[str] | None = None) -> Pipeline:
    """Channel one-hot next to the `numeric` features (default all of LEAD_FEATURES)."""
    encode = ColumnTransformer(
        [
            ("channel", OneHotEncoder(handle_unknown="ignore", sparse_output=False), LEAD_CATEGORICAL),
            ("numeric", "passthrough", list(LEAD_FEATURES if numeric is None else numeric)),
        ],
        verbose_feature_names_out=False,
    )
    booster = HistGradientBoostingClassifier(**HGB_PARAMS)
    return Pipeline(
        [
            ("encode", encode),
            ("model", CalibratedClassifierCV(booster, method="sigmoid", cv=GroupedFolds(2), ensemble=True)),
        ]
    )


def build_channel_baseline() -> Pipeline:
    encode = ColumnTransformer(
        [("channel", OneHotEncoder(handle_unknown="ignore", sparse_output=False), LEAD_CATEGORICAL)]
    )
    return Pipeline([("encode", encode), ("model", LogisticRegression(C=1.0, max_iter=1000))])


def lead_start(ctx: RunContext) -> date | None:
    """The day of the first lead: where the history lead snapshots count from."""
    days = ctx.frames.leads["day"]
    return from_day_number(days.min()) if len(days) else None


def label_plan(ctx: RunContext) -> labels.LabelPlan:
    return labels.label_plan(ctx.frames, ctx.as_of, ctx.lead_horizon_days, start=lead_start(ctx))


def training_set(
    ctx: RunContext, until: date, plan: labels.LabelPlan
) -> tuple[pd.DataFrame, pd.Series, list[date]]:
    dates = plan.training_dates(ctx.frames, until)
    horizon_days = plan.horizon_days
    xs, ys = [], []
    for t in dates:
        X = ctx.lead_features(t)
        if X.empty:
            continue
        y = labels.lead_labels(ctx.frames, t, horizon_days, pd.Series(X.index), known_until=until)
        idx = pd.MultiIndex.from_arrays([X.index, np.full(len(X), t)], names=["lead_id", "snapshot_date"])
        xs.append(X.set_axis(idx))
        ys.append(pd.Series(y.to_numpy(), index=idx))
    if not xs:
        return pd.DataFrame(columns=COLUMNS), pd.Series(dtype=int), dates
    return pd.concat(xs), pd.concat(ys), dates


def _fit(X: pd.DataFrame, y: pd.Series, threads: int) -> Pipeline:
    pipe = build_pipeline(with_values(X, LEAD_FEATURES))
    with threadpool_limits(threads):
        pipe.fit(X[COLUMNS], y)
    return pipe


def has_lead_data(ctx: RunContext) -> bool:
    return len(ctx.frames.leads) > 0


def backtest(ctx: RunContext, plan: labels.LabelPlan, threads: int = 1) -> pd.DataFrame:
    h = plan.horizon_days
    rows = []
    for b in labels.backtest_dates(ctx.frames, ctx.as_of, h, plan=plan):
        X_train, y_train, _ = training_set(ctx, b, plan)
        X = ctx.lead_features(b)
        why = why_untrainable(X_train, y_train, "lead-snapshots") if len(X_train) else "no lead-snapshots"
        if why or X.empty:
            log.warning("lead backtest as of %s skipped: %s", b, why or "no lead open on the date")
            continue
        y = labels.lead_labels(ctx.frames, b, h, pd.Series(X.index), known_until=ctx.as_of).to_numpy()
        model = _fit(X_train, y_train, threads)
        baseline = build_channel_baseline().fit(X_train[COLUMNS], y_train)
        scores = {
            "model": model.predict_proba(X[COLUMNS])[:, 1],
            BASELINE_CHANNEL: baseline.predict_proba(X[COLUMNS])[:, 1],
        }
        rows += backtest_rows(MODEL_NAME, b, h, y, scores, len(X_train))
        log.info(
            "lead backtest %s: AUC model %.3f, channel %.3f", b, rows[-2]["roc_auc"], rows[-1]["roc_auc"]
        )
    return pd.DataFrame(rows)


def pooled_metrics(rows: pd.DataFrame, ctx: RunContext) -> dict:
    """Mean metrics per method over the backtest dates."""
    if rows.empty:
        return {}
    mean = rows.groupby("method")[["roc_auc", "pr_auc", "brier"]].mean()
    return {m: {k: round(float(v), 4) for k, v in r.items()} for m, r in mean.iterrows()}


def train(
    ctx: RunContext,
    plan: labels.LabelPlan | None = None,
    backtest_rows: pd.DataFrame | None = None,
    threads: int = 1,
) -> tuple[dict, Pipeline]:
    """Train the model scored as of ctx.as_of (or reuse the registered run); the channel baseline in
    its place when it cannot be trained (status `baseline`); CannotScore when not even that can."""
    plan = plan or label_plan(ctx)
    h = plan.horizon_days
    X, y, dates = training_set(ctx, ctx.as_of, plan)
    metrics = pooled_metrics(backtest_rows, ctx) if backtest_rows is not None else {}
    why = why_untrainable(X, y, "lead-snapshots") if len(X) else "no lead was open at any snapshot"
    if why and y.nunique() < 2:
        outcome = "won" if len(y) and y.iloc[0] == 1 else "lost or still open"
        raise CannotScore(
            f"no lead-snapshots with both outcomes before {ctx.as_of} (horizon {h} days, leads from "
            f"{plan.start}): {'every one' if len(y) else 'none'} {outcome if len(y) else 'labelled'}"
        )
    run = registry.TrainingRun(
        model_name=MODEL_NAME,
        as_of=ctx.as_of,
        estimator=None,
        train_window=(dates[0] if dates else None, dates[-1] if dates else None),
        train_rows=len(X),
        train_positives=int(y.sum()) if len(y) else 0,
        sources=sorted(ctx.sources),
        features=LEAD_CATEGORICAL + (with_values(X, LEAD_FEATURES) if len(X) else LEAD_FEATURES),
        params={"hgb": HGB_PARAMS, "calibration": "sigmoid, 2 lead-grouped folds"},
        horizon_days=h,
        metrics=metrics,
        reason=plan.describe("lead"),
    )
    if why:
        run.params = {"method": BASELINE_CHANNEL, "model": "logistic regression on the source channel"}
        run.status = BASELINE
        run.reason = "; ".join(
            filter(None, [run.reason, f"the model cannot be trained: {why}; scored by the channel baseline"])
        )
    run.fingerprint = registry.fingerprint(X[COLUMNS] if len(X) else X, y, run.params, h)
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        return found, registry.load_model(found)
    if why:
        run.estimator = build_channel_baseline().fit(X[COLUMNS], y)
    else:
        run.estimator = _fit(X, y, threads)
    run.card = model_card(run, metrics, backtest_rows)
    return registry.register(ctx.con, ctx.settings, run), run.estimator


# ---------------------------------------------------------------------------- reasons
REASON_GROUPS = {
    "channel": ["source_channel"],
    "person": ["has_company_email", "has_inn", "has_company", "is_individual", "is_joint_stock", "has_phone",
               "has_region"],
    "customer": ["client_invoiced", "client_revenue_365d_rub"],
    "campaigns": ["has_campaign", "campaign_touches", "campaign_best_response"],
    "web": ["web_page_views", "web_product_page_views", "web_forms", "web_chats"],
    "response": ["activities", "inbound_activities", "reached_calls", "max_call_seconds", "meetings"],
    "deal": ["deal_stage", "deal_amount_rub", "deal_age_days"],
    "age": ["lead_age_days"],
}  # fmt: skip
REASON_GROUPS = {
    g: [c if c in LEAD_CATEGORICAL else c + SUFFIX for c in cols] for g, cols in REASON_GROUPS.items()
}
STAGES = {0: "no deal yet", 1: "deal in qualification", 2: "deal at proposal", 3: "deal in negotiation"}
RESPONSES = {-1: "none", 0: "sent", 1: "opened", 2: "clicked or registered", 3: "responded or attended"}


def _reason(group: str, x: pd.Series) -> str:
    v = lambda n: float(x[n + SUFFIX])  # noqa: E731
    if group == "channel":
        return f"came in through {x['source_channel']}"
    if group == "person":
        bits = [
            "company e-mail" if v("has_company_email") else "personal e-mail",
            "INN given" if v("has_inn") else "no INN",
        ]
        if v("is_individual"):
            bits.append("sole trader")
        return ", ".join(bits)
    if group == "customer":
        if v("client_invoiced"):
            return f"already a customer ({v('client_revenue_365d_rub') / 1e6:.1f}M RUB in 12 months)"
        return "not a customer yet"
    if group == "campaigns":
        return f"{v('campaign_touches'):.0f} campaign touch(es), best response: {RESPONSES.get(int(v('campaign_best_response')), '?')}"
    if group == "web":
        return (
            f"{v('web_page_views'):.0f} page views ({v('web_product_page_views'):.0f} on products or prices), "
            f"{v('web_forms'):.0f} form(s), {v('web_chats'):.0f} chat(s)"
        )
    if group == "response":
        return (
            f"{v('reached_calls'):.0f} call(s) answered (longest {v('max_call_seconds') / 60:.0f} min), "
            f"{v('inbound_activities'):.0f} inbound, {v('meetings'):.0f} meeting(s)"
        )
    if group == "deal":
        stage = STAGES.get(int(v("deal_stage")), "deal")
        amount = v("deal_amount_rub")
        return stage + (f", {amount / 1e6:.1f}M RUB" if np.isfinite(amount) else "")
    if group == "age":
        return f"lead is {v('lead_age_days'):.0f} days old"
    return group


def reasons(pipe: Pipeline, X: pd.DataFrame, reference: pd.Series, top: int = 3) -> pd.Series:
    """The feature groups that raise each lead's probability most, in words."""
    groups = REASON_GROUPS if is_model(pipe) else {"channel": REASON_GROUPS["channel"]}
    contrib = group_contributions(pipe, X[COLUMNS], groups, reference)
    out = []
    for lead, row in contrib.iterrows():
        best = row[row > 0.005].sort_values(ascending=False).head(top)
        x = X.loc[lead]
        out.append(
            "; ".join(_reason(g, x) for g in best.index) or "nothing sets it apart from a typical lead"
        )
    return pd.Series(out, index=X.index)


def _reference(X: pd.DataFrame) -> pd.Series:
    ref = X[LEAD_FEATURES].median()
    ref["source_channel"] = X["source_channel"].mode().iloc[0] if len(X) else "unknown"
    return ref


def band(p: np.ndarray) -> np.ndarray:
    out = np.full(len(p), "cold", dtype=object)
    for threshold, name in reversed(SCORE_BANDS):
        out[np.asarray(p) >= threshold] = name
    return out


# ---------------------------------------------------------------------------- prospects without a lead
def _prospects(ctx: RunContext, t: date) -> pd.Index:
    return labels.prospects(ctx.cut(t))


def _cold_prospects(ctx: RunContext, t: date) -> pd.Index:
    leads = ctx.lead_features(t)
    with_lead = set(ctx.cut(t).leads.set_index("lead_id").reindex(leads.index)["client_id"].dropna())
    return pd.Index([c for c in _prospects(ctx, t) if c not in with_lead], name="client_id")


def is_model(pipe: Pipeline) -> bool:
    """The gradient-boosted model (not the channel baseline registered in its place)."""
    return "encode" in pipe.named_steps and isinstance(pipe.named_steps["model"], CalibratedClassifierCV)


def cold_prospect_rate(ctx: RunContext, horizon_days: int, plan: labels.LabelPlan | None = None) -> float:
    """Past share of prospects without an open lead that won a deal within the horizon."""
    n = wins = 0
    dates = (
        plan.training_dates(ctx.frames, ctx.as_of)
        if plan is not None
        else labels.training_dates(ctx.frames, ctx.as_of, horizon_days)
    )
    for t in dates:
        cold = _cold_prospects(ctx, t)
        td = day_number(t)
        won = ctx.frames.deals["won_day"].to_numpy()
        hit = (won >= td) & (won < td + horizon_days)
        winners = set(ctx.frames.deals.loc[hit, "client_id"].dropna())
        n += len(cold)
        wins += sum(c in winners for c in cold)
    return wins / n if n else 0.0


def score(ctx: RunContext, run: dict, pipe: Pipeline, plan: labels.LabelPlan | None = None) -> pd.DataFrame:
    """Rows of ml.lead_scores: every lead open on ctx.as_of, and prospects without an open lead."""
    X = ctx.lead_features(ctx.as_of)
    h = int(run["horizon_days"])
    method = "model" if is_model(pipe) else BASELINE_CHANNEL
    leads = ctx.frames.leads.drop_duplicates("lead_id").set_index("lead_id")
    with threadpool_limits(1):
        p = pipe.predict_proba(X[COLUMNS])[:, 1] if len(X) else np.zeros(0)
        why = reasons(pipe, X, _reference(X)) if len(X) else pd.Series(dtype=object)
    rows = pd.DataFrame(
        {
            "as_of_date": ctx.as_of,
            "subject_type": "lead",
            "lead_id": X.index.to_numpy(),
            "client_id": leads["client_id"].reindex(X.index).to_numpy(),
            "source_channel": X["source_channel"].to_numpy(),
            "win_probability": p,
            "score_band": band(p),
            "reasons": why.reindex(X.index).to_numpy(),
            "horizon_days": h,
            "model_run_id": run["run_id"],
            "method": method,
        }
    )
    cold = _cold_prospects(ctx, ctx.as_of)
    rate = cold_prospect_rate(ctx, h, plan)
    prospects = pd.DataFrame(
        {
            "as_of_date": ctx.as_of,
            "subject_type": "prospect",
            "lead_id": None,
            "client_id": cold.to_numpy(),
            "source_channel": None,
            "win_probability": rate,
            "score_band": band(np.full(len(cold), rate)),
            "reasons": f"no open lead: {rate:.1%} of such prospects won a deal within {h} days in the past",
            "horizon_days": h,
            "model_run_id": run["run_id"],
            "method": "past_rate",
        }
    )
    out = pd.concat([rows, prospects], ignore_index=True)
    return out.sort_values(["subject_type", "lead_id", "client_id"]).reset_index(drop=True)


def model_card(run: registry.TrainingRun, metrics: dict, backtest_rows: pd.DataFrame | None) -> str:
    table = ""
    if backtest_rows is not None and not backtest_rows.empty:
        cols = ["backtest_as_of_date", "method", "rows_scored", "positives", "roc_auc", "pr_auc", "brier"]
        table = registry.markdown_table(backtest_rows[cols])
    lines = ["| method | ROC AUC | PR AUC | Brier |", "|---|---|---|---|"]
    for m, v in metrics.items():
        lines.append(f"| {m} | {v['roc_auc']:.3f} | {v['pr_auc']:.3f} | {v['brier']:.3f} |")
    what = (
        "A logistic regression on the source channel alone (the model's baseline): the rate at which leads "
        "of each channel were won."
        if run.status == BASELINE
        else f"One sklearn Pipeline: source channel one-hot next to {len(LEAD_FEATURES)} numeric features, "
        f"HistGradientBoostingClassifier ({run.params['hgb']}), sigmoid calibration over two lead-grouped folds."
    )
    status = (
        f"{chr(10)}**Scored by the channel baseline, not the model.** {run.reason}.{chr(10)}"
        if run.status == BASELINE
        else (f"{chr(10)}**Horizon shortened.** {run.reason}.{chr(10)}" if run.reason else "")
    )
    return f"""# Lead scoring model, version {{version}}

Run `{run.run_id}`, trained as of {run.as_of} for a horizon of {run.horizon_days} days.
{status}
**What it is.** The probability that a lead open on the as-of date (created in the last
{labels.LEAD_OPEN_DAYS} days, or with its deal still open) has a deal won within {run.horizon_days}
days. {what}

**Trained on.** Leads open at monthly snapshots from {run.train_window[0]} to {run.train_window[1]}:
{run.train_rows:,} lead-snapshots, {run.train_positives:,} won within the horizon.

**How it scored.** Backtest at the last four quarter starts, next to a source-channel-only baseline
(mean over dates):

{chr(10).join(lines) if metrics else "(no backtest in this run)"}

{table}

**Use and limits.** Bands: hot >= 0.4, warm >= 0.15, cold below. The e-mail and legal-form flags are
derived from the CRM's lead record (pii schema) without carrying the e-mail out.
"""
