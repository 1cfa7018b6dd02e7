"""The report's sections, in reading order. Each is a function Context -> Section."""

from __future__ import annotations

from reports.sections.campaigns import campaign_lift
from reports.sections.churn import churn_watchlist
from reports.sections.clients import top_clients
from reports.sections.data_health import data_health
from reports.sections.key_person import key_person_risk
from reports.sections.models import models
from reports.sections.origins import origins
from reports.sections.pipeline import pipeline
from reports.sections.profitability import profitability
from reports.sections.receivables import receivables
from reports.sections.revenue import revenue
from reports.sections.support import support_backlog

SECTIONS = (
    revenue,
    pipeline,
    top_clients,
    profitability,
    churn_watchlist,
    campaign_lift,
    origins,
    receivables,
    support_backlog,
    key_person_risk,
    data_health,
    models,
)

__all__ = ["SECTIONS"]
