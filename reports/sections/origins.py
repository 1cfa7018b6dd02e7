"""Where clients come from: first-touch origin of leads and clients, and the partner chains.

By first-touch origin (mart_lead_origin, the whole history to the warehouse's as-of date): how leads
convert, how long they take to a first won deal, and what the clients won this way earned in their first
year; prepared leads against cold calls, in money. Then the partners whose end users bring the most
(mart_partner_performance): their chain, end users, what those earn and the problems they have open.
"""

from __future__ import annotations

import pandas as pd

from reports import charts
from reports.formatting import fmt_days, fmt_int, fmt_pct, fmt_rub
from reports.model import Context, Metric, Section, Table, report_section

ORIGINS_SQL = "select * from marts.mart_lead_origin order by leads desc, first_touch_origin"
PARTNERS_SQL = """
select partner_id, partner_tier, partner_chain, end_users, direct_end_users, end_users_revenue_12m_rub,
    end_users_gross_margin_12m_rub, open_tickets_raised_by_chain, end_users_blocked, commission_cost_rub
from marts.mart_partner_performance
where end_users > 0
order by end_users_revenue_12m_rub desc, partner_id
limit 8
"""
ORIGIN_WORDS = {
    "cold_call": "cold call",
    "inbound_call": "inbound call",
    "web_form": "web form",
    "ad_click": "ad click",
    "chat": "chat",
    "event": "event or webinar",
    "partner_referral": "partner referral",
    "client_referral": "client referral",
    "email_campaign": "e-mail campaign",
    "unknown": "before any recorded touch",
}


@report_section("origins", "Where clients come from: lead origin and partners")
def origins(ctx: Context, section: Section) -> None:
    ctx.source.require("marts.mart_lead_origin", "marts.mart_partner_performance")
    frame = ctx.source.df(ORIGINS_SQL)
    frame = frame[frame["leads"] > 0].reset_index(drop=True)
    partners = ctx.source.df(PARTNERS_SQL)
    leads = int(frame["leads"].sum())
    won = int(frame["leads_won"].sum())
    cold = frame[frame["first_touch_origin"] == "cold_call"]
    prepared = frame[~frame["first_touch_origin"].isin(["cold_call", "unknown"])]
    cold_rate = float(cold["leads_won"].sum()) / float(cold["leads"].sum()) if cold["leads"].sum() else None
    prepared_rate = (
        float(prepared["leads_won"].sum()) / float(prepared["leads"].sum())
        if prepared["leads"].sum()
        else None
    )
    section.metrics = [
        Metric("Leads on record", leads, better=None),
        Metric("Won", won / leads if leads else None, unit="pct", note="share of leads with a won deal"),
        Metric("Cold calls won", cold_rate, unit="pct", better=None),
        Metric("Prepared leads won", prepared_rate, unit="pct", better=None, note="every other origin"),
        Metric(
            "Partners with end users",
            ctx.source.one("select count(*) from marts.mart_partner_performance where end_users > 0"),
            better=None,
        ),
    ]
    if len(frame):
        section.chart_title = "Leads won, and first-year gross margin per client won, by origin"
        section.chart_svg = _chart(frame)
    section.tables.append(_origins_table(frame))
    section.tables.append(_partners_table(partners))
    best = frame.dropna(subset=["avg_first_year_gross_margin_rub"]).sort_values(
        "avg_first_year_gross_margin_rub", ascending=False
    )
    section.summary = (
        f"{fmt_int(leads)} leads on record, {fmt_pct(won / leads if leads else None)} of them won. "
        + (
            f"Cold calls win {fmt_pct(cold_rate)} of their leads, prepared leads {fmt_pct(prepared_rate)}. "
            if cold_rate is not None and prepared_rate is not None
            else ""
        )
        + (
            f"Clients first reached by {ORIGIN_WORDS.get(best.iloc[0]['first_touch_origin'], best.iloc[0]['first_touch_origin'])} "
            f"earned the most in their first year ({fmt_rub(best.iloc[0]['avg_first_year_gross_margin_rub'])} gross margin "
            "each)."
            if len(best)
            else "No client won from a lead has a full first year yet."
        )
    )
    section.notes.append(
        "First-touch origin: the earliest of a lead's creation (the channel the CRM recorded) and an ad click, "
        "chat or form of its web visitor before it; a client's is its first lead's, or a partner's deal before "
        "any lead. Counts cover the whole history to the warehouse's date; first-year margin counts clients "
        "whose first invoice is a full year old. Partners: end users are clients that won a deal through the "
        "partner or one below it in its chain; revenue and margin are those clients' whole 12 months."
    )


def _origins_table(frame: pd.DataFrame) -> Table:
    return Table(
        title="Leads and the clients they brought, by first-touch origin",
        columns=[
            "Origin",
            "Leads",
            "Won",
            "Days to first deal",
            "Clients won",
            "First-year margin per client",
        ],
        rows=[
            [
                ORIGIN_WORDS.get(r["first_touch_origin"], r["first_touch_origin"]),
                fmt_int(r["leads"]),
                fmt_pct(r["lead_to_won_rate"]),
                fmt_days(r["avg_days_to_first_won_deal"]),
                fmt_int(r["clients_won"]),
                fmt_rub(r["avg_first_year_gross_margin_rub"]),
            ]
            for r in frame.to_dict("records")
        ],
        align=["l", "r", "r", "r", "r", "r"],
        empty_text="no leads on record",
    )


def _partners_table(partners: pd.DataFrame) -> Table:
    return Table(
        title="Partners whose end users bring the most (12 months)",
        columns=[
            "Partner chain",
            "Tier",
            "End users",
            "Their revenue",
            "Their gross margin",
            "Open tickets raised",
            "Blocked",
        ],  # fmt: skip
        rows=[
            [
                r["partner_chain"],
                r["partner_tier"] or "–",
                f"{fmt_int(r['end_users'])} ({fmt_int(r['direct_end_users'])} direct)",
                fmt_rub(r["end_users_revenue_12m_rub"]),
                fmt_rub(r["end_users_gross_margin_12m_rub"]),
                fmt_int(r["open_tickets_raised_by_chain"]),
                fmt_int(r["end_users_blocked"]),
            ]
            for r in partners.to_dict("records")
        ],
        align=["l", "l", "r", "r", "r", "r", "r"],
        clip={0: "30%"},
        empty_text="no partner has end users",
    )


@charts.styled
def _chart(frame: pd.DataFrame) -> str:
    fig, (left, right) = charts.new_figure((9.2, 3.0), ncols=2)
    labels = [ORIGIN_WORDS.get(o, o) for o in frame["first_touch_origin"]]
    y = list(range(len(frame)))
    left.barh(y, frame["lead_to_won_rate"].fillna(0).astype(float), color=charts.COLORS["actual"])
    left.set_yticks(y, labels)
    left.invert_yaxis()
    charts.pct_axis(left, "x")
    left.set_title("Share of leads won")
    right.barh(
        y, frame["avg_first_year_gross_margin_rub"].fillna(0).astype(float), color=charts.COLORS["previous"]
    )
    right.set_yticks(y, [""] * len(y))
    right.invert_yaxis()
    charts.rub_axis(right, "x")
    right.set_title("First-year gross margin per client won")
    return charts.to_svg(fig, title="Lead origin")
