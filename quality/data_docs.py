"""Great Expectations Data Docs (HTML) from the results kept in meta.dq_suite_runs.

The site is rendered from the latest stored result of every suite, not from the run in
hand, so the raw checks after ingest and the mart checks after dbt (separate Dagster steps)
end in one site. It is written next to the old one and swapped in, so a reader never sees
half a site. GX's pages load their styles from public CDNs; without internet they show
unstyled but complete.
"""

from __future__ import annotations

import json
import logging
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
        retired = out_dir.with_name(f".{out_dir.name}.old.{uuid.uuid4().hex[:8]}")
        if out_dir.exists():
            out_dir.rename(retired)
        staging.rename(out_dir)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("Data Docs for %d suites in %s", rendered, out_dir)
    return out_dir / "index.html"
