"""crm-warehouse: an open analytics warehouse for client relationships."""

__version__ = "0.1.0"
