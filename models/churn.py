"""Churn risk: will a client invoiced in the last 12 months buy nothing in the next `horizon` days?

The model is one sklearn Pipeline: the feature columns, then gradient boosting
(HistGradientBoostingClassifier) wrapped in isotonic calibration over client-grouped folds. It is
trained on monthly snapshots whose label window closed by the as-of date (models.labels), scored
on the clients active on the as-of date, and explained by perturbation: the groups of features
that raise a client's probability most, phrased from the client's own values.

The backtest re-trains it as of each of the last four quarter starts whose horizon is over and
judges it, next to two baselines fitted on the same data: days since the last purchase (mapped to a
probability by isotonic regression) and BG/NBD's probability of no purchase in the horizon.

Short histories: the label horizon is shortened when the history cannot label enough snapshots with
the one asked (`models.labels.label_plan`); the horizon used is written with the scores. When even
then the model cannot be trained (too few labelled client-snapshots, or of one outcome), its baseline
is scored in its place, needing no labels: BG/NBD's probability of no purchase in the horizon asked
(five customers or more), else the recency baseline: the chance, from the gaps between purchase days
seen so far (Kaplan-Meier, the open gaps censored), that a client quiet for d days stays quiet d + h.
Its rows say `method` = bg_nbd or days_since_last_purchase, its run status `baseline`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from models import bgnbd, labels, registry
from models.context import RunContext
from models.data import Frames, day_number
from models.economics import client_economics
from models.features import SUFFIX, feature_names
from models.sk import (
    RANDOM_STATE,
    FeatureColumns,
    GroupedFolds,
    backtest_rows,
    cap_rows,
    group_contributions,
    why_untrainable,
    with_values,
)
from models.status import BASELINE, CannotScore

log = logging.getLogger(__name__)

MODEL_NAME = "churn"
HGB_PARAMS = {
    "max_iter": 150,
    "learning_rate": 0.06,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "random_state": RANDOM_STATE,
}
MAX_TRAIN_ROWS = 60_000
RISK_BANDS = ((0.5, "high"), (0.2, "medium"), (0.0, "low"))
RECENCY = "days_since_last_invoice" + SUFFIX
BASELINE_RECENCY = "days_since_last_purchase"
BASELINE_BGNBD = "bg_nbd"
BASELINE_LABELS = {
    BASELINE_BGNBD: "BG/NBD probability of no purchase",
    BASELINE_RECENCY: "how long quiet gaps between purchases have lasted",
}


def build_pipeline(features: list[str]) -> Pipeline:
    booster = HistGradientBoostingClassifier(**HGB_PARAMS)
    return Pipeline(
        [
            ("features", FeatureColumns(features)),
            ("model", CalibratedClassifierCV(booster, method="isotonic", cv=GroupedFolds(2), ensemble=True)),
        ]
    )


def require_invoices(ctx: RunContext) -> None:
    if ctx.frames.invoices.empty:
        raise CannotScore(
            f"no invoices before {ctx.as_of}: churn risk is learnt from purchases; load the accounting exports"
        )


def label_plan(ctx: RunContext) -> labels.LabelPlan:
    """The horizon the model is trained on as of the run's date (see models.labels.label_plan)."""
    return labels.label_plan(ctx.frames, ctx.as_of, ctx.churn_horizon_days)


def training_set(
    ctx: RunContext, until: date, plan: labels.LabelPlan
) -> tuple[pd.DataFrame, pd.Series, list[date]]:
    """Snapshots t (the plan's training dates before `until`) of the clients active on t, with labels."""
    dates = plan.training_dates(ctx.frames, until)
    xs, ys = [], []
    for t in dates:
        pop = labels.churn_population(ctx.frames, t)
        if pop.empty:
            continue
        X = ctx.client_features(t).loc[pop]
        y = labels.churn_labels(ctx.frames, t, plan.horizon_days, pop, known_until=until)
        idx = pd.MultiIndex.from_arrays([pop, np.full(len(pop), t)], names=["client_id", "snapshot_date"])
        xs.append(X.set_axis(idx))
        ys.append(y.set_axis(idx))
    if not xs:
        return pd.DataFrame(), pd.Series(dtype=int), []
    return pd.concat(xs), pd.concat(ys), dates


class CannotTrain(CannotScore):
    """Too few labelled client-snapshots (or of one outcome) to train the model; its baseline may score."""


def fit(ctx: RunContext, until: date, plan: labels.LabelPlan, threads: int = 1):
    """Train the pipeline on what is known by `until`; returns (pipeline, X, y, dates, features)."""
    X, y, dates = training_set(ctx, until, plan)
    X, y = cap_rows(X, y, MAX_TRAIN_ROWS)
    why = why_untrainable(X, y, "client-snapshots")
    if why:
        raise CannotTrain(f"{why} before {until} (horizon {plan.horizon_days} days)")
    features = with_values(X, feature_names(ctx.sources))
    pipe = build_pipeline(features)
    with threadpool_limits(threads):
        pipe.fit(X[features], y)
    return pipe, X, y, dates, features


def population(ctx: RunContext, t: date) -> pd.DataFrame:
    pop = labels.churn_population(ctx.frames, t)
    return ctx.client_features(t).loc[pop]


def risk_band(p: np.ndarray) -> np.ndarray:
    out = np.full(len(p), "low", dtype=object)
    for threshold, name in reversed(RISK_BANDS):
        out[np.asarray(p) >= threshold] = name
    return out


# ---------------------------------------------------------------------------- baselines
def recency_baseline(X_train: pd.DataFrame, y_train: pd.Series, X: pd.DataFrame) -> np.ndarray:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
    iso.fit(X_train[RECENCY].to_numpy(dtype=float), y_train.to_numpy(dtype=float))
    return iso.predict(X[RECENCY].to_numpy(dtype=float))


def bgnbd_baseline(ctx: RunContext, t: date, clients: pd.Index, horizon_days: int) -> np.ndarray:
    summary = bgnbd.rfm_summary(ctx.cut(t), t)
    params = bgnbd.fit(summary)
    return _bgnbd_no_purchase(params, summary, clients, horizon_days)


def _bgnbd_no_purchase(
    params: bgnbd.BgNbdParams, summary: pd.DataFrame, clients: pd.Index, horizon_days: int
) -> np.ndarray:
    s = summary.reindex(clients)
    return bgnbd.prob_no_purchase(
        params,
        s["x"].to_numpy(),
        s["t_x"].to_numpy(),
        s["T"].to_numpy(),
        horizon_days / bgnbd.DAYS_PER_PERIOD,
    )


def gap_survival(frames: Frames, t: date) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival of the quiet gaps between a client's purchase days before t: (days,
    share of gaps still quiet after that many days). Every gap that ended in a purchase is an event;
    each client's open gap (last purchase to t) is censored. Empty arrays when nobody bought twice."""
    inv = frames.invoices[["client", "day"]].drop_duplicates().sort_values(["client", "day"], kind="stable")
    client, day = inv["client"].to_numpy(), inv["day"].to_numpy()
    same = client[1:] == client[:-1]
    gaps = (day[1:] - day[:-1])[same]
    if not len(gaps):
        return np.zeros(0), np.zeros(0)
    open_gaps = float(day_number(t)) - inv.groupby("client")["day"].max().to_numpy()
    durations = np.concatenate([gaps, open_gaps])
    ended = np.concatenate([np.ones(len(gaps), dtype=bool), np.zeros(len(open_gaps), dtype=bool)])
    times = np.unique(gaps)
    at_risk = np.array([(durations >= x).sum() for x in times], dtype=float)
    events = np.array([(ended & (durations == x)).sum() for x in times], dtype=float)
    return times, np.cumprod(1.0 - events / at_risk)


def _survival_at(times: np.ndarray, survival: np.ndarray, days: np.ndarray) -> np.ndarray:
    """S(days) of a Kaplan-Meier step function (1 before the first event)."""
    idx = np.searchsorted(times, np.asarray(days, dtype=float), side="right") - 1
    return np.where(idx >= 0, survival[np.maximum(idx, 0)], 1.0)


def recency_no_purchase(
    times: np.ndarray, survival: np.ndarray, quiet_days: np.ndarray, horizon_days: int
) -> np.ndarray:
    """P(no purchase in the next `horizon_days` | quiet for `quiet_days`) = S(d + h) / S(d); 1 where no
    gap that long has ever ended in a purchase."""
    now = _survival_at(times, survival, quiet_days)
    later = _survival_at(times, survival, np.asarray(quiet_days, dtype=float) + horizon_days)
    return np.where(now > 0, later / np.where(now > 0, now, 1.0), 1.0)


@dataclass
class Baseline:
    """A churn baseline scored in the model's place: BG/NBD (`params`) or recency (`times`, `survival`)."""

    method: str  # BASELINE_BGNBD or BASELINE_RECENCY
    horizon_days: int
    params: bgnbd.BgNbdParams | None = None
    times: np.ndarray | None = None
    survival: np.ndarray | None = None

    def predict(self, ctx: RunContext, t: date, X: pd.DataFrame) -> np.ndarray:
        if self.method == BASELINE_BGNBD:
            return _bgnbd_no_purchase(
                self.params, bgnbd.rfm_summary(ctx.cut(t), t), X.index, self.horizon_days
            )
        return recency_no_purchase(self.times, self.survival, X[RECENCY].to_numpy(), self.horizon_days)

    def describe(self) -> str:
        if self.method == BASELINE_BGNBD:
            return (
                f"BG/NBD probability of no purchase in {self.horizon_days} days (r {self.params.r:.3g}, "
                f"alpha {self.params.alpha:.3g}, a {self.params.a:.3g}, b {self.params.b:.3g})"
            )
        return (
            f"recency: the share of quiet gaps between purchase days (Kaplan-Meier, {len(self.times)} "
            f"gap lengths) that stayed quiet {self.horizon_days} days longer"
        )


def fit_baseline(ctx: RunContext, horizon_days: int) -> Baseline:
    """The baseline scored when the model cannot be trained: BG/NBD with enough customers, else recency;
    CannotScore when nobody has bought twice (nothing says how soon clients come back)."""
    summary = bgnbd.rfm_summary(ctx.frames, ctx.as_of)
    if len(summary.dropna()) >= bgnbd.MIN_CUSTOMERS and (summary["x"] > 0).any():
        return Baseline(BASELINE_BGNBD, horizon_days, params=bgnbd.fit(summary))
    times, survival = gap_survival(ctx.frames, ctx.as_of)
    if not len(times):
        raise CannotScore(
            f"no client bought on two days before {ctx.as_of}: neither the model nor a baseline can tell "
            "how soon clients come back"
        )
    return Baseline(BASELINE_RECENCY, horizon_days, times=times, survival=survival)


# ---------------------------------------------------------------------------- backtest
def backtest(ctx: RunContext, plan: labels.LabelPlan, threads: int = 1) -> pd.DataFrame:
    """Rows of ml.model_metrics: the model and both baselines at each backtest date (none when the
    history has no date whose horizon is over with training snapshots before it)."""
    h = plan.horizon_days
    rows = []
    for b in labels.backtest_dates(ctx.frames, ctx.as_of, h, plan=plan):
        try:
            pipe, X_train, y_train, _, features = fit(ctx, b, plan, threads)
        except CannotTrain as exc:
            log.warning("churn backtest as of %s skipped: %s", b, exc)
            continue
        X = population(ctx, b)
        y = labels.churn_labels(ctx.frames, b, h, X.index, known_until=ctx.as_of)
        scores = {
            "model": pipe.predict_proba(X[features])[:, 1],
            BASELINE_RECENCY: recency_baseline(X_train, y_train, X),
        }
        if len(bgnbd.rfm_summary(ctx.cut(b), b).dropna()) >= bgnbd.MIN_CUSTOMERS:
            scores[BASELINE_BGNBD] = bgnbd_baseline(ctx, b, X.index, h)
        new = backtest_rows(MODEL_NAME, b, h, y.to_numpy(), scores, len(X_train))
        rows += new
        log.info("churn backtest %s: AUC %s", b, ", ".join(f"{r['method']} {r['roc_auc']:.3f}" for r in new))
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------- drivers in words
DRIVER_GROUPS = {
    "recency": ["days_since_last_invoice", "recency_over_gap", "mean_gap_days_365d"],
    "buying": [
        "invoices_90d", "invoices_prev_90d", "invoice_trend_90d", "invoices_180d", "invoices_365d",
        "invoice_days_365d", "revenue_90d_rub", "revenue_180d_rub", "revenue_prev_180d_rub",
        "revenue_365d_rub", "revenue_trend_180d",
    ],
    "payments": [
        "late_paid_share_365d", "mean_days_late_365d", "open_amount_rub", "overdue_amount_rub",
        "overdue_invoices", "max_days_past_due", "credited_share_365d",
    ],
    "breadth": ["product_lines_365d", "offices_365d", "legal_entities_365d", "avg_invoice_rub_365d"],
    "tenure": ["days_since_first_invoice"],
    "tickets": [
        "tickets_90d", "tickets_365d", "open_tickets", "open_high_priority_tickets", "open_critical_tickets",
        "oldest_open_ticket_days", "mean_resolution_hours_365d",
    ],
    "contact": [
        "interactions_90d", "interactions_prev_90d", "interaction_trend_90d", "calls_90d", "meetings_180d",
        "inbound_90d", "days_since_last_interaction", "campaign_responses_180d",
    ],
    "people": ["contacts_touched_180d", "contacts_lost_180d", "managers_touched_180d"],
    "owner": ["owner_changes_365d", "owner_has_left"],
    "deals": ["open_deals", "open_deals_amount_rub", "deals_lost_180d", "deals_won_180d"],
    "web": ["web_events_90d", "web_events_prev_90d", "web_trend_90d", "web_days_90d", "product_page_views_90d",
            "days_since_last_web_event"],
}  # fmt: skip
DRIVER_GROUPS = {g: [c + SUFFIX for c in cols] for g, cols in DRIVER_GROUPS.items()}
MIN_CONTRIBUTION = 0.01


def _v(row: pd.Series, name: str) -> float:
    value = row.get(name + SUFFIX, np.nan)
    return float(value) if pd.notna(value) else float("nan")


def _phrase(group: str, row: pd.Series) -> str:
    v = lambda n: _v(row, n)  # noqa: E731
    if group == "recency":
        gap = v("mean_gap_days_365d")
        usual = f", usually every {gap:.0f}" if np.isfinite(gap) else ""
        return f"no invoice for {v('days_since_last_invoice'):.0f} days{usual}"
    if group == "buying":
        return (
            f"{v('invoices_90d'):.0f} invoices in the last 90 days against {v('invoices_prev_90d'):.0f} "
            f"in the 90 before; revenue {v('revenue_180d_rub') / 1e6:.1f}M RUB in 6 months against "
            f"{v('revenue_prev_180d_rub') / 1e6:.1f}M before"
        )
    if group == "payments":
        parts = []
        if v("overdue_amount_rub") > 0:
            parts.append(
                f"{v('overdue_amount_rub') / 1e3:,.0f}k RUB overdue ({v('max_days_past_due'):.0f} days)"
            )
        if np.isfinite(v("mean_days_late_365d")):
            parts.append(f"pays {v('mean_days_late_365d'):.0f} days late on average")
        return "; ".join(parts) or "payment behaviour"
    if group == "breadth":
        return f"buys {v('product_lines_365d'):.0f} product line(s) through {v('legal_entities_365d'):.0f} legal entit(ies)"
    if group == "tenure":
        return f"client for {v('days_since_first_invoice'):.0f} days"
    if group == "tickets":
        return (
            f"{v('open_tickets'):.0f} open ticket(s), {v('open_high_priority_tickets'):.0f} high or critical; "
            f"{v('tickets_90d'):.0f} raised in 90 days"
        )
    if group == "contact":
        if v("interactions_90d") + v("interactions_prev_90d") == 0:
            return "no calls, e-mails or meetings in 6 months"
        return (
            f"{v('interactions_90d'):.0f} calls, e-mails and meetings in 90 days against "
            f"{v('interactions_prev_90d'):.0f} in the 90 before"
        )
    if group == "people":
        return f"{v('contacts_lost_180d'):.0f} contact person(s) no longer in touch; {v('contacts_touched_180d'):.0f} left"
    if group == "owner":
        left = " and the owner has left" if v("owner_has_left") > 0 else ""
        return f"{v('owner_changes_365d'):.0f} owner change(s) in 12 months{left}"
    if group == "deals":
        return f"{v('deals_lost_180d'):.0f} deal(s) lost in 6 months, {v('open_deals'):.0f} open"
    if group == "web":
        if v("web_events_90d") + v("web_events_prev_90d") == 0:
            return "no web visits in 6 months"
        return (
            f"{v('web_events_90d'):.0f} web events in 90 days against {v('web_events_prev_90d'):.0f} before"
        )
    return group


def drivers(pipe: Pipeline, X: pd.DataFrame, reference: pd.Series, top: int = 3) -> pd.DataFrame:
    """Per client: the top feature groups raising its risk, in words, and their names."""
    features = list(pipe.named_steps["features"].columns)
    groups = {g: [c for c in cols if c in features] for g, cols in DRIVER_GROUPS.items()}
    contrib = group_contributions(pipe, X[features], groups, reference[features])
    words, names = [], []
    for client, row in contrib.iterrows():
        best = row[row > MIN_CONTRIBUTION].sort_values(ascending=False).head(top)
        x = X.loc[client]
        words.append("; ".join(_phrase(g, x) for g in best.index) or "no single strong risk signal")
        names.append(",".join(best.index))
    return pd.DataFrame({"drivers": words, "driver_features": names}, index=X.index)


# ---------------------------------------------------------------------------- train and score
def train(
    ctx: RunContext,
    plan: labels.LabelPlan | None = None,
    backtest_rows: pd.DataFrame | None = None,
    threads: int = 1,
) -> tuple[dict, Pipeline | Baseline]:
    """Train the model scored as of ctx.as_of (or load the registered run trained on the same data);
    when it cannot be trained, fit and register its baseline instead (status `baseline`)."""
    plan = plan or label_plan(ctx)
    h = plan.horizon_days
    metrics = summarise_backtest(backtest_rows) if backtest_rows is not None else {}
    X, y, dates = training_set(ctx, ctx.as_of, plan)
    X, y = cap_rows(X, y, MAX_TRAIN_ROWS)
    features = with_values(X, feature_names(ctx.sources))
    run = registry.TrainingRun(
        model_name=MODEL_NAME,
        as_of=ctx.as_of,
        estimator=None,
        train_window=(dates[0] if dates else None, dates[-1] if dates else None),
        train_rows=len(X),
        train_positives=int(y.sum()) if len(y) else 0,
        sources=sorted(ctx.sources),
        features=features,
        params={
            "hgb": HGB_PARAMS,
            "calibration": "isotonic, 2 client-grouped folds",
            "max_rows": MAX_TRAIN_ROWS,
        },
        horizon_days=h,
        metrics=metrics,
        reason=plan.describe("churn"),
    )
    if plan.is_shortened:
        run.params["asked_horizon_days"] = plan.asked_days
        run.params["min_history_months"] = plan.min_history_months
    why = why_untrainable(X, y, "client-snapshots")
    if why:
        return _train_baseline(ctx, plan, why, metrics, backtest_rows)
    run.fingerprint = registry.fingerprint(X[features] if len(X) else X, y, run.params, features, h)
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        log.info("churn: using registered %s (version %s)", found["run_id"], found["version"])
        return found, registry.load_model(found)
    pipe = build_pipeline(features)
    with threadpool_limits(threads):
        pipe.fit(X[features], y)
    run.estimator = pipe
    run.card = model_card(run, metrics, backtest_rows)
    return registry.register(ctx.con, ctx.settings, run), pipe


def _train_baseline(
    ctx: RunContext,
    plan: labels.LabelPlan,
    why: str,
    metrics: dict,
    backtest_rows: pd.DataFrame | None,
) -> tuple[dict, Baseline]:
    """Register the baseline scored in the model's place. It needs no labels, so it answers the horizon
    asked."""
    baseline = fit_baseline(ctx, plan.asked_days)
    reason = (
        f"the model cannot be trained as of {ctx.as_of}: {why} (horizon {plan.horizon_days} days, "
        f"history from {plan.start}); scored by its baseline: {baseline.describe()}"
    )
    params = {"method": baseline.method, "baseline": baseline.describe()}
    run = registry.TrainingRun(
        model_name=MODEL_NAME,
        as_of=ctx.as_of,
        estimator=baseline,
        train_window=(ctx.frames.finance_start, ctx.as_of),
        train_rows=int(ctx.frames.invoices["client"].nunique()),
        train_positives=None,
        sources=sorted(ctx.sources),
        features=[RECENCY],
        params=params,
        horizon_days=baseline.horizon_days,
        metrics=metrics,
        status=BASELINE,
        reason=reason,
    )
    run.fingerprint = registry.fingerprint(
        ctx.frames.invoices[["client_id", "day"]], params, baseline.horizon_days
    )
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        return found, registry.load_model(found)
    run.card = baseline_card(run, baseline, backtest_rows)
    return registry.register(ctx.con, ctx.settings, run), baseline


def reference_row(ctx: RunContext, run: dict) -> pd.Series:
    """A typical client: the median features of the clients that kept buying at the last training date."""
    t = run["train_window_end"]
    t = t.date() if hasattr(t, "date") else t
    pop = labels.churn_population(ctx.frames, t)
    X = ctx.client_features(t).loc[pop]
    y = labels.churn_labels(ctx.frames, t, int(run["horizon_days"]), pop, known_until=ctx.as_of)
    return X.loc[y.to_numpy() == 0].median(numeric_only=True)


def score(ctx: RunContext, run: dict, scorer: Pipeline | Baseline) -> pd.DataFrame:
    """Rows of ml.churn_scores for the clients active on ctx.as_of, by the model or its baseline."""
    X = population(ctx, ctx.as_of)
    if isinstance(scorer, Baseline):
        p = scorer.predict(ctx, ctx.as_of, X)
        method = scorer.method
        why = pd.DataFrame(
            {
                "drivers": [
                    f"no invoice for {d:.0f} days (baseline: {BASELINE_LABELS[method]})"
                    for d in X[RECENCY].to_numpy()
                ],
                "driver_features": "recency",
            },
            index=X.index,
        )
    else:
        features = list(scorer.named_steps["features"].columns)
        method = "model"
        with threadpool_limits(1):
            p = scorer.predict_proba(X[features])[:, 1]
            why = drivers(scorer, X, reference_row(ctx, run))
    out = pd.DataFrame(
        {
            "as_of_date": ctx.as_of,
            "client_id": X.index.to_numpy(),
            "churn_probability": p,
            "risk_band": risk_band(p),
            "drivers": why["drivers"].to_numpy(),
            "driver_features": why["driver_features"].to_numpy(),
            "days_since_last_invoice": X[RECENCY].to_numpy(),
            # the marts' 12-month figure, net of credit notes (the model's own feature is gross)
            "revenue_12m_rub": client_economics(ctx.frames, ctx.as_of)["net_revenue_12m_rub"]
            .reindex(X.index)
            .fillna(0.0)
            .to_numpy(),
            "horizon_days": int(run["horizon_days"]),
            "model_run_id": run["run_id"],
            "method": method,
        }
    )
    return out.sort_values("client_id").reset_index(drop=True)


def summarise_backtest(metrics: pd.DataFrame) -> dict:
    """Mean metrics per method over the backtest dates."""
    if metrics.empty:
        return {}
    mean = metrics.groupby("method")[["roc_auc", "pr_auc", "brier"]].mean()
    return {m: {k: round(float(v), 4) for k, v in row.items()} for m, row in mean.iterrows()}


def model_card(run: registry.TrainingRun, metrics: dict, backtest_rows: pd.DataFrame | None = None) -> str:
    table = ""
    if backtest_rows is not None and not backtest_rows.empty:
        cols = ["backtest_as_of_date", "method", "rows_scored", "positives", "roc_auc", "pr_auc", "brier"]
        table = registry.markdown_table(backtest_rows[cols])
    return f"""# Churn risk model, version {{version}}

Run `{run.run_id}`, trained as of {run.as_of} for a horizon of {run.horizon_days} days.
{f"{chr(10)}**Horizon shortened.** {run.reason}.{chr(10)}" if run.reason else ""}
**What it is.** The probability that a client invoiced in the 12 months before the as-of date is
invoiced nothing in the next {run.horizon_days} days. One sklearn Pipeline: the {len(run.features)}
feature columns, then HistGradientBoostingClassifier ({run.params["hgb"]}) calibrated by isotonic
regression over two client-grouped folds (two boosters averaged).

**Trained on.** Monthly snapshots from {run.train_window[0]} to {run.train_window[1]} whose label
window closed by {run.as_of}: {run.train_rows:,} client-snapshots, {run.train_positives:,} churned.
Sources: {", ".join(run.sources)}. Features are computed from events strictly before each snapshot.

**How it scored.** Backtest at the last four quarter starts whose horizon is over, re-trained each
time on what was known then, next to two baselines fitted on the same data (mean over dates):

{_metrics_lines(metrics)}

{table}

**Use and limits.** Risk bands: high >= 0.5, medium >= 0.2, low below. Drivers are the feature
groups whose replacement by a typical retained client's values lowers the probability most. Client
resolution (which legal entities form a client) is today's, not the snapshot's.
"""


def _metrics_lines(metrics: dict) -> str:
    if not metrics:
        return "(no backtest in this run)"
    lines = ["| method | ROC AUC | PR AUC | Brier |", "|---|---|---|---|"]
    for method, m in metrics.items():
        lines.append(f"| {method} | {m['roc_auc']:.3f} | {m['pr_auc']:.3f} | {m['brier']:.3f} |")
    return "\n".join(lines)


def baseline_card(run: registry.TrainingRun, baseline: Baseline, backtest_rows: pd.DataFrame | None) -> str:
    table = ""
    if backtest_rows is not None and not backtest_rows.empty:
        cols = ["backtest_as_of_date", "method", "rows_scored", "positives", "roc_auc", "pr_auc", "brier"]
        table = "Backtest on the shorter horizon:\n\n" + registry.markdown_table(backtest_rows[cols])
    return f"""# Churn risk, version {{version}}: baseline

Run `{run.run_id}`, as of {run.as_of} for a horizon of {run.horizon_days} days.

**Scored by the baseline, not the model.** {run.reason}

**What it is.** The probability that a client invoiced in the 12 months before the as-of date is
invoiced nothing in the next {run.horizon_days} days, by {baseline.describe()}. It needs no churn
labels, so it answers the horizon asked; the rows of ml.churn_scores say `method` =
`{baseline.method}`. Drivers are the days since the last invoice only.

{table}

**Use and limits.** Risk bands as for the model (high >= 0.5, medium >= 0.2). The model takes over
once the history labels enough client-snapshots of both outcomes.
"""
