"""Rendering a management report: sections from the published warehouse into one
self-contained HTML file and a PDF of it, under CRMW_HOME/reports/<period>/."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from reports.model import Context, Section
from reports.periods import Kind, Period, latest_complete, parse_period
from reports.source import Source
from warehouse.errors import NoData
from warehouse.publish import connect_published
from warehouse.settings import Settings

log = logging.getLogger(__name__)

HTML_NAME = "report.html"
PDF_NAME = "report.pdf"


def report_dir(settings: Settings, period: Period) -> Path:
    return settings.reports_dir / period.key


def build_sections(
    source: Source, period: Period, generated_at: datetime | None = None
) -> tuple[Context, list[Section]]:
    """Every section for `period`, in reading order (sections whose tables are missing
    say so instead of failing)."""
    from reports.sections import SECTIONS

    ctx = Context(
        source=source,
        period=period,
        as_of=source.last_data_day(),
        generated_at=generated_at or datetime.now(UTC).replace(tzinfo=None),
    )
    sections = []
    for build in SECTIONS:
        section = build(ctx)
        log.debug(
            "section %s: %s in %.2fs",
            section.key,
            "ok" if section.available else "unavailable",
            section.seconds,
        )
        sections.append(section)
    return ctx, sections


def report_title(period: Period) -> str:
    return f"{'Monthly' if period.kind == 'monthly' else 'Weekly'} management report · {period.label}"


def banners(ctx: Context) -> list[str]:
    from reports.model_runs import MODEL_TITLES, latest_runs

    out = []
    if ctx.as_of is None:
        out.append("The published warehouse holds no dated data yet.")
    elif ctx.as_of < ctx.period.start:
        out.append(f"The warehouse has no data for this period yet: it runs to {ctx.as_of:%d %b %Y}.")
    elif ctx.as_of < ctx.period.last_day:
        out.append(
            f"This period is not complete: the warehouse has data to {ctx.as_of:%d %b %Y}, so its figures "
            "will still change."
        )
    runs = latest_runs(ctx.source, ctx.period.end)
    not_trained = runs[runs["status"] != "trained"]
    if len(not_trained):
        what = ", ".join(
            f"{MODEL_TITLES.get(r.model_name, r.model_name).lower()} "
            f"{'scored by its baseline' if r.status == 'baseline' else 'not made'}"
            for r in not_trained.itertuples()
        )
        out.append(f"The data cannot support every model: {what} (see 'Models behind this report').")
    return out


def render_html_text(
    ctx: Context, sections: list[Section], published_name: str = "published.duckdb", medium: str = "screen"
) -> str:
    from reports.template import render_html

    headlines = [(s, m) for s in sections if s.available for m in s.metrics if m.headline]
    return render_html(
        medium=medium,
        title=report_title(ctx.period),
        period=ctx.period,
        previous=ctx.previous,
        year_ago=ctx.year_ago,
        as_of=ctx.as_of,
        generated_at=ctx.generated_at,
        banners=banners(ctx),
        headlines=headlines,
        sections=sections,
        published_name=published_name,
    )


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def render_report(
    settings: Settings,
    period: str | Period,
    kind: Kind | None = None,
    *,
    pdf: bool = True,
) -> dict:
    """Render the monthly ("2025-03") or weekly ("2025-W12") report for `period` from the
    published warehouse into CRMW_HOME/reports/<period>/report.html and report.pdf.

    `kind` defaults to what the period text says. With pdf=False only the HTML is written.
    Returns {"period", "kind", "html", "pdf", "pdf_pages", "sections": {key: "ok" or the
    reason it is not available yet}, "seconds"}, and "pdf_skipped" (how to get the PDF)
    when the PDF engine is not installed. Raises FileNotFoundError when nothing is
    published yet, PeriodError for a malformed period, PdfRenderError when the PDF
    cannot be laid out.
    """
    started = time.perf_counter()
    period = period if isinstance(period, Period) else parse_period(period, kind)
    if kind is not None and period.kind != kind:
        period = parse_period(period.key if period.kind == kind else period.start.isoformat(), kind)
    con = connect_published(settings.published_path)
    try:
        ctx, sections = build_sections(Source.open(con), period)
        html = render_html_text(ctx, sections, settings.published_path.name)
        print_html = (
            render_html_text(ctx, sections, settings.published_path.name, medium="pdf") if pdf else ""
        )
    finally:
        con.close()

    out_dir = report_dir(settings, period)
    out_dir.mkdir(parents=True, exist_ok=True)
    html_path = out_dir / HTML_NAME
    _write_atomic(html_path, html)
    result = {
        "period": period.key,
        "kind": period.kind,
        "html": html_path,
        "pdf": None,
        "pdf_pages": None,
        "sections": {s.key: "ok" if s.available else s.unavailable for s in sections},
        "section_seconds": {s.key: round(s.seconds, 3) for s in sections},
    }
    if pdf:
        from reports.pdf import PdfEngineMissing, html_to_pdf

        pdf_path = out_dir / PDF_NAME
        try:
            result["pdf_pages"] = html_to_pdf(print_html, pdf_path)
            result["pdf"] = pdf_path
        except PdfEngineMissing as exc:  # the HTML is the report; the PDF is a convenience
            log.warning("report %s: only the HTML was written (%s)", period.key, exc)
            result["pdf_skipped"] = str(exc)
    result["seconds"] = round(time.perf_counter() - started, 2)
    log.info(
        "report %s: %d of %d sections available, written to %s in %.1fs",
        period.key,
        sum(s.available for s in sections),
        len(sections),
        out_dir,
        result["seconds"],
    )
    return result


def latest_complete_period(settings: Settings, kind: Kind = "monthly") -> Period:
    """The latest month (or ISO week) the published warehouse covers to its last day."""
    con = connect_published(settings.published_path)
    try:
        last = Source.open(con).last_data_day()
    finally:
        con.close()
    if last is None:
        raise NoData(f"{settings.published_path} has no dated data to report on; run the pipeline first")
    return latest_complete(last, kind)


def render_latest(settings: Settings, kind: Kind = "monthly", *, pdf: bool = True) -> dict:
    """Render the report for the latest complete month (or week); what the benchmark times."""
    return render_report(settings, latest_complete_period(settings, kind), kind, pdf=pdf)
