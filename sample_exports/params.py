"""Parameters of the sample-export generator, the calendar it works in, and its random streams.

Counts in `GeneratorParams` are for scale 1 (about 10,000 client groups); `Sizes` turns them into the
counts of one run. Rates (per group, per month, shares) do not scale.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np

GENERATOR_VERSION = "1.0.0"

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
SECONDS_PER_DAY = 86_400
# "Never" for day-valued fields (churn date, left date, ...): far beyond any window.
NEVER = 10**7


@dataclass(frozen=True)
class GeneratorParams:
    """What the generated world looks like. Counts are for scale 1; everything else is a rate or share."""

    # -- population (counts at scale 1)
    n_groups: int = 10_000
    n_sales_managers: int = 90
    n_support_agents: int = 30
    n_marketers: int = 12
    n_partners: int = 150
    n_campaigns: int = 240
    anonymous_sessions_per_month: int = 28_000
    anonymous_visitor_pool: int = 250_000

    # -- groups and legal entities
    # weights of 1..8 legal entities per group (mean about 2.5)
    entities_per_group_weights: tuple[float, ...] = (0.38, 0.25, 0.14, 0.08, 0.06, 0.04, 0.03, 0.02)
    existing_customer_share: float = 0.45  # groups already buying when the history starts
    individual_share_single: float = 0.25  # single-entity small groups that are an ИП
    individual_share_member: float = 0.03  # entities of holdings that are an ИП
    branch_share: float = 0.15  # non-head organisations that are a branch (head's INN, own KPP)
    unrelated_name_share: float = 0.4  # non-head entities whose name does not share the group's stem
    latin_name_share: float = 0.15  # groups with a Latin-script name
    invalid_inn_share: float = 0.03  # entities whose known INN has a wrong check digit
    missing_inn_share: float = 0.03  # entities with no INN anywhere
    multi_office_share: float = 0.35  # multi-entity groups with entities served by another office
    # multi-entity groups planted as holdings the way real ones look (sample_exports/holdings.py):
    # subsidiaries named "<brand> Трейд" in another region, with their own website and no CRM parent
    # link, whose people write from the parent's e-mail domain. 0 leaves every other draw unchanged.
    holding_share: float = 0.0

    # -- finance
    purchases_per_customer_month: float = 0.9  # median group; scaled by size
    purchase_size_elasticity: float = 0.45
    revenue_trend_per_year: float = 0.12
    # multiplier by calendar month (Jan..Dec): quarter ends and December are busy
    seasonality: tuple[float, ...] = (0.7, 0.9, 1.3, 0.95, 0.95, 1.3, 0.85, 0.85, 1.3, 1.0, 1.05, 1.8)
    product_lines: tuple[str, ...] = ("licenses", "cloud", "hardware", "services", "support", "training")
    product_mix_start: tuple[float, ...] = (0.34, 0.08, 0.22, 0.16, 0.14, 0.06)
    product_mix_end: tuple[float, ...] = (0.18, 0.36, 0.10, 0.16, 0.14, 0.06)
    second_counterparty_share: float = 0.06
    deal_share_of_purchases: float = 0.22
    late_payment_share: float = 0.15
    partial_payment_share: float = 0.07
    partial_paid_later_share: float = 0.9  # of partial payments, those whose rest is paid later
    unpaid_share: float = 0.008  # invoices a healthy client never pays (distress adds to it)
    unapplied_payment_share: float = 0.03
    credit_note_share: float = 0.03
    foreign_currency_share: float = 0.03
    # cost of sales as a share of the amount, by product line (in product_lines order)
    cost_share_by_line: tuple[float, ...] = (0.62, 0.45, 0.82, 0.48, 0.30, 0.40)
    cost_unposted_share: float = 0.04  # invoices whose cost accounting has not posted

    # -- CRM
    account_coverage: float = 0.92  # entities of customers with a CRM account
    prospect_account_share_with_lead: float = 0.6  # prospects' entities with a lead that get an account
    prospect_account_share_cold: float = 0.3  # ... and without a lead (cold targets)
    prospect_activities_per_month: float = 0.4  # outreach to prospects that have an account
    duplicate_account_share: float = 0.05
    parent_link_share: float = 0.4  # multi-entity groups whose accounts point to the head account
    contacts_per_account: float = 1.3  # mean extra contacts beyond the first
    contact_move_share: float = 0.04
    contact_deactivation_share: float = 0.05
    manager_leave_share: float = 0.22
    leads_per_prospect_group: float = 2.2  # over the whole history
    leads_per_customer_group: float = 1.2
    lost_deals_per_customer_month: float = 0.05
    open_deals_per_customer: float = 0.3
    partner_group_share: float = 0.22  # client groups served through a partner (most of their deals)
    one_off_partner_deal_share: float = 0.03  # other deals that go through a partner once
    partner_ticket_share: float = 0.6  # tickets of a partner's end users it raises for them
    activities_per_customer_month: float = 3.6
    tickets_per_customer_month: float = 0.18
    unresolved_ticket_share: float = 0.03

    # -- churn
    churn_share: float = 0.3  # of customers that can churn inside the window
    won_back_share: float = 0.12
    trail_days: tuple[int, int] = (120, 240)
    silent_churn_share: float = 0.08  # churners without much of a trail
    quiet_period_share: float = 0.2  # loyal customers with a temporary dip (makes churn harder)

    # -- campaigns
    campaign_effect_share: float = 0.6
    campaign_lift_range: tuple[float, float] = (0.1, 0.6)
    control_share_range: tuple[float, float] = (0.25, 0.5)  # of the groups a mailing or webinar selects

    # -- web
    customer_sessions_per_month: float = 1.7
    pages_per_session: float = 3.2

    # -- messiness: relative weight of each fault kind (normalised over the kinds a file allows);
    # "mojibake" is an in-place encoding fault ingest repairs, the others are extra rows it quarantines
    fault_weights: dict[str, float] = field(
        default_factory=lambda: {
            "duplicate_key": 0.22,
            "missing_required": 0.14,
            "bad_number": 0.12,
            "bad_date": 0.14,
            "out_of_range": 0.10,
            "bad_enum": 0.12,
            "bad_inn": 0.30,
            "mojibake": 0.12,
        }
    )


def _scaled(n: int, scale: float, minimum: int) -> int:
    return max(minimum, int(round(n * scale)))


@dataclass(frozen=True)
class Sizes:
    """The counts of one run."""

    n_groups: int
    n_sales_managers: int
    n_support_agents: int
    n_marketers: int
    n_partners: int
    n_campaigns: int
    anonymous_sessions_per_month: int
    anonymous_visitor_pool: int

    @classmethod
    def from_params(cls, p: GeneratorParams, scale: float) -> Sizes:
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        return cls(
            n_groups=_scaled(p.n_groups, scale, 20),
            n_sales_managers=_scaled(p.n_sales_managers, scale, 6),
            n_support_agents=_scaled(p.n_support_agents, scale, 3),
            n_marketers=_scaled(p.n_marketers, scale, 2),
            n_partners=_scaled(p.n_partners, scale, 5),
            n_campaigns=_scaled(p.n_campaigns, scale, 16),
            anonymous_sessions_per_month=_scaled(p.anonymous_sessions_per_month, scale, 50),
            anonymous_visitor_pool=_scaled(p.anonymous_visitor_pool, scale, 500),
        )


def day_number(d: date) -> int:
    """Days since 1970-01-01."""
    return d.toordinal() - EPOCH_ORDINAL


def day_to_date(day: int) -> date:
    return date.fromordinal(int(day) + EPOCH_ORDINAL)


@dataclass(frozen=True)
class Window:
    """The 36 calendar months of history ending at `end` (inclusive); days are days since 1970-01-01."""

    end: date
    n_months: int = 36

    @cached_property
    def months(self) -> list[tuple[int, int]]:
        y, m = self.end.year, self.end.month
        out = []
        for _ in range(self.n_months):
            out.append((y, m))
            y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        return out[::-1]

    @cached_property
    def month_labels(self) -> list[str]:
        return [f"{y:04d}-{m:02d}" for y, m in self.months]

    @cached_property
    def month_start(self) -> np.ndarray:
        return np.array([day_number(date(y, m, 1)) for y, m in self.months], dtype=np.int64)

    @cached_property
    def month_stop(self) -> np.ndarray:
        """Exclusive end day of each month (the last month stops the day after `end`)."""
        starts = self.month_start
        stop = np.empty_like(starts)
        stop[:-1] = starts[1:]
        stop[-1] = self.end_day + 1
        return stop

    @cached_property
    def month_of_year(self) -> np.ndarray:
        return np.array([m for _, m in self.months], dtype=np.int64)

    @property
    def start_day(self) -> int:
        return int(self.month_start[0])

    @property
    def end_day(self) -> int:
        return day_number(self.end)

    @cached_property
    def snapshot_dates(self) -> list[date]:
        """Quarter ends inside the window, and the end date (the last snapshot)."""
        out = []
        for y, m in self.months:
            if m in (3, 6, 9, 12):
                q_end = date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
                if q_end <= self.end:
                    out.append(q_end)
        if not out or out[-1] != self.end:
            out.append(self.end)
        return out

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Index of the month each day falls in (-1 before the window, n_months after it)."""
        idx = np.searchsorted(self.month_start, days, side="right") - 1
        return np.where(np.asarray(days) > self.end_day, self.n_months, idx)


def rng_for(seed: int, *labels: str) -> np.random.Generator:
    """An independent random stream for one purpose (labels), stable across runs and scales."""
    keys = [zlib.crc32(label.encode("utf-8")) for label in labels]
    return np.random.default_rng(np.random.SeedSequence([seed % 2**32, *keys]))
