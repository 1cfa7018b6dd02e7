"""Management reports: one self-contained HTML file and a PDF of it per period, read
from the published warehouse.

    from reports import render_report, render_latest
    render_report(settings, "2025-03")            # monthly -> reports/2025-03/
    render_report(settings, "2025-W12")           # weekly  -> reports/2025-W12/
    render_latest(settings)                       # the latest complete month

See docs/reports.md for what each section says.
"""

from reports.pdf import PdfEngineMissing, PdfRenderError
from reports.periods import Period, PeriodError, latest_complete, parse_period
from reports.render import NoData, latest_complete_period, render_latest, render_report

__all__ = [
    "NoData",
    "Period",
    "PdfEngineMissing",
    "PdfRenderError",
    "PeriodError",
    "latest_complete",
    "latest_complete_period",
    "parse_period",
    "render_latest",
    "render_report",
]
