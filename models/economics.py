"""What each client earned in the 12 months before a date, as the marts count it: net revenue (before
VAT, less the pre-VAT part of the credit notes known by then) and gross margin (less cost of sales).

On the warehouse's as-of date these are mart_client_profitability's net_revenue_12m_rub and
gross_margin_12m_rub (and mart_client_360's revenue_12m_rub): the window is the 365 days before the
run's date, the day after the marts' as-of date. Computed from the frames cut at the date, so a
credit note issued later does not reach back.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from models.data import Frames, day_number

DAYS_12M = 365


def client_economics(frames: Frames, t: date) -> pd.DataFrame:
    """net_revenue_12m_rub and gross_margin_12m_rub per client invoiced in the 365 days before `t`
    (`frames` cut at `t`), indexed by client_id."""
    if frames.as_of is not None and frames.as_of != t:
        raise ValueError(f"client_economics needs the frames cut at {t}, got a cut at {frames.as_of}")
    inv, notes = frames.invoices, frames.credit_notes
    known = (notes["invoice_row"].to_numpy() >= 0) & (notes["invoice_row"].to_numpy() < len(inv))
    credited = np.bincount(
        notes["invoice_row"].to_numpy()[known],
        weights=notes["amount_rub"].to_numpy(dtype=float)[known],
        minlength=len(inv),
    )
    amount = inv["amount_rub"].to_numpy(dtype=float)
    with_vat = inv["amount_with_vat_rub"].to_numpy(dtype=float)
    # credit notes carry VAT: the pre-VAT part comes off revenue (int_invoices__aged.net_revenue_rub)
    net = np.where(with_vat != 0, amount - credited * amount / np.where(with_vat != 0, with_vat, 1.0), 0.0)
    cost = (
        np.nan_to_num(inv["cost_of_sales_rub"].to_numpy(dtype=float)) if "cost_of_sales_rub" in inv else 0.0
    )
    recent = (inv["day"].to_numpy() >= day_number(t) - DAYS_12M) & inv["client_id"].notna().to_numpy()
    frame = pd.DataFrame(
        {
            "client_id": inv["client_id"].to_numpy()[recent],
            "net_revenue_12m_rub": np.round(net, 2)[recent],
            "gross_margin_12m_rub": np.round(net - cost, 2)[recent],
        }
    )
    return frame.groupby("client_id").sum()
