"""Value segments: ABC by net revenue share crossed with behaviour clusters (KMeans), a margin class
(ABC by gross margin share: the most profitable clients are not always the biggest), and an expected
value for the next horizon per client (BG/NBD expected purchases x the client's typical invoice).
Revenue and margin are the marts' figures (models/economics.py): net of credit notes, less cost of
sales.

The segmentation model is fitted as of the run's date and registered: one sklearn Pipeline (feature
columns, log transform, median imputation, scaling, KMeans with a fixed seed), the ABC thresholds in
roubles and the business names of the clusters, found from their centres. Scoring another date with
the same registered model (the migration table) moves a client only when its own data moved it:
thresholds are fixed amounts, not shares recomputed over other clients.
"""

from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from models import bgnbd, registry
from models.context import RunContext
from models.data import add_months
from models.economics import client_economics
from models.features import SUFFIX
from models.sk import RANDOM_STATE, FeatureColumns
from models.status import CannotScore

log = logging.getLogger(__name__)

MODEL_NAME = "segments"
N_CLUSTERS = 4
ABC_SHARES = (0.80, 0.95)  # A: the biggest clients making 80% of revenue, B: the next 15%, C: the rest
LAPSED = "lapsed"
LOSS = "loss"  # margin class of an active client whose gross margin is zero or less
BEHAVIOUR_FEATURES = [
    c + SUFFIX
    for c in (
        "days_since_last_invoice",
        "invoice_days_365d",
        "days_since_first_invoice",
        "product_lines_365d",
        "late_paid_share_365d",
        "revenue_trend_180d",
    )
]
LOG_FEATURES = {0, 1, 2, 5}  # positions in BEHAVIOUR_FEATURES taken as log(1 + x)


def _log_some(X):
    X = np.array(X, dtype=float, copy=True)
    for i in LOG_FEATURES:
        X[:, i] = np.log1p(np.maximum(X[:, i], 0.0))
    return X


def build_pipeline() -> Pipeline:
    return Pipeline(
        [
            ("features", FeatureColumns(BEHAVIOUR_FEATURES)),
            ("log", FunctionTransformer(_log_some)),
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("kmeans", KMeans(n_clusters=N_CLUSTERS, n_init=10, random_state=RANDOM_STATE)),
        ]
    )


def abc_thresholds(revenue: pd.Series) -> tuple[float, float]:
    """Revenue (roubles, 12 months) from which a client is A, and from which it is B."""
    r = revenue[revenue > 0].sort_values(ascending=False)
    if r.empty:
        return (np.inf, np.inf)
    share = r.cumsum() / r.sum()
    a_min = float(r[share <= ABC_SHARES[0]].min()) if (share <= ABC_SHARES[0]).any() else float(r.iloc[0])
    b_min = float(r[share <= ABC_SHARES[1]].min()) if (share <= ABC_SHARES[1]).any() else a_min
    return a_min, b_min


def name_clusters(X: pd.DataFrame, cluster: np.ndarray) -> dict[int, str]:
    """Business names from the clusters' medians: fading (long silence for its rhythm), new (short
    tenure), loyal (buys most often), occasional (the rest)."""
    med = X.assign(cluster=cluster).groupby("cluster").median(numeric_only=True)
    names: dict[int, str] = {}
    left = list(med.index)
    order = [
        ("fading", med["recency_over_gap" + SUFFIX], False),
        ("new", med["days_since_first_invoice" + SUFFIX], True),
        ("loyal", med["invoice_days_365d" + SUFFIX], False),
    ]
    for name, values, smallest in order:
        if not left:
            break
        pick = values.loc[left].idxmin() if smallest else values.loc[left].idxmax()
        names[int(pick)] = name
        left.remove(pick)
    for c in left:
        names[int(c)] = "occasional"
    return names


def _active(X: pd.DataFrame) -> pd.DataFrame:
    return X[X["revenue_365d_rub" + SUFFIX] > 0]


def economics(ctx: RunContext, t: date, X: pd.DataFrame) -> pd.DataFrame:
    """Net revenue and gross margin of the 12 months before t of every client in X (0 when none)."""
    return client_economics(ctx.cut(t), t).reindex(X.index).fillna(0.0)


def train(ctx: RunContext) -> tuple[dict, dict]:
    if ctx.frames.invoices.empty:
        raise CannotScore(
            f"no invoices before {ctx.as_of}: value segments come from revenue; load the accounting exports"
        )
    X = ctx.client_features(ctx.as_of)
    active = _active(X)
    earned = economics(ctx, ctx.as_of, active)
    revenue = earned["net_revenue_12m_rub"]
    run = registry.TrainingRun(
        model_name=MODEL_NAME,
        as_of=ctx.as_of,
        estimator=None,
        train_window=(ctx.frames.finance_start, ctx.as_of),
        train_rows=len(active),
        train_positives=None,
        sources=sorted(ctx.sources),
        features=BEHAVIOUR_FEATURES,
        params={"n_clusters": N_CLUSTERS, "abc_shares": ABC_SHARES, "random_state": RANDOM_STATE},
        horizon_days=ctx.churn_horizon_days,
    )
    run.fingerprint = registry.fingerprint(
        active[BEHAVIOUR_FEATURES + ["recency_over_gap" + SUFFIX]].assign(
            margin=earned["gross_margin_12m_rub"]
        ),
        revenue,
        run.params,
    )
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        return found, registry.load_model(found)
    if len(active) < N_CLUSTERS:
        raise CannotScore(
            f"value segments need at least {N_CLUSTERS} clients invoiced in the 12 months before "
            f"{ctx.as_of} (one per behaviour cluster); there are {len(active)}"
        )
    pipe = build_pipeline().fit(active)
    cluster = pipe.predict(active)
    model = {
        "pipeline": pipe,
        "abc_thresholds": abc_thresholds(revenue),
        "margin_thresholds": abc_thresholds(earned["gross_margin_12m_rub"]),
        "cluster_names": name_clusters(active, cluster),
    }
    run.estimator = model
    run.metrics = {
        "clients": len(active),
        "clusters": pd.Series(cluster).map(model["cluster_names"]).value_counts().to_dict(),
    }
    run.card = model_card(run, model, active, cluster)
    return registry.register(ctx.con, ctx.settings, run), model


def _abc(values: pd.Series, thresholds: tuple[float, float], below: str) -> np.ndarray:
    a_min, b_min = thresholds
    return np.where(values >= a_min, "A", np.where(values >= b_min, "B", np.where(values > 0, "C", below)))


def assign(model: dict, X: pd.DataFrame, earned: pd.DataFrame) -> pd.DataFrame:
    """value_class (by net revenue), margin_class (by gross margin), behaviour and segment of every client
    in X (features at one date; `earned`: economics at that date)."""
    revenue = earned["net_revenue_12m_rub"].reindex(X.index).fillna(0.0)
    value = _abc(revenue, model["abc_thresholds"], LAPSED)
    invoiced = X["revenue_365d_rub" + SUFFIX].to_numpy() > 0
    margin = earned["gross_margin_12m_rub"].reindex(X.index).fillna(0.0)
    # a model registered before margins existed has no margin thresholds: every class is then C or loss
    margin_class = np.where(
        invoiced, _abc(margin, model.get("margin_thresholds", (np.inf, np.inf)), LOSS), LAPSED
    )
    behaviour = np.full(len(X), LAPSED, dtype=object)
    active = revenue.to_numpy() > 0
    if active.any():
        cl = model["pipeline"].predict(X.loc[active])
        behaviour[active] = [model["cluster_names"][int(c)] for c in cl]
    segment = np.where(active, pd.Series(value) + " · " + pd.Series(behaviour), LAPSED)
    return pd.DataFrame(
        {"value_class": value, "margin_class": margin_class, "behaviour": behaviour, "segment": segment},
        index=X.index,
    )


def expected_value(ctx: RunContext, t: date, X: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """BG/NBD expected purchase days in the horizon x the client's typical invoice (shrunk to everyone's);
    missing (NaN) with fewer than bgnbd.MIN_CUSTOMERS customers, too few to fit BG/NBD on."""
    summary = bgnbd.rfm_summary(ctx.cut(t), t)
    if len(summary.dropna()) < bgnbd.MIN_CUSTOMERS:
        return pd.DataFrame({"expected_purchases": np.nan, "expected_value_rub": np.nan}, index=X.index)
    params = bgnbd.fit(summary)
    s = summary.reindex(X.index)
    tau = horizon_days / bgnbd.DAYS_PER_PERIOD
    purchases = bgnbd.expected_purchases(params, s["x"], s["t_x"], s["T"], tau)
    typical = bgnbd.spend_per_purchase_day(ctx.cut(t), X.index)
    return pd.DataFrame(
        {"expected_purchases": purchases, "expected_value_rub": purchases * typical.to_numpy()}, index=X.index
    )


def score(ctx: RunContext, run: dict, model: dict, t: date | None = None) -> pd.DataFrame:
    """Rows of ml.client_segments as of t (default the run's date) with the registered model."""
    t = t or ctx.as_of
    X = ctx.client_features(t)
    earned = economics(ctx, t, X)
    seg = assign(model, X, earned)
    ev = expected_value(ctx, t, X, ctx.churn_horizon_days)
    out = pd.DataFrame(
        {
            "as_of_date": t,
            "client_id": X.index.to_numpy(),
            "segment": seg["segment"].to_numpy(),
            "value_class": seg["value_class"].to_numpy(),
            "behaviour": seg["behaviour"].to_numpy(),
            "revenue_12m_rub": earned["net_revenue_12m_rub"].to_numpy(),
            "gross_margin_12m_rub": earned["gross_margin_12m_rub"].to_numpy(),
            "margin_class": seg["margin_class"].to_numpy(),
            # ranks as mart_client_profitability's (1 the largest, ties share the smallest rank)
            "revenue_rank_12m": earned["net_revenue_12m_rub"].rank(method="min", ascending=False).to_numpy(),
            "gross_margin_rank_12m": earned["gross_margin_12m_rub"]
            .rank(method="min", ascending=False)
            .to_numpy(),
            "days_since_last_invoice": X["days_since_last_invoice" + SUFFIX].to_numpy(),
            "invoice_days_12m": X["invoice_days_365d" + SUFFIX].to_numpy(),
            "tenure_days": X["days_since_first_invoice" + SUFFIX].to_numpy(),
            "product_lines_12m": X["product_lines_365d" + SUFFIX].to_numpy(),
            "late_paid_share_12m": X["late_paid_share_365d" + SUFFIX].to_numpy(),
            "expected_purchases": ev["expected_purchases"].to_numpy(),
            "expected_value_rub": ev["expected_value_rub"].to_numpy(),
            "horizon_days": ctx.churn_horizon_days,
            "model_run_id": run["run_id"],
        }
    )
    return out.sort_values("client_id").reset_index(drop=True)


def migration(ctx: RunContext, run: dict, model: dict, from_date: date | None = None) -> pd.DataFrame:
    """Rows of ml.client_segment_migration: each client's segment at `from_date` (default three months
    earlier) and at the run's date, both by the same registered model."""
    from_date = from_date or add_months(ctx.as_of, -3)
    if ctx.frames.finance_start is None or from_date <= ctx.frames.finance_start:
        return pd.DataFrame(columns=["as_of_date"])
    X_now, X_before = ctx.client_features(ctx.as_of), ctx.client_features(from_date)
    earned_now, earned_before = economics(ctx, ctx.as_of, X_now), economics(ctx, from_date, X_before)
    now = assign(model, X_now, earned_now)
    before = assign(model, X_before, earned_before)
    rev_now = earned_now["net_revenue_12m_rub"]
    rev_before = earned_before["net_revenue_12m_rub"]
    clients = now.index.union(before.index)
    from_seg = before["segment"].reindex(clients).fillna("not yet a client")
    to_seg = now["segment"].reindex(clients)
    out = pd.DataFrame(
        {
            "as_of_date": ctx.as_of,
            "from_as_of_date": from_date,
            "client_id": clients.to_numpy(),
            "from_segment": from_seg.to_numpy(),
            "to_segment": to_seg.to_numpy(),
            "has_changed": (from_seg != to_seg).to_numpy(),
            "from_revenue_12m_rub": rev_before.reindex(clients).fillna(0.0).to_numpy(),
            "to_revenue_12m_rub": rev_now.reindex(clients).to_numpy(),
            "model_run_id": run["run_id"],
        }
    )
    return out.sort_values("client_id").reset_index(drop=True)


def model_card(run: registry.TrainingRun, model: dict, active: pd.DataFrame, cluster: np.ndarray) -> str:
    names = model["cluster_names"]
    med = active[BEHAVIOUR_FEATURES].assign(behaviour=[names[int(c)] for c in cluster])
    profile = med.groupby("behaviour").median().round(2)
    profile.insert(0, "clients", med.groupby("behaviour").size())
    profile.columns = [c.replace(SUFFIX, "") for c in profile.columns]
    a_min, b_min = model["abc_thresholds"]
    m_a, m_b = model["margin_thresholds"]
    return f"""# Value segments, version {{version}}

Run `{run.run_id}`, fitted as of {run.as_of} on the {run.train_rows:,} clients invoiced in the 12
months before it.

**What it is.** ABC by 12-month net revenue (A from {a_min:,.0f} RUB: the clients making the first
{ABC_SHARES[0]:.0%} of revenue; B from {b_min:,.0f} RUB: the next {ABC_SHARES[1] - ABC_SHARES[0]:.0%};
C below; lapsed: nothing in 12 months), and the same classes by gross margin (margin_class: A from
{m_a:,.0f} RUB, B from {m_b:,.0f} RUB; loss: no margin) crossed with {N_CLUSTERS} behaviour clusters: one sklearn
Pipeline (log of counts and days, median imputation, scaling, KMeans, seed {RANDOM_STATE}).
Expected value: BG/NBD expected purchase days in the next {run.horizon_days} days x the client's
typical invoice day (shrunk towards everyone's by {bgnbd.SHRINK_PURCHASES:.0f} invoice days).

**Clusters (medians).**

{registry.markdown_table(profile.reset_index(), "{:.2f}")}

**Limits.** The thresholds and clusters are those of this run; the migration table scores both
dates with this run, so only a client's own data moves it.
"""
