"""The report's sections, in reading order. Each is a function Context -> Section."""

from __future__ import annotations

from crmw.reports.sections.campaigns import campaign_roi
from crmw.reports.sections.churn import churn_watchlist
from crmw.reports.sections.clients import top_clients
from crmw.reports.sections.data_health import data_health
from crmw.reports.sections.key_person import key_person_risk
from crmw.reports.sections.pipeline import pipeline
from crmw.reports.sections.receivables import receivables
from crmw.reports.sections.revenue import revenue
from crmw.reports.sections.support import support_backlog

SECTIONS = (
    revenue,
    pipeline,
    top_clients,
    churn_watchlist,
    campaign_roi,
    receivables,
    support_backlog,
    key_person_risk,
    data_health,
)

__all__ = ["SECTIONS"]
