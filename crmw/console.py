"""Terminal output for the CLI: summary tables and progress bars (rich).

Everything that comes from a file (names, headers, reasons, values) goes through `escape`: rich
reads `[...]` as markup, and a header such as `[/b] total` must print as it is, not crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ingest.contracts import CONTRACTS
from ingest.parsing import sql_ident
from ingest.results import BatchResult
from warehouse.connection import connect

console = Console(stderr=False)


@contextlib.contextmanager
def progress_for(files: list[Path]) -> Iterator:
    """A progress bar over the files' bytes; yields a callback taking the next file."""
    sizes = {f: f.stat().st_size if f.exists() else 0 for f in files}
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not Console(stderr=True).is_terminal,
    )
    state = {"previous": None}
    with progress:
        task = progress.add_task("ingest", total=sum(sizes.values()) or 1)

        def advance(path: Path) -> None:
            if state["previous"] is not None:
                progress.advance(task, sizes.get(state["previous"], 0))
            state["previous"] = path
            progress.update(task, description=escape(path.name[:40]))

        yield advance


def print_batch(batch: BatchResult) -> None:
    table = Table(title=f"ingest batch {batch.batch_id}", show_lines=False)
    for name, justify in (
        ("file", "left"),
        ("entity", "left"),
        ("dialect", "left"),
        ("status", "left"),
        ("loaded", "right"),
        ("quarantined", "right"),
        ("flagged", "right"),
    ):
        table.add_column(name, justify=justify)
    for f in batch.files:
        style = {"refused": "red", "skipped": "yellow"}.get(f.status, "")
        table.add_row(
            escape(f.path.name),
            f.entity or "",
            f.dialect or "",
            f.status,
            f"{f.rows_loaded:,}",
            f"{f.rows_quarantined:,}",
            f"{f.rows_flagged:,}",
            style=style,
        )
    console.print(table)
    totals = batch.totals()
    console.print(
        f"{totals['files_loaded']} files loaded, {totals['files_skipped']} skipped, "
        f"{totals['files_refused']} refused; {totals['rows_loaded']:,} rows loaded, "
        f"{totals['rows_quarantined']:,} quarantined"
    )
    for f in batch.files:
        if f.status in ("refused", "skipped"):
            console.print(
                f"[{'red' if f.status == 'refused' else 'yellow'}]{f.status}[/]: {escape(f.message)}"
            )
        elif f.message:
            console.print(f"[yellow]note[/]: {escape(f.path.name)}: {escape(f.message)}")


def print_quarantine(db_path: Path | str, entity: str | None, file_filter: str | None, limit: int) -> None:
    """`db_path` is a warehouse file, or a lake (a folder with _crmw_lake.json, or a URL)."""
    if entity is not None and entity not in CONTRACTS:
        raise ValueError(f"unknown entity {entity!r}; known entities: {', '.join(sorted(CONTRACTS))}")
    if "://" in str(db_path) or (Path(db_path) / "_crmw_lake.json").exists():
        from ingest.lake import connect_lake

        con = connect_lake(str(db_path))
    else:
        con = connect(Path(db_path), read_only=True)
    try:
        entities = [entity] if entity else sorted(CONTRACTS)
        summary = Table(title="quarantined rows by reason")
        for name in ("entity", "reason", "rows", "files"):
            summary.add_column(name, justify="right" if name in ("rows", "files") else "left")
        samples = []
        for name in entities:
            where, params = "", []
            if file_filter:
                where, params = "where contains(_source_file, ?)", [file_filter]
            rows = con.execute(
                f"select split_part(reason, ':', 1) || coalesce(':' || nullif(split_part(reason, ':', 2), ''), '') "
                f"AS reason, count(*), count(distinct _source_file) "
                f"from (select unnest(_reasons) AS reason, _source_file from quarantine.{sql_ident(name)} {where}) "
                f"group by all order by 2 desc",
                params,
            ).fetchall()
            for reason, count, files in rows:
                summary.add_row(name, escape(reason), f"{count:,}", f"{files:,}")
            if rows:
                samples += [
                    (name, *r)
                    for r in con.execute(
                        f"select _source_file, _row_number, _reasons from quarantine.{sql_ident(name)} {where} "
                        f"order by _source_file, _row_number limit ?",
                        [*params, limit],
                    ).fetchall()
                ]
        console.print(summary)
        refused = con.execute(
            "select file_path, reason from meta.refused_files order by refused_at desc limit ?", [limit]
        ).fetchall()
    finally:
        con.close()
    if samples:
        detail = Table(title=f"first {limit} quarantined rows per entity")
        for name in ("entity", "file", "row", "reasons"):
            detail.add_column(name)
        for name, file, row, reasons in samples[: limit * 3]:
            detail.add_row(name, escape(Path(file).name), str(row), escape(", ".join(reasons)))
        console.print(detail)
    if refused:
        console.print("[red]refused files[/]:")
        for _path, reason in refused:
            console.print(f"  {escape(reason)}")


def print_status(status: dict) -> None:
    """The health view (crmw.orchestrate.status): runs, checks, freshness, quarantine, published copy."""
    runs = status.get("runs") or []
    if runs:
        table = Table(title="latest run of each job", title_justify="left")
        for name, justify in (("job", "left"), ("status", "left"), ("started", "left"), ("took", "right")):
            table.add_column(name, justify=justify, no_wrap=name != "job")
        table.add_column("partitions", overflow="fold")
        for run in runs:
            style = {"FAILURE": "red", "CANCELED": "yellow", "STARTED": "cyan", "QUEUED": "cyan"}.get(
                run["status"], ""
            )
            table.add_row(
                run["job"],
                run["status"].lower(),
                f"{run['started_at']:%Y-%m-%d %H:%M}" if run["started_at"] else "",
                _duration(run["seconds"]),
                run["partition"] or "",
                style=style,
            )
        console.print(table)
    else:
        console.print("no run yet: crmw run (or crmw ui, then the landing sensor)")
    health = status.get("health")
    if health is None:
        console.print("no warehouse yet: crmw run")
    else:
        _print_checks(health)
        _print_freshness(health)
        _print_quarantine(health)
    published = status.get("published")
    if published:
        console.print(
            f"published copy: {_duration(published['age_hours'] * 3600)} old "
            f"({published['published_at']:%Y-%m-%d %H:%M} UTC), {published['path']}",
            markup=False,
        )
    else:
        console.print("published copy: none yet (a successful run makes it)")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.0f}d"


def _print_checks(health) -> None:
    checks = health.checks
    if checks.empty:
        console.print("checks: none run yet")
        return
    failed, warned = health.checks_with("failed"), health.checks_with("warning")
    kinds = checks["kind"].value_counts()
    counted = " and ".join(
        f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(kinds.items(), reverse=True)
    )
    verdict = (
        "[green]all passed[/]"
        if failed.empty and warned.empty
        else f"[red]{len(failed)} failed[/], {len(warned)} warning(s)"
    )
    console.print(f"checks (latest verdict of {counted}): {verdict}")
    shown = [*failed.itertuples(), *warned.itertuples()]
    if shown:
        table = Table(show_header=True, box=None, padding=(0, 1))
        for name in ("verdict", "asset", "check", "what"):
            table.add_column(name, overflow="fold")
        for row in shown[:15]:
            table.add_row(
                row.verdict,
                row.asset,
                row.check_name,
                escape(str(row.message or "")),
                style="red" if row.verdict == "failed" else "yellow",
            )
        console.print(table)
        if len(shown) > 15:
            console.print(f"  and {len(shown) - 15} more: crmw ui shows every check")


def _print_freshness(health) -> None:
    exports = health.exports
    if exports.empty:
        console.print("freshness: nothing loaded yet")
        return
    stale = health.stale_exports
    console.print(
        f"freshness against the data's calendar (complete to {health.calendar_end}): "
        f"{len(exports) - len(stale)} of {len(exports)} exports reach it"
    )
    for row in stale.itertuples():
        short = f"{row.days_short} days short" if row.days_short is not None else "no dated rows"
        console.print(f"  [yellow]stale[/] {row.source}/{row.entity}: data to {row.data_through} ({short})")


def _print_quarantine(health) -> None:
    quarantined, read = health.rows_quarantined, health.rows_read
    share = f" ({quarantined / read:.1%})" if read else ""
    entities = int((health.quarantine["rows_quarantined"] > 0).sum()) if len(health.quarantine) else 0
    console.print(
        f"quarantine: {quarantined:,} of {read:,} rows{share} in {entities} entities; "
        f"{len(health.unreadable)} file(s) refused whole"
        + ("; crmw quarantine lists them" if quarantined or health.unreadable else "")
    )


MODEL_JOBS = ("segments", "churn", "leads", "forecast", "next_best_actions")


def model_summary_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    """(model, status, horizon, what it did or why not) per model of a `models.jobs.run_all` summary."""
    rows = []
    for name in MODEL_JOBS:
        part = summary.get(name)
        if part is None:
            continue
        if "horizon_days" in part:
            horizon = f"{part['horizon_days']} days"
        elif "horizon_months" in part:
            horizon = f"{part['horizon_months']} months"
        else:
            horizon = ""
        if part["status"] == "skipped":
            detail = part["reason"]
        else:
            written = ", ".join(f"{n:,} {table}" for table, n in part.get("rows", {}).items())
            detail = "; ".join(dict.fromkeys(filter(None, [written, part.get("basis"), part.get("reason")])))
        rows.append((name, part["status"], horizon, detail))
    return rows


def print_model_summary(summary: dict) -> None:
    """What each model did as of the run's date: trained, baseline or skipped, the horizon used, and
    the rows written or the reason it was skipped."""
    table = Table(
        title=f"Models as of {summary['as_of']} (sources: {', '.join(summary['sources']) or 'none'})",
        title_justify="left",
    )
    for column, justify in (("model", "left"), ("status", "left"), ("horizon", "right"), ("", "left")):
        table.add_column(column, justify=justify, overflow="fold")
    styles = {"trained": "green", "baseline": "yellow", "skipped": "red"}
    for name, status, horizon, detail in model_summary_rows(summary):
        table.add_row(name, f"[{styles.get(status, '')}]{status}[/]", horizon, detail)
    console.print(table)
    console.print(f"done in {summary['seconds']:.1f}s")
