"""Point-in-time client features: one row per client, every column computed from events strictly
before `as_of` (columns are named `*_before_as_of`).

`client_features(frames, as_of)` takes the frames cut at `as_of` (`Frames.before`), never the
full history, so a feature cannot see the future. Features come in groups by the source they
need (finance, crm, web); a model records the groups it was trained with and is scored with the
same ones. Missing values stay NaN (gradient boosting handles them); nothing is patched at
scoring time.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from models.data import SOURCE_CRM, SOURCE_FINANCE, SOURCE_WEB, Frames, day_number

SUFFIX = "_before_as_of"


def _f(name: str) -> str:
    return name + SUFFIX


FINANCE_FEATURES = [
    _f(n)
    for n in (
        "days_since_last_invoice",
        "days_since_first_invoice",
        "invoice_days_365d",
        "invoices_90d",
        "invoices_prev_90d",
        "invoices_180d",
        "invoices_365d",
        "revenue_90d_rub",
        "revenue_180d_rub",
        "revenue_prev_180d_rub",
        "revenue_365d_rub",
        "revenue_trend_180d",
        "invoice_trend_90d",
        "mean_gap_days_365d",
        "recency_over_gap",
        "avg_invoice_rub_365d",
        "product_lines_365d",
        "offices_365d",
        "legal_entities_365d",
        "late_paid_share_365d",
        "mean_days_late_365d",
        "open_amount_rub",
        "overdue_amount_rub",
        "overdue_invoices",
        "max_days_past_due",
        "credited_share_365d",
    )
]
CRM_FEATURES = [
    _f(n)
    for n in (
        "interactions_90d",
        "interactions_prev_90d",
        "interaction_trend_90d",
        "calls_90d",
        "meetings_180d",
        "inbound_90d",
        "days_since_last_interaction",
        "contacts_touched_180d",
        "contacts_lost_180d",
        "managers_touched_180d",
        "campaign_responses_180d",
        "tickets_90d",
        "tickets_365d",
        "open_tickets",
        "open_high_priority_tickets",
        "open_critical_tickets",
        "oldest_open_ticket_days",
        "mean_resolution_hours_365d",
        "owner_changes_365d",
        "owner_has_left",
        "open_deals",
        "open_deals_amount_rub",
        "deals_lost_180d",
        "deals_won_180d",
    )
]
WEB_FEATURES = [
    _f(n)
    for n in (
        "web_events_90d",
        "web_events_prev_90d",
        "web_trend_90d",
        "web_days_90d",
        "product_page_views_90d",
        "days_since_last_web_event",
    )
]
FEATURE_GROUPS = {SOURCE_FINANCE: FINANCE_FEATURES, SOURCE_CRM: CRM_FEATURES, SOURCE_WEB: WEB_FEATURES}
HIGH_PRIORITIES = ("high", "critical")


def feature_names(sources: frozenset[str] | set[str]) -> list[str]:
    """The feature columns for the given sources, in a fixed order."""
    return [name for src, names in FEATURE_GROUPS.items() if src in sources for name in names]


class _Counter:
    """Sums, extremes and distinct counts per entity (client or lead) of the rows of one frame.

    `codes` are the frame's integer ids (`client` or `lead` column, positions in the global id list
    `vocab`); they are mapped once onto positions in `index`, the entities being featurised."""

    def __init__(self, index: pd.Index, codes: np.ndarray, vocab: pd.Index):
        self.n = len(index)
        lookup = index.get_indexer(vocab) if len(vocab) else np.zeros(0, dtype=np.int64)
        codes = np.asarray(codes, dtype=np.int64)
        self.codes = np.where(codes >= 0, lookup[np.maximum(codes, 0)] if len(lookup) else -1, -1)
        self.known = self.codes >= 0

    @classmethod
    def clients(cls, index: pd.Index, df: pd.DataFrame, frames: Frames) -> _Counter:
        return cls(index, df["client"].to_numpy(), frames.client_ids)

    @classmethod
    def leads(cls, index: pd.Index, df: pd.DataFrame, frames: Frames) -> _Counter:
        return cls(index, df["lead"].to_numpy(), frames.lead_ids)

    def _mask(self, mask: np.ndarray | None) -> np.ndarray:
        return self.known if mask is None else (self.known & mask)

    def sum(self, mask: np.ndarray | None = None, weights: np.ndarray | None = None) -> np.ndarray:
        m = self._mask(mask)
        w = None if weights is None else np.nan_to_num(np.asarray(weights, dtype=float))[m]
        return np.bincount(self.codes[m], weights=w, minlength=self.n).astype(float)

    def extreme(self, values: np.ndarray, mask: np.ndarray | None = None, how: str = "max") -> np.ndarray:
        m = self._mask(mask)
        out = np.full(self.n, -np.inf if how == "max" else np.inf)
        ufunc = np.maximum if how == "max" else np.minimum
        ufunc.at(out, self.codes[m], np.asarray(values, dtype=float)[m])
        out[~np.isfinite(out)] = np.nan
        return out

    def distinct(self, keys: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Distinct non-negative integer keys per entity."""
        keys = np.asarray(keys, dtype=np.int64)
        m = self._mask(mask) & (keys >= 0)
        if not m.any():
            return np.zeros(self.n)
        width = int(keys[m].max()) + 1
        pairs = np.unique(self.codes[m] * width + keys[m])
        return np.bincount(pairs // width, minlength=self.n).astype(float)


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a + 1) / (b + 1): a smoothed trend that is 1 when nothing changed."""
    return (a + 1.0) / (b + 1.0)


def customers_before(frames: Frames) -> pd.Index:
    """Clients invoiced at least once before the cut, sorted."""
    codes = np.unique(frames.invoices["client"].to_numpy())
    return pd.Index(frames.client_ids[codes[codes >= 0]], name="client_id", dtype=object)


def client_features(frames: Frames, as_of: date, clients: pd.Index | None = None) -> pd.DataFrame:
    """Features of `clients` (default: every client invoiced before `as_of`) from `frames`, which must
    be cut at `as_of` (`frames.before(as_of)`)."""
    if frames.as_of != as_of:
        raise ValueError(
            f"client_features needs the frames cut at {as_of} (frames.before(as_of)), got a cut at {frames.as_of}"
        )
    index = customers_before(frames) if clients is None else pd.Index(clients, name="client_id")
    t = float(day_number(as_of))
    out = pd.DataFrame(index=index)
    out = pd.concat([out, _finance(frames, index, t), _crm(frames, index, t), _web(frames, index, t)], axis=1)
    return out


# ---------------------------------------------------------------------------- finance
def _finance(frames: Frames, index: pd.Index, t: float) -> pd.DataFrame:
    inv = frames.invoices
    c = _Counter.clients(index, inv, frames)
    day = inv["day"].to_numpy()
    age = t - day
    amt = inv["amount_rub"].to_numpy()
    w90, w180, w365 = age <= 90, age <= 180, age <= 365
    prev90 = (age > 90) & (age <= 180)
    prev180 = (age > 180) & (age <= 360)
    last = c.extreme(day, how="max")
    first = c.extreme(day, how="min")
    n90, nprev90, n180, n365 = c.sum(w90), c.sum(prev90), c.sum(w180), c.sum(w365)
    r90, r180, rprev180, r365 = c.sum(w90, amt), c.sum(w180, amt), c.sum(prev180, amt), c.sum(w365, amt)
    # distinct purchase days in the last year, and the mean gap between them
    n_days = c.distinct(day.astype(np.int64), w365)
    first365 = c.extreme(day, w365, "min")
    last365 = c.extreme(day, w365, "max")
    gap = np.where(n_days >= 2, (last365 - first365) / np.maximum(n_days - 1, 1), np.nan)
    recency = t - last

    f = {
        "days_since_last_invoice": recency,
        "days_since_first_invoice": t - first,
        "invoice_days_365d": n_days,
        "invoices_90d": n90,
        "invoices_prev_90d": nprev90,
        "invoices_180d": n180,
        "invoices_365d": n365,
        "revenue_90d_rub": r90,
        "revenue_180d_rub": r180,
        "revenue_prev_180d_rub": rprev180,
        "revenue_365d_rub": r365,
        "revenue_trend_180d": (r180 + 1e5) / (rprev180 + 1e5),
        "invoice_trend_90d": _ratio(n90, nprev90),
        "mean_gap_days_365d": gap,
        "recency_over_gap": recency / np.where(np.isnan(gap), 365.0, np.maximum(gap, 7.0)),
        "avg_invoice_rub_365d": np.where(n365 > 0, r365 / np.maximum(n365, 1), np.nan),
        "product_lines_365d": c.distinct(inv["product_line_code"].to_numpy(), w365),
        "offices_365d": c.distinct(inv["office_code_code"].to_numpy(), w365),
        "legal_entities_365d": c.distinct(inv["legal_entity_id_code"].to_numpy(), w365),
    }
    f.update(_receivables(frames, index, t))
    return pd.DataFrame({_f(k): v for k, v in f.items()}, index=index)


def _receivables(frames: Frames, index: pd.Index, t: float) -> dict[str, np.ndarray]:
    """What each client owed on the day, and how late it paid the invoices due in the last year."""
    inv, pay, cn = frames.invoices, frames.payments, frames.credit_notes
    n_inv = len(inv)
    applied = (pay["invoice_row"].to_numpy() >= 0) & (pay["invoice_row"].to_numpy() < n_inv)
    rows = pay["invoice_row"].to_numpy()[applied]
    paid = np.bincount(rows, weights=pay["amount_rub"].to_numpy()[applied], minlength=n_inv)
    last_pay = np.full(n_inv, np.nan)
    if len(rows):
        tmp = np.full(n_inv, -np.inf)
        np.maximum.at(tmp, rows, pay["day"].to_numpy()[applied])
        last_pay = np.where(np.isfinite(tmp), tmp, np.nan)
    cn_ok = (cn["invoice_row"].to_numpy() >= 0) & (cn["invoice_row"].to_numpy() < n_inv)
    credited = np.bincount(
        cn["invoice_row"].to_numpy()[cn_ok], weights=cn["amount_rub"].to_numpy()[cn_ok], minlength=n_inv
    )
    total = inv["amount_with_vat_rub"].fillna(inv["amount_rub"]).to_numpy()
    due = total - credited
    open_amt = np.maximum(due - paid, 0.0)
    settled = open_amt <= np.maximum(0.01 * due, 1.0)
    open_amt = np.where(settled, 0.0, open_amt)
    due_day = inv["due_day"].to_numpy()
    overdue = (open_amt > 0) & (due_day < t)
    c = _Counter.clients(index, inv, frames)
    # unapplied payments lower what the client owes (as the dbt mart does, oldest invoices first)
    unapplied = _Counter.clients(index, pay, frames).sum(~applied, pay["amount_rub"].to_numpy())
    open_client = np.maximum(c.sum(None, open_amt) - unapplied, 0.0)
    overdue_client = np.minimum(c.sum(overdue, open_amt), open_client)

    due_365 = (due_day < t) & (due_day >= t - 365)
    # settled without a payment (credited in full) counts as on time; still open counts until today
    paid_day = np.where(settled, np.where(np.isnan(last_pay), due_day, last_pay), t)
    days_late = np.maximum(paid_day - due_day, 0.0)
    n_due = c.sum(due_365)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "late_paid_share_365d": np.where(n_due > 0, c.sum(due_365 & (days_late > 0)) / n_due, np.nan),
            "mean_days_late_365d": np.where(n_due > 0, c.sum(due_365, days_late) / n_due, np.nan),
            "open_amount_rub": open_client,
            "overdue_amount_rub": overdue_client,
            "overdue_invoices": np.where(overdue_client > 0, c.sum(overdue), 0.0),
            "max_days_past_due": np.where(
                overdue_client > 0, np.nan_to_num(c.extreme(t - due_day, overdue, "max")), 0.0
            ),
            "credited_share_365d": np.where(n_due > 0, c.sum(due_365 & (credited > 0)) / n_due, np.nan),
        }


# ---------------------------------------------------------------------------- CRM
def _crm(frames: Frames, index: pd.Index, t: float) -> pd.DataFrame:
    it = frames.interactions
    c = _Counter.clients(index, it, frames)
    age = t - it["day"].to_numpy()
    w90, w180 = age <= 90, age <= 180
    prev90, prev180 = (age > 90) & (age <= 180), (age > 180) & (age <= 360)
    channel = it["channel"].to_numpy()
    is_campaign = it["is_campaign"].to_numpy(dtype=bool)
    responded = is_campaign & (np.nan_to_num(it["response_level"].to_numpy(dtype=float)) > 0)
    direct = ~is_campaign
    n90, nprev90 = c.sum(w90 & direct), c.sum(prev90 & direct)
    contacts_now = c.distinct(it["contact_key_code"].to_numpy(), w180)
    contacts_before = c.distinct(it["contact_key_code"].to_numpy(), prev180)
    f = {
        "interactions_90d": n90,
        "interactions_prev_90d": nprev90,
        "interaction_trend_90d": _ratio(n90, nprev90),
        "calls_90d": c.sum(w90 & (channel == "call")),
        "meetings_180d": c.sum(w180 & (channel == "meeting")),
        "inbound_90d": c.sum(w90 & direct & it["is_inbound"].to_numpy(dtype=bool)),
        "days_since_last_interaction": t - c.extreme(it["day"].to_numpy(), direct, "max"),
        "contacts_touched_180d": contacts_now,
        "contacts_lost_180d": np.maximum(contacts_before - contacts_now, 0.0),
        "managers_touched_180d": c.distinct(it["manager_id_code"].to_numpy(), w180),
        "campaign_responses_180d": c.sum(w180 & responded),
    }
    f.update(_tickets(frames, index, t))
    f.update(_owners(frames, index, t))
    f.update(_deals(frames, index, t))
    return pd.DataFrame({_f(k): v for k, v in f.items()}, index=index)


def _tickets(frames: Frames, index: pd.Index, t: float) -> dict[str, np.ndarray]:
    tk = frames.tickets
    c = _Counter.clients(index, tk, frames)
    day = tk["day"].to_numpy()
    age = t - day
    is_open = np.isnan(tk["resolved_day"].to_numpy())
    prio = tk["priority"].to_numpy()
    hours = tk["resolution_hours"].to_numpy()
    resolved_365 = (age <= 365) & ~is_open
    n_res = c.sum(resolved_365)
    return {
        "tickets_90d": c.sum(age <= 90),
        "tickets_365d": c.sum(age <= 365),
        "open_tickets": c.sum(is_open),
        "open_high_priority_tickets": c.sum(is_open & np.isin(prio, HIGH_PRIORITIES)),
        "open_critical_tickets": c.sum(is_open & (prio == "critical")),
        "oldest_open_ticket_days": np.nan_to_num(c.extreme(age, is_open, "max")),
        "mean_resolution_hours_365d": np.where(
            n_res > 0, c.sum(resolved_365, hours) / np.maximum(n_res, 1), np.nan
        ),
    }


def _owners(frames: Frames, index: pd.Index, t: float) -> dict[str, np.ndarray]:
    ow = frames.owners
    c = _Counter.clients(index, ow, frames)
    day = ow["day"].to_numpy()
    change = ow["previous_owner_manager_id"].notna().to_numpy() & (t - day <= 365)
    current = ow.drop_duplicates("client", keep="last")  # owners are sorted by day
    left = frames.managers.dropna(subset=["manager_id"]).set_index("manager_id")["left_day"]
    owner_left = current["owner_manager_id"].map(left).notna().to_numpy()
    cc = _Counter.clients(index, current, frames)
    return {
        "owner_changes_365d": c.sum(change),
        "owner_has_left": np.minimum(cc.sum(owner_left), 1.0),
    }


def _deals(frames: Frames, index: pd.Index, t: float) -> dict[str, np.ndarray]:
    dl = frames.deals
    c = _Counter.clients(index, dl, frames)
    won, lost = dl["won_day"].to_numpy(), dl["lost_day"].to_numpy()
    is_open = np.isnan(won) & np.isnan(lost) & (t - dl["day"].to_numpy() <= 365)
    return {
        "open_deals": c.sum(is_open),
        "open_deals_amount_rub": c.sum(is_open, dl["amount_rub"].to_numpy()),
        "deals_lost_180d": c.sum(t - lost <= 180),
        "deals_won_180d": c.sum(t - won <= 180),
    }


# ---------------------------------------------------------------------------- web
def _web(frames: Frames, index: pd.Index, t: float) -> pd.DataFrame:
    web = frames.web
    c = _Counter.clients(index, web, frames)
    day = web["day"].to_numpy()
    age = t - day
    w90, prev90 = age <= 90, (age > 90) & (age <= 180)
    n90, nprev90 = c.sum(w90), c.sum(prev90)
    f = {
        "web_events_90d": n90,
        "web_events_prev_90d": nprev90,
        "web_trend_90d": _ratio(n90, nprev90),
        "web_days_90d": c.distinct(day.astype(np.int64), w90),
        "product_page_views_90d": c.sum(w90 & web["is_product_page"].to_numpy(dtype=bool)),
        "days_since_last_web_event": t - c.extreme(day, how="max"),
    }
    return pd.DataFrame({_f(k): v for k, v in f.items()}, index=index)


# ---------------------------------------------------------------------------- leads
REACHED_CALL_SECONDS = 60  # a call this long was a conversation, not a missed call
LEAD_CATEGORICAL = ["source_channel"]
LEAD_FEATURES = [
    _f(n)
    for n in (
        "lead_age_days",
        "has_campaign",
        "has_company_email",
        "has_inn",
        "has_company",
        "is_individual",
        "is_joint_stock",
        "has_phone",
        "has_region",
        "client_invoiced",
        "client_revenue_365d_rub",
        "campaign_touches",
        "campaign_best_response",
        "web_page_views",
        "web_product_page_views",
        "web_forms",
        "web_chats",
        "activities",
        "inbound_activities",
        "reached_calls",
        "max_call_seconds",
        "meetings",
        "deal_stage",
        "deal_amount_rub",
        "deal_age_days",
    )
]


def lead_features(frames: Frames, as_of: date, leads: pd.DataFrame) -> pd.DataFrame:
    """Features of `leads` (rows of frames.leads, e.g. `labels.open_leads`) from `frames` cut at `as_of`.

    One row per lead, indexed by lead_id: source channel, what the person typed (company e-mail,
    INN, legal form), campaign touches, web behaviour of the lead's visitor, how the person
    answered calls and e-mails, and how far its deal had got on the day.
    """
    if frames.as_of != as_of:
        raise ValueError(f"lead_features needs the frames cut at {as_of}, got a cut at {frames.as_of}")
    t = float(day_number(as_of))
    index = pd.Index(leads["lead_id"].to_numpy(), name="lead_id")
    out = pd.DataFrame(index=index)
    out["source_channel"] = leads["source_channel"].fillna("unknown").astype(str).to_numpy()
    f: dict[str, np.ndarray] = {
        "lead_age_days": t - leads["day"].to_numpy(),
        "has_campaign": leads["campaign_id"].notna().to_numpy(dtype=float),
    }
    for flag in ("has_company_email", "has_inn", "has_company", "is_individual", "is_joint_stock",
                 "has_phone", "has_region"):  # fmt: skip
        f[flag] = leads[flag].fillna(False).to_numpy(dtype=float)

    # the client behind the lead: already a customer?
    inv = frames.invoices
    client = leads["client"].to_numpy()
    ci = _Counter(
        pd.Index(np.arange(len(frames.client_ids))),
        inv["client"].to_numpy(),
        pd.Index(np.arange(len(frames.client_ids))),
    )
    invoiced = ci.sum() > 0
    revenue = ci.sum(inv["day"].to_numpy() >= t - 365, inv["amount_rub"].to_numpy())
    f["client_invoiced"] = np.where(client >= 0, invoiced[np.maximum(client, 0)], False).astype(float)
    f["client_revenue_365d_rub"] = np.where(client >= 0, revenue[np.maximum(client, 0)], 0.0)

    # touches logged on the lead: campaigns, calls, e-mails, meetings
    it = frames.interactions
    it = it[it["lead"].to_numpy() >= 0]
    c = _Counter.leads(index, it, frames)
    is_campaign = it["is_campaign"].to_numpy(dtype=bool)
    level = it["response_level"].to_numpy(dtype=float)
    channel = it["channel"].to_numpy()
    direct = ~is_campaign & np.isin(channel, ["call", "email", "meeting", "event"])
    secs = it["duration_seconds"].to_numpy(dtype=float)
    calls = direct & (channel == "call")
    f["campaign_touches"] = c.sum(is_campaign)
    f["campaign_best_response"] = np.nan_to_num(c.extreme(level, is_campaign, "max"), nan=-1.0)
    f["activities"] = c.sum(direct)
    f["inbound_activities"] = c.sum(direct & it["is_inbound"].to_numpy(dtype=bool))
    f["reached_calls"] = c.sum(calls & (np.nan_to_num(secs) >= REACHED_CALL_SECONDS))
    f["max_call_seconds"] = np.nan_to_num(c.extreme(secs, calls, "max"))
    f["meetings"] = c.sum(direct & (channel == "meeting"))

    # web: the lead's own events and everything its visitor did
    web = frames.web
    own = web["lead"].to_numpy()
    cw = _Counter(index, np.where(own >= 0, own, web["visitor_lead"].to_numpy()), frames.lead_ids)
    kind = web["event_type"].to_numpy()
    f["web_page_views"] = cw.sum(kind == "page_view")
    f["web_product_page_views"] = cw.sum((kind == "page_view") & web["is_product_page"].to_numpy(dtype=bool))
    f["web_forms"] = cw.sum(kind == "form_submit")
    f["web_chats"] = cw.sum(kind == "chat_start")

    # the lead's deal as it stood on the day
    dl = frames.deals
    dl = dl[dl["lead"].to_numpy() >= 0].drop_duplicates("lead_id", keep="last").set_index("lead_id")
    stage = np.where(dl["negotiation_day"].notna(), 3, np.where(dl["proposal_day"].notna(), 2, 1)).astype(
        float
    )
    f["deal_stage"] = pd.Series(stage, index=dl.index).reindex(index).fillna(0.0).to_numpy()
    f["deal_amount_rub"] = dl["amount_rub"].reindex(index).to_numpy(dtype=float)
    f["deal_age_days"] = (t - dl["day"]).reindex(index).to_numpy(dtype=float)
    for k, v in f.items():
        out[_f(k)] = v
    return out
