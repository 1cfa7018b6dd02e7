"""Small pieces several sections share."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from reports.formatting import client_label
from reports.periods import Period
from reports.source import Source

TOP_N = 10


def window(period: Period) -> dict:
    """Query parameters for one period: start (inclusive), end (exclusive), last day."""
    return {"start": period.start, "end": period.end, "last": period.last_day}


def trailing_12m(period: Period) -> dict:
    """The 365 days up to and including the period's last day (as the marts count '12m')."""
    return {"from": period.last_day - timedelta(days=365), "last": period.last_day}


def label_clients(frame: pd.DataFrame, name: str = "client_name", inn: str = "primary_inn") -> pd.Series:
    """Company names for display; sole proprietors (a person's name) by client id."""
    return pd.Series(
        [client_label(row.get(name), row.get("client_id"), row.get(inn)) for row in frame.to_dict("records")],
        index=frame.index,
        dtype="object",
    )


def owner_at(day_param: str = "last") -> str:
    """SQL: the client's owner on a day (dim_client_owner_history), as a subquery to join on client_id."""
    return f"""(
        select client_id, owner_manager_id
        from marts.dim_client_owner_history
        where valid_from <= ${day_param} and (valid_to is null or valid_to > ${day_param})
        qualify row_number() over (partition by client_id order by valid_from desc) = 1
    )"""


def with_client_info(ctx, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (a client_id column) with each client's name, INN and owner on the period's last day
    (from the owner history when published, else the current owner), and a display `label`."""
    frame = frame.copy()
    if not frame.empty and ctx.source.has("marts.dim_clients"):
        owner_sql = owner_at() if ctx.source.has("marts.dim_client_owner_history") else None
        info = ctx.source.df(
            f"""
            select c.client_id, c.client_name, c.primary_inn,
                   {"o.owner_manager_id" if owner_sql else "c.owner_manager_id"} as owner_manager_id
            from marts.dim_clients as c
            {f"left join {owner_sql} as o on o.client_id = c.client_id" if owner_sql else ""}
            where c.client_id in (select unnest($ids))
            """,
            {"ids": frame["client_id"].tolist(), **({"last": ctx.period.last_day} if owner_sql else {})},
        )
        frame = frame.merge(info, on="client_id", how="left")
    frame["label"] = label_clients(frame) if not frame.empty else []
    return frame


def client_table(title: str, frame: pd.DataFrame, figures: dict, empty_text: str):
    """A table of clients (label and owner first, then `figures`: column title -> (field, formatter))."""
    from reports.model import Table

    return Table(
        title=title,
        columns=["Client", "Owner", *figures],
        rows=[
            [
                r["label"],
                r.get("owner_manager_id") or "–",
                *(fmt(r[field]) for field, fmt in figures.values()),
            ]
            for r in frame.to_dict("records")
        ],
        align=["l", "l", *("r" for _ in figures)],
        empty_text=empty_text,
        clip={0: "42%"},
    )


def shorten(text: str, width: int = 38) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def has_net_revenue(source: Source) -> bool:
    """fct_invoices carries net revenue (a warehouse built since credit notes were published)."""
    return source.has("marts.fct_invoices") and "net_revenue_rub" in source.columns("marts.fct_invoices")


def revenue_lines_sql(source: Source) -> str:
    """SQL: one row per invoice with its net revenue in roubles (fct_invoices.net_revenue_rub: before VAT,
    less the pre-VAT part of its credit notes), its cost of sales and gross margin when published:
    invoice_id, client_id, invoice_date, net_revenue_rub, cost_of_sales_rub, gross_margin_rub. A published
    copy from before net revenue existed gives the amount before VAT (gross) and no cost."""
    if has_net_revenue(source):
        return """(
            select invoice_id, client_id, invoice_date, cast(net_revenue_rub as double) as net_revenue_rub,
                cast(cost_of_sales_rub as double) as cost_of_sales_rub,
                cast(gross_margin_rub as double) as gross_margin_rub
            from marts.fct_invoices
        )"""
    return """(
        select invoice_id, client_id, invoice_date, cast(amount_rub as double) as net_revenue_rub,
            cast(null as double) as cost_of_sales_rub, cast(null as double) as gross_margin_rub
        from marts.fct_invoices
    )"""


def revenue_note(source: Source) -> str:
    if has_net_revenue(source):
        return "Revenue is net: invoiced before VAT, less credit notes, in roubles, by invoice date."
    return (
        "Revenue is invoiced before VAT, in roubles, by invoice date (gross: this published copy predates "
        "net revenue in fct_invoices, so credit notes are not deducted)."
    )
