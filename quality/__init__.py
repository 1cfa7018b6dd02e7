"""Data quality: Great Expectations suites as code, reconciliation across layers, drift
between loads, results kept with time in meta.dq_results, Data Docs, and a status line.

    from quality import run_quality, status_line
    report = run_quality(settings)          # every suite, results recorded, Data Docs built
    report.blocking_failures                # the suites that must stop a publish
    status_line(con)                        # "Data quality (checked ...): all 187 checks passed."

The suites are in raw_suites.py (generated from ingest/contracts.py), mart_suites.py
(generated from the marts' dbt YAML), reconciliation.py and drift.py; docs/data_quality.md
says what each checks and how to add one. Importing this package does not import Great
Expectations: `status_line` runs on the published copy with SQL only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from quality.results import ensure_results_tables, format_status, latest_suite_runs, status_line

if TYPE_CHECKING:
    from quality.pipeline import QualityReport, run_quality
    from quality.runner import SuiteResult, run_suites
    from quality.suite import Suite

__all__ = [
    "QualityReport",
    "Suite",
    "SuiteResult",
    "all_suites",
    "build_data_docs",
    "ensure_results_tables",
    "format_status",
    "latest_suite_runs",
    "run_quality",
    "run_suites",
    "status_line",
]

_LAZY = {
    "QualityReport": "quality.pipeline",
    "run_quality": "quality.pipeline",
    "SuiteResult": "quality.runner",
    "run_suites": "quality.runner",
    "Suite": "quality.suite",
    "all_suites": "quality.catalogue",
    "build_data_docs": "quality.data_docs",
}


def __getattr__(name: str):
    # Great Expectations takes seconds to import: load it only when a suite is run.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'quality' has no attribute {name!r}")
