"""Labels, populations and the train/score split: decided here and nowhere else.

A run as of date T sees only what happened before T (`Frames.before(T)`). Inside it:
- a model scored as of T is trained on snapshots t whose label window [t, t + horizon) ends by
  T (`training_dates`), so its labels are known on T;
- a backtest as of B (one of the last four quarter starts with B + horizon <= T,
  `backtest_dates`) trains on snapshots whose label window ends by B and is judged on the
  labels of [B, B + horizon).

Churn: a client invoiced in the 12 months before t that is invoiced nothing in [t, t + horizon).
Lead: a lead open on t (created in the 120 days before t, or with an open deal) whose deal is won
in [t, t + horizon).

Short histories (`label_plan`): a horizon of 180 days needs 180 days of history after each snapshot,
plus some history before it. When the history cannot give MIN_TRAINING_SNAPSHOTS monthly snapshots
with the horizon asked and MIN_HISTORY_MONTHS behind each, the model is trained on the longest
of the shorter horizons in SHORTER_HORIZONS_DAYS (and, if need be, with 3 or 1 months behind each
snapshot) that gives them. The horizon used is written with every score, backtest row and model run;
the reason says what was asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.data import Frames, add_months, day_number, month_start

ACTIVE_DAYS = 365  # churn population: invoiced in this many days before t
LEAD_OPEN_DAYS = 120  # a lead without a deal counts as open for this long after it came in
MIN_HISTORY_MONTHS = 6  # first training snapshot: this long after the first invoice in the data
N_BACKTESTS = 4
# short histories: horizons tried after the one asked (longest first), the history kept behind each
# snapshot (longest first), and the snapshots a plan needs
SHORTER_HORIZONS_DAYS = (180, 120, 90, 60, 30)
SHORTER_HISTORY_MONTHS = (MIN_HISTORY_MONTHS, 3, 1)
MIN_TRAINING_SNAPSHOTS = 3


class LabelNotKnown(ValueError):
    """A label window reaches past what the run may see; choose an earlier date or a shorter horizon."""

    retryable = False


def _check_known(t: date, horizon_days: int, known_until: date | None) -> None:
    if known_until is not None and t + timedelta(days=horizon_days) > known_until:
        raise LabelNotKnown(
            f"the label window {t} + {horizon_days} days ends after {known_until}, the last day the run may "
            "see; labels are only taken from windows that end by the run's as-of date"
        )


# ---------------------------------------------------------------------------- snapshot dates
def training_dates(
    frames: Frames,
    until: date,
    horizon_days: int,
    step_months: int = 1,
    max_dates: int | None = None,
    *,
    start: date | None = None,
    min_history_months: int = MIN_HISTORY_MONTHS,
) -> list[date]:
    """Month starts t with a full label window before `until` (t + horizon <= until) and at least
    `min_history_months` of history behind them (from `start`, default the first invoice); the most
    recent `max_dates` when given."""
    start = start or frames.finance_start
    if start is None:
        return []
    first = add_months(month_start(start), min_history_months)
    last = until - timedelta(days=horizon_days)
    out, t = [], month_start(last)
    while t >= first:
        out.append(t)
        t = add_months(t, -step_months)
    out = sorted(out)
    return out[-max_dates:] if max_dates else out


@dataclass(frozen=True)
class LabelPlan:
    """The label horizon a model is trained on as of a date, and the history kept behind each snapshot."""

    horizon_days: int  # the horizon used: the one asked, or shorter when the history is short
    asked_days: int
    min_history_months: int
    start: date | None  # the first day of the history the snapshots count from
    dates: tuple[date, ...]  # the training snapshots for the run's date

    @property
    def is_shortened(self) -> bool:
        return self.horizon_days != self.asked_days

    def describe(self, what: str) -> str | None:
        """Why the horizon differs from the one asked (None when it does not)."""
        if not self.is_shortened:
            return None
        return (
            f"{self.asked_days}-day {what} horizon asked, but the history from {self.start} cannot label "
            f"{MIN_TRAINING_SNAPSHOTS} monthly snapshots with it: trained on {self.horizon_days} days "
            f"({len(self.dates)} snapshots, at least {self.min_history_months} month(s) of history each)"
        )

    def training_dates(self, frames: Frames, until: date) -> list[date]:
        return training_dates(
            frames, until, self.horizon_days, start=self.start, min_history_months=self.min_history_months
        )


def label_plan(frames: Frames, until: date, asked_days: int, start: date | None = None) -> LabelPlan:
    """The longest horizon (the one asked first, then SHORTER_HORIZONS_DAYS) and, for it, the most
    history behind each snapshot (SHORTER_HISTORY_MONTHS) that give MIN_TRAINING_SNAPSHOTS labelled
    snapshots by `until`; when none does, the plan with the most snapshots (perhaps none)."""
    start = start or frames.finance_start
    horizons = [asked_days, *(h for h in SHORTER_HORIZONS_DAYS if h < asked_days)]
    best: LabelPlan | None = None
    for horizon in horizons:
        for months in SHORTER_HISTORY_MONTHS:
            dates = training_dates(frames, until, horizon, start=start, min_history_months=months)
            plan = LabelPlan(horizon, asked_days, months, start, tuple(dates))
            if len(dates) >= MIN_TRAINING_SNAPSHOTS:
                return plan
            if best is None or len(dates) > len(best.dates):
                best = plan
    return best or LabelPlan(asked_days, asked_days, MIN_HISTORY_MONTHS, start, ())


def backtest_dates(
    frames: Frames, as_of: date, horizon_days: int, n: int = N_BACKTESTS, plan: LabelPlan | None = None
) -> list[date]:
    """The last `n` quarter starts B with B + horizon <= as_of that leave at least one training date
    (under `plan`'s history rule when given)."""
    out = []
    t = month_start(as_of - timedelta(days=horizon_days))
    while t.month not in (1, 4, 7, 10):
        t = add_months(t, -1)

    def trainable(b: date) -> list[date]:
        if plan is not None:
            return plan.training_dates(frames, b)
        return training_dates(frames, b, horizon_days)

    while len(out) < n and trainable(t):
        out.append(t)
        t = add_months(t, -3)
    return sorted(out)


# ---------------------------------------------------------------------------- churn
def churn_population(frames: Frames, t: date) -> pd.Index:
    """Clients invoiced in the ACTIVE_DAYS before t."""
    inv = frames.invoices
    td = day_number(t)
    day = inv["day"].to_numpy()
    active = (day < td) & (day >= td - ACTIVE_DAYS)
    codes = np.unique(inv["client"].to_numpy()[active])
    return pd.Index(frames.client_ids[codes[codes >= 0]], name="client_id", dtype=object)


def churn_labels(
    frames: Frames, t: date, horizon_days: int, clients: pd.Index, known_until: date | None
) -> pd.Series:
    """1 when the client is invoiced nothing in [t, t + horizon), else 0."""
    _check_known(t, horizon_days, known_until)
    inv = frames.invoices
    td = day_number(t)
    day = inv["day"].to_numpy()
    window = (day >= td) & (day < td + horizon_days)
    bought = np.unique(inv["client"].to_numpy()[window])
    codes = frames.client_ids.get_indexer(clients)
    churned = ~np.isin(codes, bought[bought >= 0])
    return pd.Series(churned.astype(int), index=clients, name="churned")


# ---------------------------------------------------------------------------- leads
def open_leads(frames: Frames, t: date) -> pd.DataFrame:
    """Leads open on t: created before t, no deal of theirs closed before t, and either created in
    the LEAD_OPEN_DAYS before t or with a deal still open."""
    leads, deals = frames.leads, frames.deals
    td = day_number(t)
    created = leads["day"].to_numpy() < td
    lead_deals = deals[deals["lead_id"].notna().to_numpy() & (deals["day"].to_numpy() < td)]
    closed_before = lead_deals[
        (lead_deals["won_day"].to_numpy() < td) | (lead_deals["lost_day"].to_numpy() < td)
    ]["lead_id"]
    open_deal = lead_deals[
        ~((lead_deals["won_day"].to_numpy() < td) | (lead_deals["lost_day"].to_numpy() < td))
    ]["lead_id"]
    recent = leads["day"].to_numpy() >= td - LEAD_OPEN_DAYS
    lead_id = leads["lead_id"]
    keep = created & ~lead_id.isin(closed_before).to_numpy() & (recent | lead_id.isin(open_deal).to_numpy())
    return leads.loc[keep].reset_index(drop=True)


def lead_labels(
    frames: Frames, t: date, horizon_days: int, lead_ids: pd.Series, known_until: date | None
) -> pd.Series:
    """1 when a deal of the lead is won in [t, t + horizon), else 0."""
    _check_known(t, horizon_days, known_until)
    deals = frames.deals
    td = day_number(t)
    won = deals["won_day"].to_numpy()
    hit = deals["lead_id"].notna().to_numpy() & (won >= td) & (won < td + horizon_days)
    winners = set(deals.loc[hit, "lead_id"])
    return pd.Series([1 if lead in winners else 0 for lead in lead_ids], index=lead_ids.index, dtype=int)


# ---------------------------------------------------------------------------- prospects
def prospects(frames: Frames) -> pd.Index:
    """Clients seen in the CRM or on the web (interactions, web events, leads, deals) and never invoiced,
    in the frames given (cut them first)."""
    seen = np.unique(
        np.concatenate(
            [
                frames.interactions["client"],
                frames.web["client"],
                frames.leads["client"],
                frames.deals["client"],
            ]
        )
    )
    customers = np.unique(frames.invoices["client"].to_numpy())
    codes = np.setdiff1d(seen[seen >= 0], customers)
    return pd.Index(frames.client_ids[codes], name="client_id", dtype=object)
