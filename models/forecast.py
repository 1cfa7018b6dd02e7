"""Sales forecast: monthly revenue (invoiced, before VAT, in roubles) for the next months by product
line x office and in total, with 80% and 95% intervals, measured by a rolling-origin backtest.

How much history it has decides what it is made of (`regime_for`): seasonality only from two full
years (SEASONAL_HISTORY_MONTHS complete months of revenue before the origin) of a business
(MIN_SEASONAL_CLIENTS clients invoiced in the last year); with less, a calendar month seen once is as
likely a one-off (a launch, an acquisition burst) as a season, and a few clients' calendar is their
buying dates.

Two full years or more (`seasonal_forecast_at`), the seasonal model, fitted at each origin on the
complete months before it:
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
- candidates of the total: that top-down total, the sum of the parts' own forecasts (bottom-up, with
  their trends) and seasonal naive.

Less than two years, candidates that need no seasonality: the recent level (mean of the last
RECENT_MONTHS months), a damped straight-line trend, the open pipeline (the level, with the part of it
that came from deals already open replaced by the deals open at the origin x their conversion) and the
customer base (BG/NBD expected purchases of the current clients x their spend per purchase day, plus
new clients at the recent rate). The parts are the total split by each series' recent share.

Combination, per horizon, from the candidates' errors at the earlier origins whose target month is
over, once there are MIN_COMBINATION_ERRORS of them (before that the documented default,
DEFAULT_CANDIDATE: the top-down total with two years, the recent level without): with two years, the
weighted mean of the candidates by inverse mean squared error (Bates-Granger weights); with less, the
one candidate with the lowest error if it beats the recent level's by SHORT_SWITCH_MARGIN, else the
recent level (a few noisy errors rank candidates badly; the recent level is the baseline the forecast
must not lose to). The parts are scaled with the total, so they still sum to it. Last, at a horizon where
the combined total erred more over the backtest's origins (WAPE) than a baseline (the mean of the last
three months, or seasonal naive), the run's total there is the baseline that erred least, the parts
scaled to it (`fallback_horizons`): a forecast no worse than its baselines on the backtests that exist. The
backtest's model rows there are that baseline's errors (chosen on those same origins, so slightly
optimistic), and the run's params name the horizons (`baseline_horizons`).

Intervals: parts are quasi-Poisson, forecast +- empirical quantiles of (actual - forecast) /
sqrt(forecast) from the backtest's earlier origins; the total is forecast x (1 +- Student t quantile x
root mean square of its relative errors at earlier origins, pooled over horizons).

The backtest (ml.forecast_accuracy): of the last MAX_BACKTEST_ORIGINS origins with at least
MIN_ORIGIN_HISTORY_MONTHS of history, those in the regime of the as-of date (the others only give the
candidates' errors for the combination), WAPE, bias and interval coverage per horizon and level, next to
seasonal naive (the same month a year before, for origins with a year behind them and horizons up to
twelve months) and the mean of the last three months, computed on the same origins. The forecast made
at each origin, its regime, its combination weights and its intervals use only what was known then.
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

from models import bgnbd, registry
from models.context import RunContext
from models.data import NO_VALUE, Frames, add_months, day_number, from_day_number, month_start
from models.status import CannotScore

log = logging.getLogger(__name__)

MODEL_NAME = "sales_forecast"
# regimes: seasonal candidates count from two full years of history, the short-history ones before
SEASONAL_HISTORY_MONTHS = 24
MIN_SEASONAL_CLIENTS = 5  # ... and a business, not a few clients' buying dates
TRACK_SEASONAL_MONTHS = 12  # seasonal candidates are made (their errors kept) from a year of history
REGIME_SEASONAL, REGIME_SHORT = "seasonal", "short_history"
RECENT_MONTHS = 3  # the recent level: mean of the last three complete months
TREND_WINDOW_MONTHS = 12
MIN_TREND_MONTHS = 4
SHORT_TREND_DAMPING = 0.8  # per month beyond the last one: a short history's trend fades fast
SHARE_MONTHS = 6  # short-history parts: each series' share of the last six months
# backtest origins: every month with at least MIN_ORIGIN_HISTORY_MONTHS of history before it and a
# complete month after it, the last MAX_BACKTEST_ORIGINS of them
MIN_ORIGIN_HISTORY_MONTHS = RECENT_MONTHS
MAX_BACKTEST_ORIGINS = 18
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
# a short history's candidate replaces the recent level only when its mean squared error on the
# earlier origins is at least this much lower
SHORT_SWITCH_MARGIN = 0.2
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


# ---------------------------------------------------------------------------- candidates that need no seasonality
def recent_level(history: History, months: int = RECENT_MONTHS) -> float:
    """Mean monthly revenue of the last `months` complete months (fewer when the history is shorter)."""
    total = history.total[-months:]
    return float(total.mean()) if len(total) else 0.0


def trend_candidate(history: History, horizon: int) -> np.ndarray | None:
    """A straight line through the last TREND_WINDOW_MONTHS totals (recent months weighted, half-life
    HALF_LIFE_MONTHS), damped by SHORT_TREND_DAMPING a month beyond the last one, never below 0; None
    with fewer than MIN_TREND_MONTHS months."""
    y = history.total[-TREND_WINDOW_MONTHS:]
    if len(y) < MIN_TREND_MONTHS:
        return None
    x = np.arange(len(y), dtype=float) - (len(y) - 1)  # 0 at the last complete month
    w = 0.5 ** (-x / HALF_LIFE_MONTHS)
    slope, level = np.polyfit(x, y, 1, w=np.sqrt(w))
    phi = SHORT_TREND_DAMPING
    steps = np.arange(1, horizon + 1, dtype=float)
    damped = phi * (1.0 - phi**steps) / (1.0 - phi)
    return np.maximum(level + slope * damped, 0.0)


def new_client_revenue(frames: Frames, history: History, months: int = RECENT_MONTHS) -> float:
    """Mean monthly revenue, over the last `months` complete months, from clients buying for the first
    time that month: what new clients bring at the recent rate."""
    inv = frames.invoices
    if inv.empty or not history.months:
        return 0.0
    month = pd.to_datetime(inv["day"].to_numpy(), unit="D").to_period("M")
    first = pd.Series(month).groupby(inv["client"].to_numpy()).transform("min").to_numpy()
    recent = [pd.Period(m, "M") for m in history.months[-months:]]
    amounts = inv["amount_rub"].to_numpy()
    return float(np.mean([amounts[(month == m) & (first == m)].sum() for m in recent]))


def customer_base_candidate(
    frames: Frames, history: History, origin: date, horizon: int
) -> np.ndarray | None:
    """Expected purchase days of the clients invoiced before the origin in each coming month (BG/NBD,
    fitted at the origin) x each client's spend per purchase day (shrunk towards everyone's), plus new
    clients at the recent rate; None with too few customers or no repeat purchase to fit BG/NBD on."""
    summary = bgnbd.rfm_summary(frames, origin).dropna()
    if len(summary) < bgnbd.MIN_CUSTOMERS or not (summary["x"] > 0).any():
        return None
    params = bgnbd.fit(summary)
    x, t_x, T = (summary[c].to_numpy() for c in ("x", "t_x", "T"))
    ends = [(add_months(origin, k + 1) - origin).days / bgnbd.DAYS_PER_PERIOD for k in range(horizon)]
    cumulative = np.column_stack([bgnbd.expected_purchases(params, x, t_x, T, tau) for tau in ends])
    monthly = np.diff(np.column_stack([np.zeros(len(x)), cumulative]), axis=1)
    spend = bgnbd.spend_per_purchase_day(frames, summary.index).to_numpy()
    return (monthly * spend[:, None]).sum(axis=0) + new_client_revenue(frames, history)


def series_shares(history: History, months: int = SHARE_MONTHS) -> tuple[list[str], np.ndarray]:
    """The series with revenue in the last `months` complete months and their shares of it."""
    recent = history.values[-months:].sum(axis=0) if len(history.months) else np.zeros(0)
    keep = recent > 0
    series = [s for s, k in zip(history.series, keep, strict=True) if k]
    return series, recent[keep] / recent[keep].sum() if keep.any() else np.zeros(0)


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
    history_months: int = 0  # complete months of revenue before the origin
    regime: str = REGIME_SEASONAL  # whose candidates the total is made of (see `regime_for`)
    fallback: dict[int, str] = field(default_factory=dict)  # step (0-based) -> the baseline there


def regime_for(history_months: int, clients: int = MIN_SEASONAL_CLIENTS) -> str:
    """Seasonality only from two full years of a business: with fewer months, a calendar month seen
    once is as likely a one-off (a launch, an acquisition burst) as a season; with fewer than
    MIN_SEASONAL_CLIENTS clients invoiced in the last year, the calendar is those few clients' buying
    dates, not a season."""
    if history_months >= SEASONAL_HISTORY_MONTHS and clients >= MIN_SEASONAL_CLIENTS:
        return REGIME_SEASONAL
    return REGIME_SHORT


def recent_clients(frames: Frames, origin: date) -> int:
    """Clients invoiced in the twelve months before `origin`."""
    inv = frames.invoices
    day = inv["day"].to_numpy()
    recent = (day < day_number(origin)) & (day >= day_number(add_months(origin, -12)))
    return int(pd.unique(inv["client"].to_numpy()[recent]).size)


def seasonal_forecast_at(frames: Frames, origin: date, horizon: int) -> OriginForecast:
    """The seasonal model's forecast made at `origin` from `frames` (which must hold nothing after it).

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


def _short_parts(history: History, frames: Frames, origin: date, level: float, horizon: int):
    """Parts of the short-history forecast: the recent level split by each series' recent share, and
    the open pipeline by series with its share of revenue (for the pipeline candidate)."""
    series, shares = series_shares(history)
    parts = np.tile(shares * level, (horizon, 1)) if len(series) else np.zeros((horizon, 0))
    pipe = np.zeros_like(parts)
    share = np.zeros(horizon)
    near = min(PIPELINE_MONTHS, horizon)
    if near and len(frames.deals) and series:
        model = fit_pipeline_model(frames, origin, near)
        if model.rates:
            pipe[:near] = open_pipeline(frames, origin, near, series, model)
            share[:near] = pipeline_share(frames, origin, near)
    return series, parts, pipe, share


def forecast_at(frames: Frames, origin: date, horizon: int) -> OriginForecast:
    """Every candidate total at `origin` (NaN where one cannot be made) and the parts of the regime the
    history puts the origin in; `combine` then weighs the candidates. The short-history candidates are
    made from RECENT_MONTHS of history on; the seasonal ones from TRACK_SEASONAL_MONTHS (so their errors
    are known by the time two full years make them count)."""
    history = monthly_history(frames, origin)
    n = len(history.months)
    candidates = np.full((horizon, len(CANDIDATES)), np.nan)
    level = recent_level(history)
    series, parts, pipe, share = _short_parts(history, frames, origin, level, horizon)
    candidates[:, CANDIDATES.index("recent_level")] = level
    trend = trend_candidate(history, horizon)
    if trend is not None:
        candidates[:, CANDIDATES.index("trend")] = trend
    if pipe.any():
        candidates[:, CANDIDATES.index("pipeline")] = level * (1.0 - share) + pipe.sum(axis=1)
    base = customer_base_candidate(frames, history, origin, horizon)
    if base is not None:
        candidates[:, CANDIDATES.index("customer_base")] = base
    regime = regime_for(n, recent_clients(frames, origin))
    seasonal = None
    if n >= TRACK_SEASONAL_MONTHS:
        seasonal = seasonal_forecast_at(frames, origin, horizon)
        candidates[:, CANDIDATES.index("top_down")] = seasonal.forecast.sum(axis=1)
        candidates[:, CANDIDATES.index("bottom_up")] = seasonal.bottom_up
        snaive = seasonal_naive_total(history, horizon)
        candidates[:, CANDIDATES.index("seasonal_naive")] = snaive
    if regime == REGIME_SEASONAL:
        fc = seasonal
    else:
        fc = OriginForecast(origin, series, parts, np.zeros_like(parts), parts.copy())
        fc.pipeline = pipe  # shown with the parts; the total takes it in through the pipeline candidate
    return replace(fc, candidates=candidates, history_months=n, regime=regime)


# ---------------------------------------------------------------------------- combination of candidates
SHORT_CANDIDATES = ("recent_level", "trend", "pipeline", "customer_base")
SEASONAL_CANDIDATES = ("top_down", "bottom_up", "seasonal_naive")
CANDIDATES = SHORT_CANDIDATES + SEASONAL_CANDIDATES
REGIME_CANDIDATES = {REGIME_SHORT: SHORT_CANDIDATES, REGIME_SEASONAL: SEASONAL_CANDIDATES}
# what the total is while the backtest has too few errors to weigh the candidates by
DEFAULT_CANDIDATE = {REGIME_SHORT: "recent_level", REGIME_SEASONAL: "top_down"}
COMBINATION_COLUMNS = ["origin", "horizon", "target", *CANDIDATES, "actual"]


def combination_weights(errors: pd.DataFrame, origin: date, fc: OriginForecast) -> np.ndarray:
    """Weights of the candidate totals (CANDIDATES), horizon x candidates, from the mean squared errors
    of the regime's candidates that `fc` could make, on the earlier origins whose target month is over
    by `origin` and where all of them were made, once there are MIN_COMBINATION_ERRORS such errors for
    the horizon; before that, DEFAULT_CANDIDATE alone.

    Two full years: inverse-MSE weights (Bates and Granger 1969). A short history: its few errors
    cannot rank noisy candidates reliably, so one is chosen, the one with the lowest error, and only
    when it beats the recent level's by SHORT_SWITCH_MARGIN; otherwise the recent level stays."""
    horizon = fc.candidates.shape[0]
    w = np.zeros((horizon, len(CANDIDATES)))
    default = CANDIDATES.index(DEFAULT_CANDIDATE[fc.regime])
    w[:, default] = 1.0
    known = errors[errors["target"] < origin] if not errors.empty else errors
    for k in range(horizon):
        usable = [
            c for c in REGIME_CANDIDATES[fc.regime] if np.isfinite(fc.candidates[k, CANDIDATES.index(c)])
        ]
        e = known[known["horizon"] == k + 1].dropna(subset=[*usable, "actual"]) if len(known) else known
        if len(e) < MIN_COMBINATION_ERRORS or not usable:
            continue
        mse = np.array([np.mean((e[c].to_numpy(float) - e["actual"].to_numpy(float)) ** 2) for c in usable])
        if fc.regime == REGIME_SHORT:
            best = int(np.argmin(mse))
            level = mse[usable.index(DEFAULT_CANDIDATE[REGIME_SHORT])]
            if mse[best] <= (1.0 - SHORT_SWITCH_MARGIN) * level:
                w[k] = 0.0
                w[k, CANDIDATES.index(usable[best])] = 1.0
        elif np.all(mse > 0):
            w[k] = 0.0
            w[k, [CANDIDATES.index(c) for c in usable]] = (1 / mse) / np.sum(1 / mse)
    return w


def combine(fc: OriginForecast, weights: np.ndarray) -> OriginForecast:
    """The total as the weighted mean of the candidates; every part (and its baseline and pipeline)
    scaled by the same factor, so the parts still sum to the total."""
    candidates = np.nan_to_num(fc.candidates, nan=0.0)
    target = (weights * candidates).sum(axis=1)
    parts_total = fc.forecast.sum(axis=1)
    factor = np.where(parts_total > 0, target / np.maximum(parts_total, 1.0), 1.0)[:, None]
    if fc.regime == REGIME_SHORT:
        # the parts are the total split by recent shares; the pipeline is shown, not added
        forecast = fc.forecast * factor
        return replace(
            fc,
            forecast=forecast,
            pipeline=np.minimum(fc.pipeline, forecast),
            baseline=forecast - np.minimum(fc.pipeline, forecast),
            weights=weights,
        )
    return replace(
        fc,
        baseline=fc.baseline * factor,
        pipeline=fc.pipeline * factor,
        forecast=fc.forecast * factor,
        weights=weights,
    )


def seasonal_naive_total(history: History, horizon: int) -> np.ndarray:
    """The total of the same month a year before each of the next `horizon` months (NaN where that
    month is not in the history, or more than a year ahead)."""
    t = history.total
    out = np.full(horizon, np.nan)
    for k in range(min(horizon, 12)):
        if len(t) >= 12:
            out[k] = t[len(t) - 12 + k]
    return out


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
    fallback: dict[int, str] = field(default_factory=dict)  # horizon -> the baseline forecasting it


def origins_for(frames: Frames, as_of: date) -> list[date]:
    """The last MAX_BACKTEST_ORIGINS month starts with at least MIN_ORIGIN_HISTORY_MONTHS of invoiced
    history before them and at least one complete month after them (before the as-of date's month).
    The backtest reports those in the regime of the as-of date (`backtest`)."""
    start = frames.finance_start
    if start is None:
        return []
    first = add_months(month_start(start), MIN_ORIGIN_HISTORY_MONTHS)
    last = add_months(month_start(as_of), -1)  # the origin must have at least one complete month after it
    out, o = [], first
    while o <= last:
        out.append(o)
        o = add_months(o, 1)
    return out[-MAX_BACKTEST_ORIGINS:]


def backtest(ctx: RunContext) -> Backtest:
    """Rolling-origin backtest (ml.forecast_accuracy): at each origin the forecaster sees only the months
    before it and its combination weights come only from earlier origins whose month is over. The
    accuracy and the residuals the intervals come from are those of the origins in the regime of the
    as-of date (with two full years: origins with two full years behind them), so they measure the
    forecaster the run uses. No rows when the history has no such origin."""
    frames = ctx.frames
    H = ctx.forecast_horizon_months
    last_complete = month_start(ctx.as_of)
    full = monthly_history(frames, last_complete)
    index = {m: i for i, m in enumerate(full.months)}
    res_rows = []
    comb_rows: list[tuple] = []
    agg: dict[tuple, list] = {}
    # the forecaster is judged in the regime it is in on the as-of date; earlier origins only give the
    # candidates' errors the combination weights come from
    regime_now = regime_for(len(full.months), recent_clients(frames, last_complete))
    judged = []  # (origin, index, model, baselines, actual) of the origins in the regime of the run
    for origin in origins_for(frames, ctx.as_of):
        hmax = min(H, (last_complete.year - origin.year) * 12 + last_complete.month - origin.month)
        if hmax <= 0 or origin not in index:
            continue
        o = index[origin]
        fc = forecast_at(frames.before(origin), origin, hmax)
        errors = pd.DataFrame(comb_rows, columns=COMBINATION_COLUMNS)
        fc = combine(fc, combination_weights(errors, origin, fc))
        actual = full.values[o : o + hmax]
        for k in range(hmax):
            comb_rows.append((origin, k + 1, add_months(origin, k), *fc.candidates[k], actual[k].sum()))
        if fc.regime != regime_now:
            continue
        # the model forecasts the series it knows; the others get 0 from it
        col = {s: i for i, s in enumerate(full.series)}
        model = np.zeros_like(actual)
        for j, s in enumerate(fc.series):
            if s in col:
                model[:, col[s]] = fc.forecast[:, j]
        recent = full.values[max(o - RECENT_MONTHS, 0) : o]
        methods = {METHOD_MODEL: model, METHOD_MEAN3: np.tile(recent.mean(axis=0), (hmax, 1))}
        if o >= 12:
            # the same month a year before: known at the origin for the first twelve months only
            methods[METHOD_SNAIVE] = full.values[o - 12 : o - 12 + min(hmax, 12)]
        judged.append((origin, methods, actual))
    fallback = fallback_horizons(judged)
    for origin, methods, actual in judged:
        hmax = len(actual)
        model = methods[METHOD_MODEL]
        for k in range(hmax):
            if k + 1 in fallback:  # the run forecasts this horizon by the baseline
                model[k] = _to_total(model[k], methods[fallback[k + 1]][k])
        for method, f in methods.items():
            for k in range(len(f)):
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
    return Backtest(pd.DataFrame(rows), residuals, combination, fallback)


def fallback_horizons(judged: list[tuple]) -> dict[int, str]:
    """The horizons (months ahead) at which a baseline (the mean of the last RECENT_MONTHS months, or
    seasonal naive where it was made at every origin) erred less in total, in WAPE over the backtest's
    origins, than the combined forecast, each with the baseline that erred least: the run forecasts
    those months by it (`apply_fallback`), a forecast no worse than its baselines on the backtests that
    exist. The backtest's model rows at those horizons are that baseline's errors, since that is what
    the run forecasts there."""
    err: dict[int, dict[str, list]] = {}
    for _origin, methods, actual in judged:
        for k in range(len(actual)):
            for method, f in methods.items():
                if k < len(f):
                    acc = err.setdefault(k + 1, {}).setdefault(method, [0.0, 0])
                    acc[0] += abs(f[k].sum() - actual[k].sum())
                    acc[1] += 1
    out = {}
    for h, by in err.items():
        best, least = METHOD_MODEL, by[METHOD_MODEL][0]
        for method in (METHOD_MEAN3, METHOD_SNAIVE):
            if method in by and by[method][1] == by[METHOD_MODEL][1] and by[method][0] < least - 1e-9:
                best, least = method, by[method][0]
        if best != METHOD_MODEL:
            out[h] = best
    return out


def apply_fallback(fc: OriginForecast, history: History, horizons: dict[int, str]) -> OriginForecast:
    """The forecast with the total of the months `horizons` ahead replaced by their baseline's
    (`fallback_horizons`): the mean of the last RECENT_MONTHS complete months, or the same month a
    year before; the parts (and their baseline and pipeline) scaled to it."""
    steps = {h - 1: m for h, m in horizons.items() if h <= fc.forecast.shape[0]}
    if not steps or not history.months:
        return fc
    col = [history.series.index(s) if s in history.series else None for s in fc.series]

    def by_series(values: np.ndarray) -> np.ndarray:
        return np.array([values[j] if j is not None else 0.0 for j in col])

    forecast, baseline, pipeline = fc.forecast.copy(), fc.baseline.copy(), fc.pipeline.copy()
    for k, method in sorted(steps.items()):
        if method == METHOD_SNAIVE and len(history.months) >= 12 and k < 12:
            level = by_series(history.values[len(history.months) - 12 + k])
        else:
            level = by_series(history.values[-RECENT_MONTHS:].mean(axis=0))
        total = forecast[k].sum()
        if total > 0:  # the model's parts, its baseline and its pipeline scaled alike (as `combine` does)
            factor = level.sum() / total
            forecast[k], baseline[k], pipeline[k] = (
                forecast[k] * factor,
                baseline[k] * factor,
                pipeline[k] * factor,
            )
        else:
            forecast[k], baseline[k], pipeline[k] = level, level, 0.0
    return replace(fc, forecast=forecast, baseline=baseline, pipeline=pipeline, fallback=steps)


def _to_total(parts: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """The forecast's parts scaled to sum to the baseline's total (the model's split kept); the
    baseline's own parts where the forecast has none."""
    total = parts.sum()
    return parts * (baseline.sum() / total) if total > 0 else baseline.astype(float)


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
    share = fc.share_open if fc.regime == REGIME_SEASONAL and len(fc.share_open) else np.zeros(H)
    for k in range(H):
        month = add_months(fc.origin, k)
        q_parts = interval_quantiles(bt.residuals, LEVEL_PARTS, k + 1)
        q_tot = interval_quantiles(bt.residuals, LEVEL_TOTAL, k + 1)
        for j, s in enumerate(fc.series):
            pl, office = s.split("|", 1)
            rows.append(_row(ctx, month, k + 1, LEVEL_PARTS, pl, office, fc.forecast[k, j],
                             fc.baseline[k, j] * (1 - share[k]), fc.pipeline[k, j], q_parts, run_id))  # fmt: skip
        rows.append(
            _row(
                ctx,
                month,
                k + 1,
                LEVEL_TOTAL,
                None,
                None,
                fc.forecast[k].sum(),
                (fc.baseline[k] * (1 - share[k])).sum(),
                fc.pipeline[k].sum(),
                q_tot,
                run_id,
            )  # fmt: skip
        )
    return pd.DataFrame(rows).assign(method=fc.regime, history_months=fc.history_months)


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
    if ctx.frames.invoices.empty:
        raise CannotScore(
            f"no invoices before {ctx.as_of}: the forecast is of invoiced revenue; load the accounting exports"
        )
    history = monthly_history(ctx.frames, origin)
    if not history.months:
        raise CannotScore(
            f"no complete month of invoices before {origin}: the forecast needs at least one; run it as "
            "of a later date"
        )
    fc = forecast_at(ctx.frames, origin, H)
    fc = combine(fc, combination_weights(bt.combination, origin, fc))
    fc = apply_fallback(fc, history, bt.fallback)
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
        features=["series", "years", "month"] if fc.regime == REGIME_SEASONAL else ["series", "month"],
        params={
            "regime": fc.regime,
            "history_months": fc.history_months,
            "alpha": GLM_ALPHA,
            "fit_window_months": FIT_WINDOW_MONTHS,
            "pipeline_months": PIPELINE_MONTHS,
            "cap_quantile": CAP_QUANTILE,
            "level_months": LEVEL_MONTHS,
            # months ahead at which a baseline beat the combination on the backtest: forecast by it
            "baseline_horizons": {str(k + 1): m for k, m in sorted(fc.fallback.items())},
            "combination_weights": {
                name: [round(float(w), 4) for w in fc.weights[:, i]]
                for i, name in enumerate(CANDIDATES)
                if fc.weights[:, i].any()
            },
        },
        horizon_months=H,
        metrics=summary,
        reason=None if fc.regime == REGIME_SEASONAL else history_note(fc),
    )
    run.fingerprint = registry.fingerprint(history.values, history.series, run.params, H, fc.pipeline)
    found = registry.find_run(ctx.con, run.run_id)
    if found is not None:
        return found, fc
    run.card = model_card(run, bt)
    return registry.register(ctx.con, ctx.settings, run), fc


def history_note(fc: OriginForecast) -> str:
    """What the forecast rests on, in words."""
    used = [name for i, name in enumerate(CANDIDATES) if fc.weights[:, i].any()]
    if fc.regime == REGIME_SEASONAL:
        return (
            f"{fc.history_months} complete months of revenue: seasonal profile and level, combined with "
            f"{', '.join(used)} by their backtest errors"
        )
    how = (
        "the recent level (mean of the last three months); no other candidate beat it by "
        f"{SHORT_SWITCH_MARGIN:.0%} on the backtest"
        if used == ["recent_level"]
        else f"per horizon the candidate the backtest found best: {', '.join(used)}"
    )
    why = (
        f"less than the {SEASONAL_HISTORY_MONTHS} a seasonal profile needs"
        if fc.history_months < SEASONAL_HISTORY_MONTHS
        else f"from fewer than the {MIN_SEASONAL_CLIENTS} clients a seasonal profile needs"
    )
    return f"{fc.history_months} complete month(s) of revenue, {why}: no seasonality; {how}"


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
    table = "(no backtest: the history has no origin with three months behind it and a month after it)"
    if not acc.empty:
        wide = acc.pivot_table(
            index=["level", "horizon_months"], columns="method", values="wape"
        ).reset_index()
        table = registry.markdown_table(wide)
    months = run.params.get("history_months")
    if run.params.get("regime") == REGIME_SHORT:
        what = f"""**What it is.** Monthly invoiced revenue (before VAT, roubles) in total and by product line x
office. It rests on {months} complete month(s) of revenue, less than the {SEASONAL_HISTORY_MONTHS}
a seasonal profile needs, so it has no seasonality: the total is the recent level (mean of the last
{RECENT_MONTHS} months) unless, with {MIN_COMBINATION_ERRORS} or more earlier backtest errors for the
horizon, another candidate's mean squared error is at least {SHORT_SWITCH_MARGIN:.0%} lower: a damped
straight-line trend, the open pipeline (deals open x their conversion, for {PIPELINE_MONTHS} months)
or the customer base (BG/NBD expected purchases of the current clients x their spend per purchase,
plus new clients at the recent rate). Chosen by horizon: {run.params.get("combination_weights")}. The
parts are the total split by each series' share of the last {SHARE_MONTHS} months."""
    else:
        what = f"""**What it is.** Monthly invoiced revenue (before VAT, roubles) by product line x office and in
total, from {months} complete months of revenue.
Parts: a Poisson GLM in one sklearn Pipeline for the calendar-month effect shared by all series (alpha
{GLM_ALPHA}) x a straight-line trend per series, fitted on the last {FIT_WINDOW_MONTHS} complete
months. Total, fitted on its own: a calendar-month profile from a Poisson GLM on monthly revenue with
every invoice capped at the {CAP_QUANTILE:.0%} quantile of amounts (up to {SEASON_WINDOW_MONTHS}
months) x the mean deseasonalised revenue of the last {LEVEL_MONTHS} months; the parts are scaled to
sum to it. For the first {PIPELINE_MONTHS} months the deals open on the as-of date x their stage's win
rate x when such deals close replace the share of revenue that historically came from deals already
open. The total is then the weighted mean of that, the sum of the parts' own forecasts and seasonal naive,
by inverse-MSE weights from the backtest's errors (weights by horizon: {run.params.get("combination_weights")}),
the parts scaled with it."""
    rests = f"**What it rests on.** {run.reason}.\n\n" if run.reason else ""
    return f"""# Sales forecast, version {{version}}

Run `{run.run_id}`, made as of {run.as_of} for the next {run.horizon_months} months.

{rests}{what} Intervals: quantiles of (actual - forecast) / sqrt(forecast) for the parts; Student t x
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
