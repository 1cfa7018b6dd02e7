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
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from models.data import Frames, add_months, day_number, month_start

ACTIVE_DAYS = 365  # churn population: invoiced in this many days before t
LEAD_OPEN_DAYS = 120  # a lead without a deal counts as open for this long after it came in
MIN_HISTORY_MONTHS = 6  # first training snapshot: this long after the first invoice in the data
N_BACKTESTS = 4


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
    frames: Frames, until: date, horizon_days: int, step_months: int = 1, max_dates: int | None = None
) -> list[date]:
    """Month starts t with a full label window before `until` (t + horizon <= until) and at least
    MIN_HISTORY_MONTHS of invoices behind them; the most recent `max_dates` when given."""
    start = frames.finance_start
    if start is None:
        return []
    first = add_months(month_start(start), MIN_HISTORY_MONTHS)
    last = until - timedelta(days=horizon_days)
    out, t = [], month_start(last)
    while t >= first:
        out.append(t)
        t = add_months(t, -step_months)
    out = sorted(out)
    return out[-max_dates:] if max_dates else out


def backtest_dates(frames: Frames, as_of: date, horizon_days: int, n: int = N_BACKTESTS) -> list[date]:
    """The last `n` quarter starts B with B + horizon <= as_of that leave at least one training date."""
    out = []
    t = month_start(as_of - timedelta(days=horizon_days))
    while t.month not in (1, 4, 7, 10):
        t = add_months(t, -1)
    while len(out) < n and training_dates(frames, t, horizon_days):
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
