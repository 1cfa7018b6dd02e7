"""Next best action: one action per client, with its reason.

Rules, in order (the first that applies wins):
1. the offer block (models/rules.py, the one rule the marts publish too) by an open high or critical
   ticket -> resolve_ticket;
2. the offer block by money overdue long enough and large enough -> collect_payment;
3. high churn risk -> retention_call (not a sales offer: a call about the relationship);
4. a product line that similar clients buy and this client does not -> upsell (a sales offer);
5. a prospect with a hot lead -> follow_up_lead (a sales offer);
6. otherwise none.
Rules 1 and 2 come before any offer, so a blocked client never gets a sales offer;
`is_sales_offer_blocked` says so for every client (the same flag as mart_client_360's on the same
day), and `check_never_offer_when_blocked` enforces it on the rows before they are written. The block
is evaluated at the end of the day before the run's date, from the marts, with the thresholds of the
seed business_rules.

"Similar clients" are the nearest neighbours (cosine, a sklearn Pipeline: scaling and
NearestNeighbors) in product-line mix and size among clients invoiced in the last year.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from models import labels, rules
from models.context import RunContext
from models.data import day_number
from models.features import SUFFIX

MODEL_NAME = "next_best_actions"
NEIGHBOURS = 25
MIN_UPSELL_SHARE = 0.3  # of similar clients buying the line
HOT_LEAD = 0.4
SALES_OFFERS = frozenset({"upsell", "follow_up_lead"})
BLOCK_COLUMNS = ["blocking_tickets", "blocking_overdue_amount_rub", "blocking_max_days_past_due"]


class SalesOfferToBlockedClient(AssertionError):
    """A blocked client (urgent ticket or overdue payment) got a sales offer: the rules are broken."""


def product_mix(ctx: RunContext) -> pd.DataFrame:
    """Share of each product line in each client's revenue over the year before the run's date."""
    inv = ctx.frames.invoices
    recent = inv[inv["day"].to_numpy() >= day_number(ctx.as_of) - 365]
    table = recent.pivot_table(index="client_id", columns="product_line", values="amount_rub", aggfunc="sum")
    table = table.fillna(0.0)
    return table.div(table.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)


def upsell_candidates(ctx: RunContext) -> pd.DataFrame:
    """For each client: the line it does not buy that most of its nearest neighbours buy."""
    mix = product_mix(ctx)
    if len(mix) <= 2 or mix.shape[1] < 2:
        return pd.DataFrame(columns=["product_line", "neighbour_share", "lines_bought"])
    size = np.log1p(
        ctx.client_features(ctx.as_of)["revenue_365d_rub" + SUFFIX].reindex(mix.index).fillna(0.0)
    )
    X = mix.assign(size=size.to_numpy())
    k = min(NEIGHBOURS + 1, len(X))
    pipe = Pipeline([("scale", StandardScaler()), ("knn", NearestNeighbors(n_neighbors=k, metric="cosine"))])
    pipe.fit(X)
    _, idx = pipe[-1].kneighbors(pipe[:-1].transform(X))
    buys = (mix.to_numpy() > 0).astype(float)
    share = buys[idx[:, 1:]].mean(axis=1)  # neighbours, not the client itself
    share[buys > 0] = 0.0
    best = share.argmax(axis=1)
    lines = np.asarray(mix.columns)
    return pd.DataFrame(
        {
            "product_line": lines[best],
            "neighbour_share": share[np.arange(len(X)), best],
            "lines_bought": [", ".join(lines[row > 0]) for row in buys],
        },
        index=mix.index,
    )


def decide(
    X: pd.DataFrame,
    churn: pd.DataFrame,
    upsell: pd.DataFrame,
    leads: pd.DataFrame,
    prospects: pd.Index,
    blocks: pd.DataFrame,
) -> pd.DataFrame:
    """Apply the rules to every client: customers (X, features as of the run) and prospects. `blocks`:
    the offer block of every client it holds (rules.offer_blocks), indexed by client_id."""
    clients = X.index.union(prospects)
    X = X.reindex(clients)
    blocks = blocks.reindex(clients)
    reason_of = {
        c: r if isinstance(r, str) else None for c, r in blocks["sales_offer_blocked_reason"].items()
    }
    figures = {c: blocks[c].fillna(0.0).to_dict() for c in BLOCK_COLUMNS}
    critical = X.get("open_critical_tickets" + SUFFIX, pd.Series(0.0, index=clients)).fillna(0.0).to_dict()
    churn = churn.set_index("client_id").reindex(clients) if len(churn) else pd.DataFrame(index=clients)
    band_of = churn["risk_band"].to_dict() if "risk_band" in churn else {}
    p_of = churn["churn_probability"].to_dict() if "churn_probability" in churn else {}
    drivers_of = churn["drivers"].to_dict() if "drivers" in churn else {}
    if len(leads) and "win_probability" in leads:
        hot = leads[(leads["subject_type"] == "lead") & leads["client_id"].notna()]
        hot = (
            hot.sort_values("win_probability", ascending=False)
            .drop_duplicates("client_id")
            .set_index("client_id")
        )
    else:
        hot = pd.DataFrame(columns=["lead_id", "win_probability", "reasons"])

    rows = []
    for c in clients:
        blocked = reason_of[c]
        band, p = band_of.get(c), p_of.get(c, np.nan)
        action, line = "none", None
        if blocked in (rules.BLOCK_TICKET, rules.BLOCK_BOTH):
            action = "resolve_ticket"
            tickets = figures["blocking_tickets"][c]
            reason = f"{tickets:.0f} open ticket(s) of high or critical priority"
            if critical[c] > 0:
                reason += f", {critical[c]:.0f} critical"
        elif blocked == rules.BLOCK_OVERDUE:
            action = "collect_payment"
            reason = (
                f"{figures['blocking_overdue_amount_rub'][c]:,.0f} RUB overdue, the oldest for "
                f"{figures['blocking_max_days_past_due'][c]:.0f} days"
            )
        elif band == "high":
            action = "retention_call"
            reason = f"churn risk {p:.0%}: {drivers_of.get(c)}"
        elif c in upsell.index and upsell.at[c, "neighbour_share"] >= MIN_UPSELL_SHARE:
            action, line = "upsell", upsell.at[c, "product_line"]
            reason = (
                f"{upsell.at[c, 'neighbour_share']:.0%} of similar clients buy {line}; "
                f"this client buys {upsell.at[c, 'lines_bought'] or 'nothing yet'}"
            )
        elif c in prospects and c in hot.index and hot.at[c, "win_probability"] >= HOT_LEAD:
            action = "follow_up_lead"
            reason = (
                f"lead {hot.at[c, 'lead_id']} at {hot.at[c, 'win_probability']:.0%}: {hot.at[c, 'reasons']}"
            )
        else:
            reason = "no open issue, no high risk and nothing similar clients buy more of"
        rows.append((c, action, action in SALES_OFFERS, line, reason, blocked is not None, blocked, p))
    out = pd.DataFrame(
        rows,
        columns=[
            "client_id",
            "action",
            "is_sales_offer",
            "product_line",
            "reason",
            "is_sales_offer_blocked",
            "blocked_reason",
            "churn_probability",
        ],
    )
    check_never_offer_when_blocked(out)
    return out


def check_never_offer_when_blocked(actions: pd.DataFrame) -> None:
    bad = actions[actions["is_sales_offer_blocked"] & actions["is_sales_offer"]]
    if len(bad):
        raise SalesOfferToBlockedClient(
            f"{len(bad)} blocked client(s) got a sales offer, e.g. {bad.iloc[0].to_dict()}"
        )


def prospects(ctx: RunContext) -> pd.Index:
    """Clients seen in the CRM or on the web before the run's date and never invoiced."""
    return labels.prospects(ctx.frames)


def offer_blocks(ctx: RunContext) -> pd.DataFrame:
    """The offer block of every client at the end of the day before the run's date (rules.offer_blocks)."""

    def query(sql: str, params: dict) -> pd.DataFrame:
        return ctx.con.execute(sql, params).df()

    day = ctx.as_of - timedelta(days=1)
    return rules.offer_blocks(query, day, rules.load_rules(query), rules.credit_notes_sql(query))


def score(ctx: RunContext, churn_scores: pd.DataFrame, lead_scores: pd.DataFrame) -> pd.DataFrame:
    """Rows of ml.next_best_actions as of the run's date."""
    X = ctx.client_features(ctx.as_of)
    out = decide(X, churn_scores, upsell_candidates(ctx), lead_scores, prospects(ctx), offer_blocks(ctx))
    out.insert(0, "as_of_date", ctx.as_of)
    # the churn horizon the risk bands mean (shorter than asked when the history is short)
    out["horizon_days"] = (
        int(churn_scores["horizon_days"].iloc[0]) if len(churn_scores) else ctx.churn_horizon_days
    )
    return out.sort_values("client_id").reset_index(drop=True)
