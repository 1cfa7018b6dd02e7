"""Vendor dialects: how Salesforce, Bitrix24 and GA4 exports map onto our contracts (data only)."""

from ingest.vendors.bitrix24 import BITRIX24
from ingest.vendors.ga4 import GA4
from ingest.vendors.salesforce import SALESFORCE

__all__ = ["BITRIX24", "GA4", "SALESFORCE"]
