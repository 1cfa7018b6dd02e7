"""Sales forecast: monthly revenue (invoiced, before VAT, in roubles) for the next months by product
line x office and in total, with 80% and 95% intervals, measured by a rolling-origin backtest.

The model, fitted at each origin on the complete months before it:
- parts: one sklearn Pipeline, a Poisson GLM on every product line x office series at once for the
  calendar-month effect shared by all series, x a straight-line trend per series (ridge, recent
  months weighted);
- total, fitted on its own: a calendar-month profile from a Poisson GLM on winsorised monthly revenue
  (every invoice capped at the CAP_QUANTILE of the amounts before the origin, so a few large invoices
  do not bend it; up to SEASON_WINDOW_MONTHS) x the level, the mean deseasonalised revenue of the last
  LEVEL_MONTHS. The parts are scaled month by month to sum to it (top-down reconciliation);
- open pipeline, for the first PIPELINE_MONTHS months: the deals open at the origin x the win rate
  of their stage x when deals at that stage and age have closed, replacing the share of revenue
  that, historically, came from deals already open at the origin (parts and total alike);
- combination: the total is the weighted mean, per horizon, of three candidates: the total's own fit
  (with the pipeline), the sum of the parts' own forecasts (bottom-up, with their trends) and seasonal
  naive, weighted by inverse mean squared error at the earlier origins whose target month is over
  (Bates-Granger weights); the parts are scaled with it, so they still sum to the total.

Intervals: parts are quasi-Poisson, forecast +- empirical quantiles of (actual - forecast) /
sqrt(forecast) from the backtest's earlier origins; the total is forecast x (1 +- Student t quantile x
root mean square of its relative errors at earlier origins, pooled over horizons).

The backtest (ml.forecast_accuracy): every origin with at least MIN_HISTORY_MONTHS of history, WAPE,
bias and interval coverage per horizon and level, next to seasonal naive (the same month a year
before) and the mean of the last three months, computed on the same origins. The forecast made at
each origin, its combination weights and its intervals use only what was known then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.linear_model import PoissonRegressor, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models import registry
from models.context import RunContext
from models.data import NO_VALUE, Frames, add_months, day_number, from_day_number, month_start

log = logging.getLogger(__name__)

MODEL_NAME = "sales_forecast"
MIN_HISTORY_MONTHS = 18
FIT_WINDOW_MONTHS = 24
PIPELINE_MONTHS = 3
GLM_ALPHA = 1e-3
TREND = "linear"  # "linear": straight-line trend per series; "log": the GLM's log-linear trend
SLOPE_ALPHA = 1.0
HALF_LIFE_MONTHS = 6.0  # weight of a month in the trend fit halves every this many months back
TREND_DAMPING = 1.0  # per month, applied to the trend beyond the last observed month
FREE_WEIGHT = 30.0
LEVEL_TOTAL, LEVEL_PARTS = "total", "product_line_office"
METHOD_MODEL, METHOD_SNAIVE, METHOD_MEAN3 = "model", "seasonal_naive", "last_3_months_mean"
STAGES = ("qualification", "proposal", "negotiation")
# the total: calendar-month effect from a Poisson GLM on winsorised monthly revenue (each invoice capped
# at this quantile of the invoice amounts before the origin) over up to SEASON_WINDOW_MONTHS, and the
# level as the mean deseasonalised revenue of the last LEVEL_MONTHS months
CAP_QUANTILE = 0.9
SEASON_WINDOW_MONTHS = 48
LEVEL_MONTHS = 12
# forecast combination: the total is the weighted mean of CANDIDATES, per horizon, by inverse mean squared
# error on the earlier origins whose month is over (Bates-Granger weights), once there are at least
# MIN_COMBINATION_ERRORS such errors; the parts follow the total (scaled)
MIN_COMBINATION_ERRORS = 6
AGE_BUCKETS = np.array([0, 15, 30, 60, 120, 100_000])


# ---------------------------------------------------------------------------- the GLM pipeline
class SeriesTrend(TransformerMixin, BaseEstimator):
    """One column per series holding the trend (years from the origin) on that series' rows, 0 elsewhere."""

    def __init__(self, series: list[str]):
        self.series = series

    def fit(self, X, y=None):
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        codes = pd.Categorical(X["series"], categories=self.series).codes
        out = np.zeros((len(X), len(self.series)))
        ok = codes >= 0
        out[np.flatnonzero(ok), codes[ok]] = X["years"].to_numpy(dtype=float)[ok]
        return out


def build_pipeline(series: list[str]) -> Pipeline:
    """Design (series level, series x trend, calendar month) -> Poisson GLM on the scaled target."""
    # The GLM's ridge penalty falls on every coefficient alike; a column scaled by w has its
    # coefficient's penalty divided by w**2. Levels, the common trend and the calendar months are
    # scaled up (nearly free), each series' own trend is left at 1 (shrunk towards the common trend).
    design = ColumnTransformer(
        [
            ("series", OneHotEncoder(categories=[series], handle_unknown="ignore"), ["series"]),
            ("trend", "passthrough", ["years"]),
            ("series_trend", SeriesTrend(series), ["series", "years"]),
            ("month", OneHotEncoder(categories=[list(range(1, 13))], handle_unknown="ignore"), ["month"]),
        ],
        sparse_threshold=0.0,
        transformer_weights={
            "series": FREE_WEIGHT,
            "trend": FREE_WEIGHT,
            "series_trend": 1.0,
            "month": FREE_WEIGHT,
        },
    )
    glm = TransformedTargetRegressor(
        regressor=PoissonRegressor(alpha=GLM_ALPHA, solver="newton-cholesky", max_iter=100),
        transformer=StandardScaler(with_mean=False),
        check_inverse=False,
    )
    return Pipeline([("design", design), ("glm", glm)])


# ---------------------------------------------------------------------------- data
@dataclass
class History:
    """Monthly revenue by series (product_line|office) over complete months, oldest first."""

    months: list[date]
    series: list[str]
    values: np.ndarray  # months x series, roubles

    @property
    def total(self) -> np.ndarray:
        return self.values.sum(axis=1)


def monthly_history(frames: Frames, until_month: date) -> History:
    """Revenue of the complete months before `until_month` (a month start)."""
    inv = frames.invoices
    days = inv["day"].to_numpy()
    month = pd.to_datetime(days, unit="D").to_period("M")
    keep = days < day_number(until_month)
    df = pd.DataFrame(
        {
            "month": month[keep],
            "series": inv["series"].to_numpy()[keep],
            "amount": inv["amount_rub"].to_numpy()[keep],
        }
    )
    if df.empty:
        return History([], [], np.zeros((0, 0)))
    periods = pd.period_range(df["month"].min(), pd.Period(until_month, "M") - 1, freq="M")
    table = df.pivot_table(index="month", columns="series", values="amount", aggfunc="sum").reindex(periods)
    table = table.fillna(0.0)
    return History(
        [p.to_timestamp().date() for p in periods], [str(c) for c in table.columns], table.to_numpy()
    )


def _damped_years(steps: np.ndarray) -> np.ndarray:
    """Years from the origin month with the trend damped beyond the last observed month: a month s
    steps after it counts as phi + phi**2 + ... + phi**s steps (s for phi = 1)."""
    phi = TREND_DAMPING
    s = np.asarray(steps, dtype=float)
    damped = s if phi >= 1.0 else phi * (1.0 - phi**s) / (1.0 - phi)
    return np.where(s > 0, (damped - 1.0) / 12.0, (s - 1.0) / 12.0)


def _rows(series: list[str], months: list[date], origin: date) -> pd.DataFrame:
    """Long design rows (series, years from origin, calendar month) for every series x month."""
    offset = np.array([(m.year - origin.year) * 12 + m.month - origin.month for m in months])
    years = _damped_years(offset + 1)  # steps after the last complete month before the origin
    cal = np.array([m.month for m in months])
    return pd.DataFrame(
        {
            "series": np.repeat(series, len(months)),
            "years": np.tile(years, len(series)),
            "month": np.tile(cal, len(series)),
        }
    )


class SeasonalTrendRegressor(RegressorMixin, BaseEstimator):
    """revenue(series, month) = season(calendar month) x max(level(series) + slope(series) x years, 0).

    The calendar-month effect comes from the Poisson GLM (`build_pipeline`), shared by all series; the
    level and slope of each series are a ridge regression on the deseasonalised revenue, so trends
    are straight lines in roubles (a shrinking product line does not decay exponentially, a growing
    one does not compound)."""

    def __init__(self, series: list[str], slope_alpha: float = 1.0, half_life_months: float | None = 12.0):
        self.series = series
        self.slope_alpha = slope_alpha
        self.half_life_months = half_life_months

    def _design(self, X: pd.DataFrame) -> np.ndarray:
        codes = pd.Index(self.series, dtype=object).get_indexer(X["series"])
        n, k = len(X), len(self.series)
        out = np.zeros((n, 2 * k))
        rows = np.flatnonzero(codes >= 0)
        # levels scaled up: ridge leaves them nearly free, and shrinks the slopes
        out[rows, codes[rows]] = FREE_WEIGHT
        out[rows, k + codes[rows]] = X["years"].to_numpy(dtype=float)[rows]
        return out

    def fit(self, X: pd.DataFrame, y: np.ndarray):
        y = np.asarray(y, dtype=float)
        self.glm_ = build_pipeline(self.series).fit(X, y)
        probe = pd.DataFrame({"series": self.series[0], "years": 0.0, "month": np.arange(1, 13)})
        effect = self.glm_.predict(probe)
        self.season_ = effect / effect.mean()
        scale = max(float(np.mean(y)), 1.0)
        deseason = y / self.season_[X["month"].to_numpy() - 1] / scale
        years = X["years"].to_numpy(dtype=float)
        weight = (
            0.5 ** ((years.max() - years) * 12.0 / self.half_life_months) if self.half_life_months else None
        )
        self.trend_ = Ridge(alpha=self.slope_alpha, fit_intercept=False).fit(
            self._design(X), deseason, sample_weight=weight
        )
        self.scale_ = scale
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        level = np.maximum(self.trend_.predict(self._design(X)), 0.0) * self.scale_
        return self.season_[X["month"].to_numpy() - 1] * level


def fit_baseline(history: History, origin: date) -> tuple[SeasonalTrendRegressor, list[str]]:
    """The forecaster fitted on the last FIT_WINDOW_MONTHS of history, over series active in the last 2 years."""
    vals = history.values[-FIT_WINDOW_MONTHS:]
    months = history.months[-FIT_WINDOW_MONTHS:]
    active = vals[-24:].sum(axis=0) > 0
    series = [s for s, a in zip(history.series, active, strict=True) if a]
    y = vals[:, active].T.ravel()
    model = (
        SeasonalTrendRegressor(series, SLOPE_ALPHA, HALF_LIFE_MONTHS)
        if TREND == "linear"
        else build_pipeline(series)
    )
    model.fit(_rows(series, months, origin), y)
    return model, series


def predict_baseline(pipe: Pipeline, series: list[str], origin: date, horizon: int) -> np.ndarray:
    months = [add_months(origin, k) for k in range(horizon)]
    pred = pipe.predict(_rows(series, months, origin))
    return np.maximum(pred, 0.0).reshape(len(series), horizon).T  # horizon x series


# ---------------------------------------------------------------------------- the total
@dataclass
class TotalModel:
    """revenue(month) = season(calendar month) x level: the seasonal profile from winsorised revenue (a
    few large invoices do not bend it), the level from the actual revenue of the last LEVEL_MONTHS."""

    season: np.ndarray  # 12 factors, mean 1
    level: float  # deseasonalised monthly revenue, roubles
    cap_rub: float

    def predict(self, origin: date, horizon: int) -> np.ndarray:
        return np.array([self.season[add_months(origin, k).month - 1] * self.level for k in range(horizon)])


def monthly_capped(frames: Frames, until_month: date, cap: float) -> np.ndarray:
    """Monthly revenue with every invoice capped at `cap`, over the months of `monthly_history`."""
    inv = frames.invoices
    days = inv["day"].to_numpy()
    keep = days < day_number(until_month)
    if not keep.any():
        return np.zeros(0)
    month = pd.to_datetime(days[keep], unit="D").to_period("M")
    periods = pd.period_range(month.min(), pd.Period(until_month, "M") - 1, freq="M")
    capped = np.minimum(inv["amount_rub"].to_numpy()[keep], cap)
    return pd.Series(capped).groupby(month).sum().reindex(periods).fillna(0.0).to_numpy()


def fit_total(frames: Frames, history: History) -> TotalModel:
    """Season and level of the total from the complete months in `history` (frames cut at its end)."""
    total = history.total
    if len(total) == 0 or total.sum() <= 0:
        return TotalModel(np.ones(12), 0.0, 0.0)
    amounts = frames.invoices["amount_rub"].to_numpy()
    amounts = amounts[frames.invoices["day"].to_numpy() < day_number(add_months(history.months[-1], 1))]
    cap = float(np.quantile(amounts, CAP_QUANTILE)) if len(amounts) else 0.0
    capped = monthly_capped(frames, add_months(history.months[-1], 1), cap)[-SEASON_WINDOW_MONTHS:]
    months = history.months[-len(capped) :]
    cal = np.array([m.month for m in months])
    years = (np.arange(len(capped)) - len(capped) + 1) / 12.0
    X = np.column_stack([np.eye(12)[cal - 1] * FREE_WEIGHT, years * FREE_WEIGHT])
    scale = max(float(capped.mean()), 1.0)
    glm = PoissonRegressor(alpha=GLM_ALPHA, solver="newton-cholesky", max_iter=300, fit_intercept=False)
    glm.fit(X, capped / scale)
    season = np.exp(glm.coef_[:12] * FREE_WEIGHT)
    seen = np.isin(np.arange(1, 13), cal)
    season = np.where(seen, season, np.exp(np.mean(np.log(season[seen]))) if seen.any() else 1.0)
    season = season / season.mean()
    recent = total[-LEVEL_MONTHS:]
    level = float(np.mean(recent / season[cal[-len(recent) :] - 1]))
    return TotalModel(season, level, cap)


# ---------------------------------------------------------------------------- open pipeline
PIPELINE_LOOKBACK = 12  # past origins the pipeline's conversion is learnt from
MIN_CELL_DEALS = 10


def _open_deals(frames: Frames, t: float) -> pd.DataFrame:
    """Deals open on day t (opened in the year before it), with stage, stage age and amount bucket."""
    d = frames.deals
    won, lost, created = d["won_day"].to_numpy(), d["lost_day"].to_numpy(), d["day"].to_numpy()
    is_open = (created < t) & (created >= t - 365) & ~(won < t) & ~(lost < t)
    d = d.loc[is_open]
    neg = d["negotiation_day"].to_numpy() < t
    prop = d["proposal_day"].to_numpy() < t
    stage = np.where(neg, 2, np.where(prop, 1, 0))
    entry = np.select([stage == 2, stage == 1], [d["negotiation_day"].to_numpy(), d["proposal_day"].to_numpy()],
                      d["day"].to_numpy())  # fmt: skip
    age = np.clip(np.searchsorted(AGE_BUCKETS, t - entry, side="right") - 1, 0, len(AGE_BUCKETS) - 2)
    return d.assign(stage=stage, age_bucket=age, amount_rub=d["amount_rub"].fillna(0.0))


@dataclass
class PipelineModel:
    """Share of an open deal's amount won in each month after an origin, by (stage, age, size) cell,
    learnt from the deals open at past origins and what became of them."""

    amount_edges: np.ndarray
    rates: dict[tuple, np.ndarray]  # (stage, age, size) / (stage, age) / (stage,) -> per month offset

    def rate(self, stage: int, age: int, size: int, horizon: int) -> np.ndarray:
        for key in ((stage, age, size), (stage, age), (stage,), ()):
            if key in self.rates:
                return self.rates[key][:horizon]
        return np.zeros(horizon)


def fit_pipeline_model(frames: Frames, origin: date, horizon: int) -> PipelineModel:
    """Learn from the past origins whose `horizon` months are over by `origin` (frames cut at origin)."""
    past = [add_months(origin, -k) for k in range(horizon, horizon + PIPELINE_LOOKBACK)]
    t_origin = float(day_number(origin))
    amounts = frames.deals["amount_rub"].dropna().to_numpy()
    edges = np.quantile(amounts, [1 / 3, 2 / 3]) if len(amounts) else np.array([0.0, 0.0])
    won_parts, amount_parts, keys = [], [], []
    for o in past:
        t = float(day_number(o))
        d = _open_deals(frames, t)
        if d.empty:
            continue
        won = d["won_day"].to_numpy()
        months = np.full((len(d), horizon), 0.0)
        for k in range(horizon):
            lo, hi = day_number(add_months(o, k)), day_number(add_months(o, k + 1))
            months[:, k] = np.where(
                (won >= lo) & (won < hi) & (won < t_origin), d["amount_rub"].to_numpy(), 0.0
            )
        won_parts.append(months)
        amount_parts.append(d["amount_rub"].to_numpy())
        keys.append(np.column_stack([d["stage"], d["age_bucket"], np.searchsorted(edges, d["amount_rub"])]))
    rates: dict[tuple, np.ndarray] = {}
    if won_parts:
        won_all, amt_all, key_all = np.vstack(won_parts), np.concatenate(amount_parts), np.vstack(keys)
        key_df = pd.DataFrame(key_all, columns=["stage", "age", "size"])
        for depth in (3, 2, 1, 0):
            groups = (
                key_df.groupby(list(key_df.columns[:depth])).indices
                if depth
                else {(): np.arange(len(amt_all))}
            )
            for cell, idx in groups.items():
                cell = cell if isinstance(cell, tuple) else (cell,)
                if len(idx) >= MIN_CELL_DEALS and amt_all[idx].sum() > 0:
                    rates[tuple(int(v) for v in cell)] = won_all[idx].sum(axis=0) / amt_all[idx].sum()
    return PipelineModel(edges, rates)


def open_pipeline(
    frames: Frames, origin: date, horizon: int, series: list[str], model: PipelineModel
) -> np.ndarray:
    """Expected won amount of the deals open at the origin, horizon x series (roubles)."""
    d = _open_deals(frames, float(day_number(origin)))
    out = np.zeros((horizon, len(series)))
    if d.empty or not series:
        return out
    size = np.searchsorted(model.amount_edges, d["amount_rub"].to_numpy())
    rate = np.vstack(
        [
            model.rate(int(s), int(a), int(z), horizon)
            for s, a, z in zip(d["stage"], d["age_bucket"], size, strict=True)
        ]
    )
    expected = rate * d["amount_rub"].to_numpy()[:, None]
    col = pd.Index(series, dtype=object).get_indexer(d["series"])
    ok = col >= 0
    for k in range(horizon):
        np.add.at(out[k], col[ok], expected[ok, k])
    return out


def realised_from_open(frames: Frames, origin: date, horizon: int) -> np.ndarray:
    """Won amount, per month offset, of the deals that were open at the origin."""
    d = _open_deals(frames, float(day_number(origin)))
    won = d["won_day"].to_numpy()
    out = np.zeros(horizon)
    for k in range(horizon):
        lo, hi = day_number(add_months(origin, k)), day_number(add_months(origin, k + 1))
        out[k] = d.loc[(won >= lo) & (won < hi), "amount_rub"].sum()
    return out


# ---------------------------------------------------------------------------- forecast at one origin
@dataclass
class OriginForecast:
    origin: date
    series: list[str]
    baseline: (
        np.ndarray
    )  # horizon x series, history-based, reconciled to the total's (before the pipeline share)
    pipeline: np.ndarray  # horizon x series (0 beyond PIPELINE_MONTHS)
    forecast: np.ndarray  # horizon x series; its rows sum to the total's forecast
    glm: Pipeline | None = None
    share_open: np.ndarray = field(default_factory=lambda: np.zeros(0))
    total: TotalModel | None = None
    parts_baseline: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # before reconciliation
    bottom_up: np.ndarray = field(default_factory=lambda: np.zeros(0))  # sum of the parts' own forecasts
    candidates: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # horizon x CANDIDATES totals
    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # horizon x CANDIDATES


def forecast_at(frames: Frames, origin: date, horizon: int) -> OriginForecast:
    """The model's forecast made at `origin` from `frames` (which must hold nothing after it).

    The history-based forecasts of the parts are scaled, month by month, so that they sum to the
    total's own history-based forecast (top-down reconciliation: the total is fitted on the whole
    business, where the seasonal profile and the level are far less noisy than on each series); the
    open pipeline is then added to both, so the parts sum to the total."""
    history = monthly_history(frames, origin)
    glm, series = fit_baseline(history, origin)
    base = predict_baseline(glm, series, origin, horizon)
    total = fit_total(frames, history)
    total_base = total.predict(origin, horizon)
    sums = base.sum(axis=1)
    ratio = np.where(sums > 0, total_base / np.maximum(sums, 1.0), 1.0)
    reconciled = base * ratio[:, None]
    pipe = np.zeros_like(base)
    share = np.zeros(horizon)
    near = min(PIPELINE_MONTHS, horizon)
    if near and len(frames.deals):
        model = fit_pipeline_model(frames, origin, near)
        if model.rates:
            pipe[:near] = open_pipeline(frames, origin, near, series, model)
            share[:near] = pipeline_share(frames, origin, near)
    fc = reconciled * (1.0 - share[:, None]) + pipe
    bottom_up = (base * (1.0 - share[:, None]) + pipe).sum(axis=1)
    return OriginForecast(origin, series, reconciled, pipe, fc, glm, share, total, base, bottom_up)


# ---------------------------------------------------------------------------- combination with seasonal naive
CANDIDATES = ("top_down", "bottom_up", "seasonal_naive")
COMBINATION_COLUMNS = ["origin", "horizon", "target", *CANDIDATES, "actual"]


def combination_weights(errors: pd.DataFrame, origin: date, horizon: int) -> np.ndarray:
    """Weights of the candidate totals (CANDIDATES: the total's own fit reconciled with the pipeline, the
    sum of the parts' own forecasts, seasonal naive), horizon x 3, from their errors at earlier origins
    whose target month is over by `origin`: inverse mean squared error (Bates and Granger 1969). The
    total's own fit alone while there are fewer than MIN_COMBINATION_ERRORS such errors."""
    w = np.zeros((horizon, len(CANDIDATES)))
    w[:, 0] = 1.0
    if errors.empty:
        return w
    known = errors[errors["target"] < origin].dropna()
    for k in range(horizon):
        e = known[known["horizon"] == k + 1]
        if len(e) < MIN_COMBINATION_ERRORS:
            continue
        mse = np.array([np.mean((e[c] - e["actual"]) ** 2) for c in CANDIDATES])
        if np.all(mse > 0):
            w[k] = (1 / mse) / np.sum(1 / mse)
    return w


def combine(fc: OriginForecast, snaive_total: np.ndarray | None, weights: np.ndarray) -> OriginForecast:
    """The total as the weighted mean of the candidates; every part (and its baseline and pipeline)
    scaled by the same factor, so the parts still sum to the total. Without seasonal naive (less than
    a year of history) its weight goes to the total's own fit."""
    top_down = fc.forecast.sum(axis=1)
    snaive = top_down if snaive_total is None else np.asarray(snaive_total, dtype=float)
    candidates = np.column_stack([top_down, fc.bottom_up if len(fc.bottom_up) else top_down, snaive])
    weights = weights.copy()
    if snaive_total is None:
        weights[:, 0] += weights[:, 2]
        weights[:, 2] = 0.0
    target = (weights * candidates).sum(axis=1)
    factor = np.where(top_down > 0, target / np.maximum(top_down, 1.0), 1.0)[:, None]
    return replace(
        fc,
        baseline=fc.baseline * factor,
        pipeline=fc.pipeline * factor,
        forecast=fc.forecast * factor,
        candidates=candidates,
        weights=weights,
    )


def seasonal_naive_total(history: History, horizon: int) -> np.ndarray | None:
    """The total of the same month a year before each of the next `horizon` months (None if unknown)."""
    if len(history.months) < 12:
        return None
    t = history.total
    return np.array([t[len(t) - 12 + k] for k in range(horizon)]) if horizon <= 12 else None


def pipeline_share(frames: Frames, origin: date, horizon: int) -> np.ndarray:
    """Share of revenue, per month offset, won from deals already open at an origin, over the past
    origins whose months are over by `origin`."""
    past = [add_months(origin, -k) for k in range(horizon, horizon + PIPELINE_LOOKBACK)]
    won = np.zeros(horizon)
    revenue = np.zeros(horizon)
    inv_days = frames.invoices["day"].to_numpy()
    amounts = frames.invoices["amount_rub"].to_numpy()
    for o in past:
        won += realised_from_open(frames, o, horizon)
        for k in range(horizon):
            lo, hi = day_number(add_months(o, k)), day_number(add_months(o, k + 1))
            revenue[k] += amounts[(inv_days >= lo) & (inv_days < hi)].sum()
    return np.where(revenue > 0, np.minimum(won / np.maximum(revenue, 1.0), 0.9), 0.0)


# ---------------------------------------------------------------------------- backtest
@dataclass
class Backtest:
    accuracy: pd.DataFrame
    residuals: pd.DataFrame  # origin, horizon, level, series, forecast, actual (model only)
    combination: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COMBINATION_COLUMNS))


def origins_for(frames: Frames, as_of: date) -> list[date]:
    start = frames.finance_start
    if start is None:
        return []
    first = add_months(month_start(start), MIN_HISTORY_MONTHS)
    last = add_months(month_start(as_of), -1)  # the origin must have at least one complete month after it
    out, o = [], first
    while o <= last:
        out.append(o)
        o = add_months(o, 1)
    return out


def backtest(ctx: RunContext) -> Backtest:
    frames = ctx.frames
    H = ctx.forecast_horizon_months
    last_complete = month_start(ctx.as_of)
    full = monthly_history(frames, last_complete)
    index = {m: i for i, m in enumerate(full.months)}
    res_rows = []
    comb_rows: list[tuple] = []
    agg: dict[tuple, list[float]] = {}
    for origin in origins_for(frames, ctx.as_of):
        cut = frames.before(origin)
        hmax = min(H, (last_complete.year - origin.year) * 12 + last_complete.month - origin.month)
        if hmax <= 0 or origin not in index:
            continue
        o = index[origin]
        fc = forecast_at(cut, origin, hmax)
        snaive_total = full.total[o - 12 : o - 12 + hmax] if o >= 12 else None
        errors = pd.DataFrame(comb_rows, columns=COMBINATION_COLUMNS)
        fc = combine(fc, snaive_total, combination_weights(errors, origin, hmax))
        actual = full.values[o : o + hmax]
        if snaive_total is not None:
            for k in range(hmax):
                comb_rows.append((origin, k + 1, add_months(origin, k), *fc.candidates[k], actual[k].sum()))
        # the model forecasts the series active in the last two years; the others get 0 from it
        col = {s: i for i, s in enumerate(full.series)}
        model = np.zeros_like(actual)
        for j, s in enumerate(fc.series):
            if s in col:
                model[:, col[s]] = fc.forecast[:, j]
        methods = {METHOD_MODEL: model, METHOD_MEAN3: np.tile(full.values[o - 3 : o].mean(axis=0), (hmax, 1))}
        if o >= 12:
            methods[METHOD_SNAIVE] = full.values[o - 12 : o - 12 + hmax]
        for method, f in methods.items():
            for k in range(hmax):
                for level, err, act, sig in (
                    (LEVEL_PARTS, np.abs(f[k] - actual[k]).sum(), actual[k].sum(), (f[k] - actual[k]).sum()),
                    (
                        LEVEL_TOTAL,
                        abs(f[k].sum() - actual[k].sum()),
                        actual[k].sum(),
                        f[k].sum() - actual[k].sum(),
                    ),
                ):
                    acc = agg.setdefault((level, k + 1, method), [0.0, 0.0, 0.0, 0, origin, origin])
                    acc[0] += err
                    acc[1] += act
                    acc[2] += sig
                    acc[3] += 1
                    acc[5] = origin
        for k in range(hmax):
            res_rows.append((origin, k + 1, LEVEL_TOTAL, "total", model[k].sum(), actual[k].sum()))
            for j, s in enumerate(full.series):
                if model[k, j] > 0 or actual[k, j] > 0:
                    res_rows.append((origin, k + 1, LEVEL_PARTS, s, model[k, j], actual[k, j]))
    residuals = pd.DataFrame(res_rows, columns=["origin", "horizon", "level", "series", "forecast", "actual"])
    combination = pd.DataFrame(comb_rows, columns=COMBINATION_COLUMNS)
    coverage = _coverage(residuals)
    rows = []
    for (level, h, method), (err, act, sig, n, first, last) in sorted(agg.items()):
        cov = coverage.get((level, h), (np.nan, np.nan)) if method == METHOD_MODEL else (np.nan, np.nan)
        rows.append(
            {
                "level": level,
                "horizon_months": h,
                "method": method,
                "is_baseline": method != METHOD_MODEL,
                "origins": n,
                "first_origin_month": first,
                "last_origin_month": last,
                "actual_rub": act,
                "wape": err / act if act else np.nan,
                "bias": sig / act if act else np.nan,
                "coverage_80": cov[0],
                "coverage_95": cov[1],
            }
        )
    return Backtest(pd.DataFrame(rows), residuals, combination)


# ---------------------------------------------------------------------------- intervals
Z_LEVELS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}
MIN_RESIDUALS = 30


def _spread(level: str, forecast: np.ndarray) -> np.ndarray:
    """The unit errors are measured in: sqrt(forecast) for the parts (quasi-Poisson: small series are
    noisier relative to their size), the forecast itself for the total (its errors are mostly the
    model's, proportional to the level)."""
    f = np.maximum(np.asarray(forecast, dtype=float), 1.0)
    return f if level == LEVEL_TOTAL else np.sqrt(f)


def _standardised(res: pd.DataFrame) -> np.ndarray:
    f = np.maximum(res["forecast"].to_numpy(), 1.0)
    return (res["actual"].to_numpy() - f) / _spread(str(res["level"].iloc[0]), f) if len(res) else np.zeros(0)


def interval_quantiles(residuals: pd.DataFrame, level: str, horizon: int) -> dict[str, tuple[float, float]]:
    """Quantiles of standardised errors. Parts: empirical, per horizon when there are enough, else pooled
    over nearby horizons. Total: its relative errors are few (one per origin and horizon), and empirical
    10%/90% quantiles of a dozen errors are too narrow, so the interval is +- Student t quantile (n - 1
    degrees of freedom) x the root mean square of the relative errors pooled over all horizons."""
    res = residuals[residuals["level"] == level]
    if level == LEVEL_TOTAL:
        z = _standardised(res)
        if len(z) < 2:
            return {k: (np.nan, np.nan) for k in Z_LEVELS}
        rms = float(np.sqrt(np.mean(z**2)))
        return {
            k: (float(stats.t.ppf(lo, len(z) - 1)) * rms, float(stats.t.ppf(hi, len(z) - 1)) * rms)
            for k, (lo, hi) in Z_LEVELS.items()
        }
    own = res[res["horizon"] == horizon]
    use = own if len(own) >= MIN_RESIDUALS else res[res["horizon"] <= max(horizon, 1) + 2]
    if len(use) < 5:
        use = res
    z = _standardised(use)
    if len(z) == 0:
        return {k: (np.nan, np.nan) for k in Z_LEVELS}
    return {k: (float(np.quantile(z, lo)), float(np.quantile(z, hi))) for k, (lo, hi) in Z_LEVELS.items()}


def _coverage(residuals: pd.DataFrame) -> dict[tuple[str, int], tuple[float, float]]:
    """Share of actuals inside the intervals built, at each origin, from earlier origins' errors only."""
    out: dict[tuple[str, int], list[list[int]]] = {}
    if residuals.empty:
        return {}
    target_end = np.array(
        [add_months(o, int(h)) for o, h in zip(residuals["origin"], residuals["horizon"], strict=True)]
    )
    for origin in sorted(residuals["origin"].unique()):
        known = residuals[target_end <= origin]
        if len(known[known["level"] == LEVEL_TOTAL]) < 6:
            continue
        now = residuals[residuals["origin"] == origin]
        for (level, h), grp in now.groupby(["level", "horizon"]):
            q = interval_quantiles(known, level, int(h))
            f = np.maximum(grp["forecast"].to_numpy(), 1.0)
            a = grp["actual"].to_numpy()
            spread = _spread(level, f)
            slot = out.setdefault((level, int(h)), [[0, 0], [0, 0]])
            for i, name in enumerate(("80", "95")):
                lo, hi = q[name]
                inside = (a >= f + lo * spread) & (a <= f + hi * spread)
                slot[i][0] += int(inside.sum())
                slot[i][1] += len(a)
    return {k: tuple(v[0] / v[1] if v[1] else np.nan for v in s) for k, s in out.items()}


# ---------------------------------------------------------------------------- the forecast as of the run
def forecast(ctx: RunContext, bt: Backtest, run_id: str, fc: OriginForecast) -> pd.DataFrame:
    """Rows of ml.sales_forecast: parts and total for each of the next months, with intervals."""
    rows = []
    H = fc.forecast.shape[0]
    for k in range(H):
        month = add_months(fc.origin, k)
        q_parts = interval_quantiles(bt.residuals, LEVEL_PARTS, k + 1)
        q_tot = interval_quantiles(bt.residuals, LEVEL_TOTAL, k + 1)
        for j, s in enumerate(fc.series):
            pl, office = s.split("|", 1)
            rows.append(_row(ctx, month, k + 1, LEVEL_PARTS, pl, office, fc.forecast[k, j],
                             fc.baseline[k, j] * (1 - fc.share_open[k]), fc.pipeline[k, j], q_parts, run_id))  # fmt: skip
        rows.append(
            _row(
                ctx,
                month,
                k + 1,
                LEVEL_TOTAL,
                None,
                None,
                fc.forecast[k].sum(),
                (fc.baseline[k] * (1 - fc.share_open[k])).sum(),
                fc.pipeline[k].sum(),
                q_tot,
                run_id,
            )  # fmt: skip
        )
    return pd.DataFrame(rows)


def _row(ctx, month, h, level, pl, office, f, base, pipe, q, run_id) -> dict:
    sq = float(_spread(level, np.array([f]))[0])
    return {
        "as_of_date": ctx.as_of,
        "forecast_month": month,
        "horizon_months": h,
        "level": level,
        "product_line": None if pl in (None, NO_VALUE) else pl,
        "office_code": None if office in (None, NO_VALUE) else office,
        "forecast_rub": f,
        "baseline_rub": base,
        "pipeline_rub": pipe,
        "lower_80_rub": max(f + q["80"][0] * sq, 0.0),
        "upper_80_rub": max(f + q["80"][1] * sq, 0.0),
        "lower_95_rub": max(f + q["95"][0] * sq, 0.0),
        "upper_95_rub": max(f + q["95"][1] * sq, 0.0),
        "model_run_id": run_id,
    }


def train(ctx: RunContext, bt: Backtest) -> tuple[dict, OriginForecast]:
    """Fit the forecaster at the run's origin and register it (or reuse the registered fit)."""
    origin = month_start(ctx.as_of)
    H = ctx.forecast_horizon_months
    history = monthly_history(ctx.frames, origin)
    fc = forecast_at(ctx.frames, origin, H)
    fc = combine(fc, seasonal_naive_total(history, H), combination_weights(bt.combination, origin, H))
    summary = summarise(bt.accuracy)
    run = registry.TrainingRun(
        model_name=MODEL_NAME,
        as_of=ctx.as_of,
        estimator={"glm": fc.glm, "series": fc.series, "origin": origin, "pipeline_share": fc.share_open},
        train_window=(
            history.months[-FIT_WINDOW_MONTHS:][0] if history.months else None,
            history.months[-1] if history.months else None,
        ),  # fmt: skip
        train_rows=int(len(fc.series) * min(len(history.months), FIT_WINDOW_MONTHS)),
        train_positives=None,
        sources=sorted(ctx.sources),
        features=["series", "years", "month"],
        params={
            "alpha": GLM_ALPHA,
            "fit_window_months": FIT_WINDOW_MONTHS,
            "pipeline_months": PIPELINE_MONTHS,
            "cap_quantile": CAP_QUANTILE,
            "level_months": LEVEL_MONTHS,
            "combination_weights": {
                name: [round(float(w), 4) for w in fc.weights[:, i]] for i, name in enumerate(CANDIDATES)
            },
        },
        horizon_months=H,
        metrics=summary,
    )
    run.fingerprint = registry.fingerprint(history.values, history.series, run.params, H, fc.pipeline)
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        return found, fc
    run.card = model_card(run, bt)
    return registry.register(ctx.con, ctx.settings, run), fc


def summarise(accuracy: pd.DataFrame) -> dict:
    if accuracy.empty:
        return {}
    out: dict = {}
    for (level, method), grp in accuracy.groupby(["level", "method"]):
        out.setdefault(level, {})[method] = {
            int(h): round(float(w), 4) for h, w in zip(grp["horizon_months"], grp["wape"], strict=True)
        }
    return out


def model_card(run: registry.TrainingRun, bt: Backtest) -> str:
    acc = bt.accuracy
    table = ""
    if not acc.empty:
        wide = acc.pivot_table(
            index=["level", "horizon_months"], columns="method", values="wape"
        ).reset_index()
        table = registry.markdown_table(wide)
    return f"""# Sales forecast, version {{version}}

Run `{run.run_id}`, made as of {run.as_of} for the next {run.horizon_months} months.

**What it is.** Monthly invoiced revenue (before VAT, roubles) by product line x office and in total.
Parts: a Poisson GLM in one sklearn Pipeline for the calendar-month effect shared by all series (alpha
{GLM_ALPHA}) x a straight-line trend per series, fitted on the last {FIT_WINDOW_MONTHS} complete
months. Total, fitted on its own: a calendar-month profile from a Poisson GLM on monthly revenue with
every invoice capped at the {CAP_QUANTILE:.0%} quantile of amounts (up to {SEASON_WINDOW_MONTHS}
months) x the mean deseasonalised revenue of the last {LEVEL_MONTHS} months; the parts are scaled to
sum to it. For the first {PIPELINE_MONTHS} months the deals open on the as-of date x their stage's win
rate x when such deals close replace the share of revenue that historically came from deals already
open. The total is then the weighted mean of that, the sum of the parts' own forecasts and seasonal naive,
by inverse-MSE weights from the backtest's errors (weights by horizon: {run.params.get("combination_weights")}),
the parts scaled with it. Intervals: quantiles of (actual - forecast) / sqrt(forecast) for the parts; Student t x
root mean square of the relative errors for the total; both from the rolling-origin backtest.

**Trained on.** {run.train_window[0]} to {run.train_window[1]}, {run.train_rows:,} series-months.

**How it scored.** Rolling-origin WAPE by horizon (lower is better), next to seasonal naive and the
mean of the last three months on the same origins:

{table}

**Limits.** A new product line or office has no history and no forecast until it has revenue.
"""


def load_forecaster(run: dict) -> dict:
    return registry.load_model(run)


def month_range(origin: date, n: int) -> list[date]:
    return [add_months(origin, k) for k in range(n)]


def last_data_month(frames: Frames) -> date | None:
    if frames.invoices.empty:
        return None
    return month_start(from_day_number(frames.invoices["day"].max()))
