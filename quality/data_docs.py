"""Great Expectations Data Docs (HTML) from the results kept in meta.dq_suite_runs.

The site is rendered from the latest stored result of every suite, not from the run in
hand, so the raw checks after ingest and the mart checks after dbt (separate Dagster steps)
end in one site. It is written next to the old one and swapped in, so a reader never sees
half a site.

Offline: GX's templates load Bootstrap, jQuery and bootstrap-table from public CDNs, and the
index page's lists are drawn by those scripts from data inside the page (empty without
them; GX has no setting for local assets, and no package ships those libraries). So every
page is rewritten once built (`make_offline`): the CDN tags and scripts go, the index's
lists become plain HTML tables with links, and a little CSS of ours styles them. Nothing is
fetched from the network; searching and sorting the lists is what is lost.
"""

from __future__ import annotations

import ast
import html
import json
import logging
import re
import shutil
import uuid
from pathlib import Path

import duckdb
import pandas as pd

from quality.results import latest_suite_runs

log = logging.getLogger(__name__)

SITE_NAME = "crmw"


def _context(base_directory: Path):
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        data_docs_sites={
            SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(base_directory),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _store(context, row) -> bool:
    """Put one stored result (and its suite, for the suite pages) into the context's stores."""
    import great_expectations as gx
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    if not isinstance(row.result_json, str):
        return False  # the suite errored before GX ran: nothing to render
    result = ExpectationSuiteValidationResultSchema().load(json.loads(row.result_json))
    expectations = []
    for validation in result.results:
        config = validation.expectation_config.to_json_dict()
        config.pop("id", None)  # the suite added below gives each expectation its own id
        config["kwargs"].pop("batch_id", None)
        expectations.append(ExpectationConfiguration(**config).to_domain_obj())
    context.suites.add(gx.ExpectationSuite(name=row.suite, expectations=expectations, meta=result.meta))
    run_id = RunIdentifier(run_name=row.run_id, run_time=pd.Timestamp(row.checked_at).tz_localize("UTC"))
    # what the page header shows: the table checked and the run (Dagster run id) it belongs to
    result.meta["batch_spec"] = {**(result.meta.get("batch_spec") or {}), "data_asset_name": row.asset}
    result.meta["run_id"] = run_id
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=row.suite),
        run_id=run_id,
        batch_identifier=row.asset,
    )
    context.validation_results_store.set(key, result)
    return True


def build_data_docs(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path | None:
    """Render Data Docs for the latest result of every suite into `out_dir`; returns index.html
    (None when nothing was checked yet)."""
    latest = latest_suite_runs(con, with_results=True)
    if latest.empty:
        return None
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex[:8]}")
    try:
        context = _context(staging)
        rendered = sum(_store(context, row) for row in latest.itertuples())
        context.build_data_docs(site_names=[SITE_NAME])
        make_offline(staging)
        retired = out_dir.with_name(f".{out_dir.name}.old.{uuid.uuid4().hex[:8]}")
        if out_dir.exists():
            out_dir.rename(retired)
        staging.rename(out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("Data Docs for %d suites in %s", rendered, out_dir)
    return out_dir / "index.html"


# what make_offline removes or rewrites
_REMOTE_TAG = re.compile(
    r"<link\b[^>]*href=\"https?://[^\"]*\"[^>]*>\s*|<script\b[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>\s*",
    re.IGNORECASE,
)
_INLINE_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>\s*", re.IGNORECASE | re.DOTALL)
_REMOTE_LOGO = re.compile(
    r"https://great-expectations-web-assets\.s3\.[\w.-]+\.amazonaws\.com/[\w.-]+\.png[^\"')\s]*"
)
_TABLE_SCRIPT = re.compile(
    r"\$\('#(?P<id>[\w-]+)'\)\.bootstrapTable\(\s*Object\.assign\(\s*\{\s*columns:\s*(?P<columns>\[.*?\]),\s*"
    r"data:\s*(?P<data>\[.*?\]),\s*toolbar:",
    re.DOTALL,
)
# Font Awesome's status icons (from a CDN) as words
_ICONS = (
    (
        re.compile(r'<i class="fas fa-check-circle[^"]*"[^>]*>\s*</i>'),
        '<span class="text-success">passed</span>',
    ),
    (
        re.compile(r'<i class="fas fa-times(?:-circle)?[^"]*"[^>]*>\s*</i>'),
        '<span class="text-danger">failed</span>',
    ),
)
_SCRIPT_ONLY_CONTROLS = re.compile(r"<button\b[^>]*>\s*Clear Filters\s*</button>\s*", re.IGNORECASE)
OFFLINE_CSS = """<style>
table.crmw-offline { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
table.crmw-offline th, table.crmw-offline td { border-bottom: 1px solid #dde3ea; padding: 3px 8px; text-align: left; }
table.crmw-offline tr:hover { background: #f4f6f9; }
.text-success { color: #2e7d32; } .text-danger { color: #c62828; }
</style>
"""


def _static_rows(columns: list[dict], rows: list[dict]) -> str:
    """A bootstrap-table's columns and rows (GX renders each cell as HTML) as plain table rows."""
    fields = [c["field"] for c in columns if c.get("visible") != "false"]
    head = "".join(
        f"<th>{html.escape(str(c.get('title', c['field'])))}</th>" for c in columns if c["field"] in fields
    )
    body = []
    for row in rows:
        link = row.get("_table_row_link_path")
        cells = []
        for i, field in enumerate(fields):
            value = str(row.get(field, ""))
            if i == 0 and link:
                value = f'<a href="{html.escape(link)}">{value if value.strip() else "open"}</a>'
            cells.append(f"<td>{value}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"


def _offline_page(text: str, static_prefix: str) -> str:
    tables = {}
    for match in _TABLE_SCRIPT.finditer(text):
        try:  # GX writes the lists as Python literals inside the script
            columns, rows = ast.literal_eval(match["columns"]), ast.literal_eval(match["data"])
        except (ValueError, SyntaxError):
            log.warning("Data Docs: could not read the list %s; left empty offline", match["id"])
            continue
        tables[match["id"]] = _static_rows(columns, rows)
    for table_id, rows in tables.items():
        text = re.sub(
            rf'(<table\s+id="{re.escape(table_id)}"[^>]*?)(\s*data-toggle="table")?\s*>\s*</table>',
            lambda m, rows=rows: f'{m.group(1)} class="crmw-offline">{rows}</table>',
            text,
            count=1,
        )
    text = _REMOTE_TAG.sub("", text)
    text = _INLINE_SCRIPT.sub("", text)
    text = _SCRIPT_ONLY_CONTROLS.sub("", text)
    for icon, word in _ICONS:
        text = icon.sub(word, text)
    text = _REMOTE_LOGO.sub(static_prefix + "images/logo-long.png", text)
    return text.replace("</head>", OFFLINE_CSS + "</head>", 1)


def make_offline(site: Path) -> int:
    """Rewrite every page of the site to need nothing from the network; returns the pages rewritten."""
    pages = 0
    for page in site.rglob("*.html"):
        depth = len(page.relative_to(site).parts) - 1
        text = page.read_text(encoding="utf-8")
        page.write_text(_offline_page(text, "../" * depth + "static/"), encoding="utf-8")
        pages += 1
    return pages
