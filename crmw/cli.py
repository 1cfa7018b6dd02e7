"""The `crmw` command: one entry point for people who do not want the Dagster UI."""

from __future__ import annotations

import logging
import sys
from datetime import date
from pathlib import Path

import click

from crmw.command import CrmwGroup, setup_logging
from crmw.params import DAY, MONTH, period_option
from ingest.contracts import CONTRACTS
from ingest.dialects import DIALECTS
from warehouse.settings import get_settings

log = logging.getLogger("crmw")
ENTITY = click.Choice(sorted(CONTRACTS))
ENTITY_HELP = "one of: " + ", ".join(sorted(CONTRACTS))


@click.group(cls=CrmwGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Show debug messages, library warnings and tracebacks.")
@click.version_option(package_name="crm-warehouse")
def cli(verbose: bool) -> None:
    """crm-warehouse: finance, CRM and web-channel exports in one DuckDB warehouse.

    Everything lives under CRMW_HOME (default: the project folder): landing/ for
    exports, warehouse/ for the DuckDB files, reports/ for reports.

    \b
    Typical use:
      crmw demo                       generate sample exports and run everything
      crmw generate --scale 0.01      write sample exports with ground truth
      crmw ingest landing/            load export files into the warehouse
      crmw quarantine                 show rejected rows and why
      crmw build                      dbt build: staging, client resolution, marts
      crmw models run --as-of 2026-07-01
      crmw report --period 2026-06    HTML and PDF management report
      crmw run                        the whole Dagster graph, in this process
      crmw backfill --from 2024-01 --to 2024-12
      crmw status                     runs, checks, freshness, quarantine
      crmw forget --email ADDRESS     erase a person everywhere (docs/privacy.md)
      crmw ui                         Dagster UI, schedules and sensors
      crmw docs                       dbt docs: every model and column
    """
    setup_logging(verbose, get_settings().home / "logs")


@cli.command()
@click.option(
    "--scale",
    type=click.FloatRange(min=0, min_open=True, max=100),
    default=0.01,
    show_default=True,
    help="1 is about 10,000 client groups, 1M CRM activities, 250k invoices, 5M web events.",
)
@click.option(
    "--seed", type=click.IntRange(min=0), default=42, show_default=True, help="Same seed, same bytes."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder to write to [default: CRMW_HOME/landing].",
)
@click.option(
    "--finance-dialect",
    type=click.Choice(["generic", "ru_accounting"]),
    default="generic",
    show_default=True,
    help="Format of the finance exports.",
)
@click.option(
    "--crm-dialect",
    type=click.Choice(["generic", "salesforce", "bitrix24"]),
    default="generic",
    show_default=True,
    help="Format of the CRM exports.",
)
@click.option(
    "--web-dialect",
    type=click.Choice(["generic", "ga4"]),
    default="generic",
    show_default=True,
    help="Format of the web-channel exports.",
)
@click.option(
    "--messiness",
    type=click.FloatRange(0, 1),
    default=0.01,
    show_default=True,
    help="Share of rows carrying a planted fault (duplicates, bad dates, ...).",
)
@click.option(
    "--end-date",
    type=DAY,
    default="2026-09-30",
    show_default=True,
    help="Last day of the generated history (3 years end here).",
)
def generate(
    scale: float,
    seed: int,
    out_dir: Path | None,
    finance_dialect: str,
    crm_dialect: str,
    web_dialect: str,
    messiness: float,
    end_date,
) -> None:
    """Write sample exports, plus OUT/ground_truth/ to judge later stages on."""
    from sample_exports import generate as run_generate

    out_dir = out_dir or get_settings().landing_dir
    summary = run_generate(
        out_dir=out_dir,
        scale=scale,
        seed=seed,
        finance_dialect=finance_dialect,
        crm_dialect=crm_dialect,
        web_dialect=web_dialect,
        messiness=messiness,
        end_date=end_date.date() if end_date else date(2026, 9, 30),
    )
    from crmw.console import console

    console.print(summary.describe(), markup=False, highlight=False)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--force", is_flag=True, help="Reload files whose content was loaded before.")
@click.option(
    "--dialect",
    type=click.Choice(sorted(DIALECTS)),
    default=None,
    help="Read every file in this dialect instead of detecting it.",
)
@click.option(
    "--entity",
    type=ENTITY,
    default=None,
    metavar="ENTITY",
    help=f"Read every file as this entity instead of detecting it ({ENTITY_HELP}).",
)
@click.option(
    "--snapshot-date",
    type=DAY,
    default=None,
    help="Date of snapshot files whose name carries none [default: today].",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Warehouse file [default: CRMW_HOME/warehouse/warehouse.duckdb].",
)
@click.option(
    "--lake",
    default=None,
    metavar="PATH|URL",
    help="Write raw and quarantine as Parquet under this lake instead "
    "[default: CRMW_LAKE, or CRMW_HOME/lake when CRMW_ENGINE=spark].",
)
def ingest(paths, force, dialect, entity, snapshot_date, db_path, lake) -> None:
    """Load export files (or folders of them) into the warehouse, or into a lake.

    Good rows go to raw.<entity>, rejected rows to quarantine.<entity> with every
    reason; a file whose content was loaded before is skipped. Exits 1 when any
    file was refused (the others still load).
    """
    from crmw.console import print_batch, progress_for
    from ingest.load import ingest_paths, iter_export_files

    settings = get_settings().ensure()
    lake = lake or (None if db_path else settings.lake_url)
    db_path = None if lake else (db_path or settings.warehouse_path)
    files = list(iter_export_files(paths))
    with progress_for(files) as advance:
        batch = ingest_paths(
            paths,
            db_path,
            lake=lake,
            landing=settings.landing_dir,
            force=force,
            dialect=dialect,
            entity=entity,
            snapshot_date=snapshot_date.date() if snapshot_date else None,
            progress=advance,
        )
    print_batch(batch)
    if not batch.ok:
        sys.exit(1)


@cli.command()
@click.option(
    "--entity", type=ENTITY, default=None, metavar="ENTITY", help=f"Only this entity ({ENTITY_HELP})."
)
@click.option("--file", "file_filter", default=None, help="Only files whose path contains this text.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Rows to show.")
@click.option(
    "--db",
    "db_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Warehouse file [default: CRMW_HOME/warehouse/warehouse.duckdb].",
)
def quarantine(entity, file_filter, limit, db_path) -> None:
    """Show what was rejected and why: counts by entity and reason, then sample rows."""
    from crmw.console import print_quarantine

    settings = get_settings()
    if db_path is None and settings.lake_url:
        db_path = settings.lake_url  # raw and quarantine live in the lake
    db_path = db_path or settings.warehouse_path
    if "://" not in str(db_path) and not Path(db_path).exists():
        raise click.ClickException(f"no warehouse or lake at {db_path}; run `crmw ingest` first")
    print_quarantine(db_path, entity=entity, file_filter=file_filter, limit=limit)


@cli.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--select", default=None, help="dbt selector, e.g. 'marts.finance+'.")
@click.option("--as-of", type=DAY, default=None, help="Build the warehouse as of this date.")
def build(full_refresh: bool, select: str | None, as_of) -> None:
    """Run `dbt build` (models and their tests) on the warehouse, without Dagster (on Spark: dbt up
    to the records, client resolution, dbt the rest)."""
    from crmw.command import stderr
    from crmw.console import console
    from crmw.progress import Working
    from resolution.runner import build_warehouse

    with Working(stderr(), "dbt build") as shown:
        result = build_warehouse(
            get_settings().ensure(),
            full_refresh=full_refresh,
            select=select,
            vars={"as_of_date": as_of.date().isoformat()} if as_of else None,
            on_node=shown.node,
        )
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts().items()))
    console.print(f"dbt build succeeded in {result.seconds:.1f}s: {counts}", markup=False)


@cli.group()
def models() -> None:
    """scikit-learn jobs: segments, churn risk, lead scores, sales forecast, next best action."""


@models.command("run")
@click.option(
    "--as-of",
    type=DAY,
    default=None,
    help="Score as of this date (features strictly before it) [default: the day after the data ends].",
)
@click.option("--churn-horizon-days", type=click.IntRange(min=1), default=180, show_default=True)
@click.option("--forecast-horizon-months", type=click.IntRange(1, 36), default=6, show_default=True)
@click.option("--no-backtest", is_flag=True, help="Skip the backtests (faster; metrics tables unchanged).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as JSON.")
def models_run(as_of, churn_horizon_days, forecast_horizon_months, no_backtest, as_json) -> None:
    """Train where needed, score, backtest; writes the ml.* tables of the warehouse.

    A model the data cannot support (a source missing, too short a history, too few clients) is
    skipped or scored by its baseline; the summary says which and why, as ml.model_runs does."""
    import json

    from crmw.command import stderr
    from crmw.console import print_model_summary
    from crmw.progress import Working
    from models.jobs import run_all
    from warehouse.dbt import build_warehouse

    settings = get_settings().ensure()
    with Working(stderr(), "models: segments, churn, leads, forecast, next best action"):
        summary = run_all(
            settings,
            as_of=as_of.date() if as_of else None,
            churn_horizon_days=churn_horizon_days,
            forecast_horizon_months=forecast_horizon_months,
            backtest=not no_backtest,
        )
        build_warehouse(settings, select="mart_client_scores")  # the scores joined back to clients
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
    else:
        print_model_summary(summary)


@cli.command()
@period_option
@click.option("--no-pdf", is_flag=True, help="Write only the HTML.")
def report(period, no_pdf: bool) -> None:
    """Render the management report from the published warehouse into CRMW_HOME/reports/<period>/."""
    from crmw.command import stderr
    from crmw.console import console
    from crmw.progress import Working
    from reports.render import render_latest, render_report

    settings = get_settings().ensure()
    with Working(stderr(), "report"):
        result = (
            render_latest(settings, pdf=not no_pdf)
            if period is None
            else render_report(settings, period, pdf=not no_pdf)
        )
    console.print(f"report {result['period']}:", markup=False)
    console.print(f"  html: {result['html']}", markup=False)
    if result.get("pdf"):
        console.print(f"  pdf:  {result['pdf']} ({result['pdf_pages']} pages)", markup=False)
    elif result.get("pdf_skipped"):
        console.print(f"  pdf:  not written: {result['pdf_skipped']}", markup=False)


@cli.command()
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.pass_context
def run(ctx, full_refresh: bool) -> None:
    """Run the whole graph in this process: ingest the landing folder, build, score, report, publish."""
    from crmw.command import stderr
    from crmw.orchestrate import run_everything
    from crmw.progress import RunProgress

    settings = get_settings().ensure()
    with RunProgress(stderr()) as shown:
        result = run_everything(
            settings, full_refresh=full_refresh, log_level=_dagster_level(ctx), on_event=shown.on_event
        )
    _finish(result)


@cli.command()
@click.option("--from", "start", type=MONTH, required=True, help="First month (YYYY-MM).")
@click.option("--to", "end", type=MONTH, required=True, help="Last month (YYYY-MM).")
@click.pass_context
def backfill(ctx, start: str, end: str) -> None:
    """Reload the months FROM..TO of period exports in one run and rebuild what depends on them."""
    from crmw.command import stderr
    from crmw.orchestrate import backfill as run_backfill
    from crmw.orchestrate import check_backfill_range
    from crmw.progress import RunProgress

    problem = check_backfill_range(start, end)
    if problem:
        raise click.BadParameter(problem, ctx=ctx, param_hint="'--from' / '--to'")
    settings = get_settings().ensure()
    with RunProgress(stderr()) as shown:
        result = run_backfill(settings, start, end, log_level=_dagster_level(ctx), on_event=shown.on_event)
    _finish(result)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
def ui(host: str, port: int) -> None:
    """Start Dagster: the UI, and the daemon that runs schedules, sensors, queued runs and backfills."""
    from crmw.orchestrate import serve

    sys.exit(serve(get_settings().ensure(), host=host, port=port, verbose=_verbose()))


@cli.command()
def status() -> None:
    """One health view: last run of each job, failed and warning checks, freshness, quarantine, published copy."""
    from crmw.console import print_status
    from crmw.orchestrate import status as get_status

    print_status(get_status(get_settings().ensure()))


@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--no-serve", is_flag=True, help="Only build the docs; print where they are.")
def docs(port: int, host: str, no_serve: bool) -> None:
    """Build the dbt docs (every model, column, test, exposure and metric) and serve them."""
    from crmw.command import stderr
    from crmw.console import console
    from crmw.docs import build_docs, serve_docs
    from crmw.progress import Working

    with Working(stderr(), "dbt docs generate"):
        site = build_docs(get_settings().ensure())
    console.print(f"dbt docs: {site / 'static_index.html'} (one file, opens offline)", markup=False)
    if not no_serve:
        serve_docs(site, host=host, port=port)


def _verbose() -> bool:
    return bool(click.get_current_context().find_root().params.get("verbose"))


def _dagster_level(ctx) -> str:
    return "DEBUG" if ctx.find_root().params.get("verbose") else "CRITICAL"


def _finish(result: dict) -> None:
    from crmw.console import console

    if result["success"]:
        console.print(f"run {result['run_id'][:8]} succeeded", markup=False)
        return
    raise click.ClickException(
        f"run {result['run_id'][:8]} failed at {', '.join(result['failed_steps']) or 'an unknown step'}; "
        f"`crmw ui` shows each step's log, {result['log']} the whole run"
    )


@cli.command()
@click.option("--email", "emails", multiple=True, metavar="ADDRESS", help="The person's e-mail.")
@click.option("--phone", "phones", multiple=True, metavar="NUMBER", help="The person's phone.")
@click.option("--contact-id", "contact_ids", multiple=True, metavar="ID", help="The person's CRM contact id.")
@click.option("--inn", "inns", multiple=True, metavar="INN", help="A sole proprietor's INN (12 digits).")
@click.option(
    "--reason", default="", help="Why (kept in meta.erasures): a ticket number, not the person's name."
)
def forget(emails, phones, contact_ids, inns, reason: str) -> None:
    """Erase a person everywhere under CRMW_HOME: warehouse, published copy, landing files, reports, logs.

    Whatever the warehouse ties to the values given (their contact and lead records, web visits, a
    sole proprietor's cards) goes too. meta.erasures records what was erased, when and why, with no
    personal data. See docs/privacy.md.
    """
    from crmw.command import stderr
    from crmw.progress import Working
    from privacy.erasure import forget as run_forget
    from privacy.person import RequestError, from_request

    try:
        person = from_request(list(emails), list(phones), list(contact_ids), list(inns))
    except RequestError as exc:
        raise click.UsageError(" ".join(str(exc).split()), ctx=click.get_current_context()) from None
    identified_by = [
        name
        for name, given in (("email", emails), ("phone", phones), ("contact_id", contact_ids), ("inn", inns))
        if given
    ]
    settings = get_settings().ensure()
    with Working(stderr(), "forget: warehouse, published copy, landing files, reports, logs"):
        report = run_forget(settings, person, reason=reason, identified_by=identified_by)
    click.echo(report.describe())


@cli.command()
@click.option(
    "--scale", type=click.FloatRange(min=0, min_open=True, max=100), default=0.01, show_default=True
)
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
def demo(scale: float, seed: int) -> None:
    """Run the main job on the embedded default: sample exports into one DuckDB file."""
    from crmw.demo import run_demo

    sys.exit(run_demo(scale=scale, seed=seed, verbose=_verbose()))


def main() -> None:
    cli(prog_name="crmw")


if __name__ == "__main__":
    main()
