"""`make demo`: the main job on the embedded default.

Generates sample exports into CRMW_HOME/landing (once per scale and seed), runs every
stage through Dagster with one progress line per step, builds the dbt docs, and ends with
what to open: the report, the Data Docs, the dbt docs and `crmw ui`.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from rich.console import Console

from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)


def run_demo(scale: float = 0.01, seed: int = 42, verbose: bool = False) -> int:
    from crmw.command import stderr
    from crmw.console import console
    from crmw.progress import RunProgress
    from sample_exports import generate

    progress_console = stderr()
    settings = get_settings().ensure()
    started = time.perf_counter()
    exports = settings.landing_dir / f"sample-scale{scale:g}-seed{seed}"
    if not (exports / "ground_truth" / "manifest.json").exists():
        console.print(f"generating sample exports (scale {scale:g}, seed {seed})", markup=False)
        summary = generate(out_dir=exports, scale=scale, seed=seed, finance_dialect="ru_accounting")
        console.print(summary.describe().splitlines()[0], markup=False)
    else:
        console.print(f"sample exports already in {exports}", markup=False)
    # the demo knows the generator's answers: every build measures client resolution against them
    if settings.ground_truth is None:
        os.environ["CRMW_GROUND_TRUTH"] = str(exports / "ground_truth")
        settings = get_settings().ensure()

    from crmw.orchestrate import run_everything

    with RunProgress(progress_console, f"running the whole graph into {settings.warehouse_path}") as shown:
        result = run_everything(
            settings, log_level="DEBUG" if verbose else "CRITICAL", on_event=shown.on_event
        )
    if not result["success"]:
        console.print(
            f"run failed at {', '.join(result['failed_steps'])}; `crmw ui` shows each step's log, "
            f"{result['log']} the whole run",
            markup=False,
            style="red",
        )
        return 1

    from crmw.docs import build_docs
    from crmw.progress import Working

    with Working(progress_console, "dbt docs"):
        docs = build_docs(settings) / "static_index.html"
    _print_where(console, settings, exports, docs, time.perf_counter() - started)
    return 0


def _print_where(console: Console, settings: Settings, exports: Path, docs: Path, seconds: float) -> None:
    from quality.pipeline import data_docs_dir

    reports = sorted(settings.reports_dir.glob("*/report.html"), key=lambda p: p.stat().st_mtime)
    report = reports[-1] if reports else None
    lines = [
        ("report", str(report) if report else "not rendered (see the run log)"),
        ("pdf", _pdf_line(report)),
        ("data docs", str(data_docs_dir(settings) / "index.html")),
        ("dbt docs", f"{docs}  (or `crmw docs` to serve them)"),
        ("published", f"{settings.published_path}  (read this one)"),
        ("warehouse", str(settings.warehouse_path)),
        ("exports", str(exports)),
        ("next", "crmw ui (Dagster on http://127.0.0.1:3000) | crmw status | crmw quarantine"),
    ]
    console.print()
    console.print(f"[bold]done in {seconds:.0f}s[/]; open:")
    for label, value in lines:
        if value:
            console.print(f"  {label:<10} {value}", markup=False, highlight=False)


def _pdf_line(report: Path | None) -> str:
    from reports.pdf import INSTALL_HINT

    if report is None:
        return ""
    pdf = report.with_suffix(".pdf")
    return f"{pdf}" if pdf.exists() else f"no PDF: {INSTALL_HINT}"
