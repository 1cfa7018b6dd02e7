"""Quality domain: every data-quality suite (quality/) as an asset check.

Two steps, named for when they run:
- `raw_data_quality` checks raw/<entity> right after ingest (contract, keys, export files,
  months, row counts, drift). A blocking failure stops dbt: marts are not built on bad raw.
- `mart_data_quality` checks the dbt marts after the build (keys, money, dates, references,
  reconciliation with raw). A blocking failure stops the publish: readers keep the last
  good copy.
Severity "error" suites are blocking checks (AssetCheckSeverity.ERROR); "warn" suites warn.
Both steps write meta.dq_suite_runs / meta.dq_results, so they run in the writer pool, and
both rebuild Data Docs in CRMW_HOME/reports/data_docs/ from every suite's latest result.
"""

from collections.abc import Iterator, Sequence

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.defs.ingest import raw_key
from dagster_project.defs.warehouse import SCORES_ASSETS, dbt_warehouse
from dagster_project.resources import WRITER_POOL, CrmwResource
from ingest.contracts import CONTRACTS
from quality.catalogue import all_suites
from quality.runner import SuiteResult
from quality.suite import Suite
from warehouse.settings import Settings


def asset_key_for(asset: tuple[str, str]) -> dg.AssetKey:
    """raw tables are the ingest assets; every other table is a dbt model (the key comes from
    the project's manifest, whichever dbt asset builds the model)."""
    schema, table = asset
    if schema == "raw":
        return raw_key(table)
    return get_asset_key_for_model([dbt_warehouse], table)


def _built_keys() -> set[dg.AssetKey]:
    """Every asset some definition materialises: a check may only sit on one of those."""
    keys = {raw_key(entity) for entity in CONTRACTS}
    for assets_def in (dbt_warehouse, *SCORES_ASSETS):
        keys |= set(assets_def.keys)
    return keys


def checkable(suites: Sequence[Suite]) -> list[Suite]:
    """The suites whose table is an asset here; a model in the YAML that no dbt asset builds
    (a manifest behind the files) gets no check rather than breaking the code location."""
    built = _built_keys()
    return [s for s in suites if asset_key_for(s.asset) in built]


def check_spec(suite: Suite) -> dg.AssetCheckSpec:
    own = asset_key_for(suite.asset)
    built = _built_keys()
    others = dict.fromkeys(k for k in (asset_key_for(a) for a in suite.reads) if k != own and k in built)
    return dg.AssetCheckSpec(
        name=suite.check,
        asset=own,
        description=suite.description,
        blocking=suite.blocking,
        additional_deps=list(others),
        metadata={"suite": suite.name, "severity": suite.severity, "layer": suite.layer},
    )


def check_result(result: SuiteResult, data_docs: str | None) -> dg.AssetCheckResult:
    suite = result.suite
    metadata: dict = {
        "status": result.status,
        "rows_checked": result.rows,
        "expectations": len(result.outcomes),
        "failed_expectations": len(result.failed_outcomes),
        "seconds": round(result.seconds, 2),
    }
    if result.failed_outcomes:
        metadata["failures"] = dg.MetadataValue.md(
            "\n".join(f"- {o.describe()}" for o in result.failed_outcomes)
        )
    if result.message:
        metadata["message"] = result.message
    if result.notes:
        metadata["notes"] = "\n".join(result.notes)
    if data_docs:
        metadata["data_docs"] = dg.MetadataValue.path(data_docs)
    return dg.AssetCheckResult(
        asset_key=asset_key_for(suite.asset),
        check_name=suite.check,
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR if suite.blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=result.message or None,
    )


def run_checks(
    context: dg.AssetCheckExecutionContext, settings: Settings, suites: Sequence[Suite]
) -> Iterator[dg.AssetCheckResult]:
    from quality.data_docs import build_data_docs
    from quality.pipeline import check_and_record, data_docs_dir, quality_connection
    from quality.results import format_status, latest_suite_runs

    # the warehouse file, or on Spark a DuckDB view of the lake and of Spark's tables
    with quality_connection(settings) as con:
        results = check_and_record(con, suites, run_id=context.run.run_id)
        index = build_data_docs(con, data_docs_dir(settings))
        context.log.info(format_status(latest_suite_runs(con)))
    for result in results:
        yield check_result(result, str(index) if index else None)


def _quality_step(name: str, suites: list[Suite], description: str) -> dg.AssetChecksDefinition:
    by_key = {dg.AssetCheckKey(asset_key_for(s.asset), s.check): s for s in suites}

    @dg.multi_asset_check(
        name=name,
        specs=[check_spec(s) for s in suites],
        can_subset=True,
        pool=WRITER_POOL,
        description=description,
    )
    def _step(context: dg.AssetCheckExecutionContext, crmw: CrmwResource):
        selected = set(context.selected_asset_check_keys)
        chosen = [suite for key, suite in by_key.items() if key in selected]
        yield from run_checks(context, crmw.settings(), chosen)

    return _step


raw_data_quality = _quality_step(
    "raw_data_quality",
    checkable(all_suites(("raw", "drift"))),
    "Raw tables against their contracts, export files, months and row counts; drift of key measures.",
)
mart_data_quality = _quality_step(
    "mart_data_quality",
    checkable(all_suites(("marts", "reconciliation"))),
    "Marts: keys, money, dates, references; reconciliation with raw.",
)

defs = dg.Definitions(asset_checks=[raw_data_quality, mart_data_quality])
