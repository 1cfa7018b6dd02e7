"""Warehouse domain: the dbt project as assets (dagster-dbt), and the publish step.

The asset graph comes from the project's manifest (parsed for the DuckDB target): the same assets on
either engine (the Spark stand-ins of the resolution models have the Python models' names). Which
engine builds them is read when the run starts (CrmwResource: CRMW_ENGINE): DuckDB through
dagster-dbt's `dbt` subprocess; Spark in this process (dbt-spark's session method shares the step's
SparkSession, whose embedded metastore one JVM at a time may open), with client resolution between
two dbt runs (resolution/runner.py), dbt's events turned into the same Dagster events.

The manifest is parsed once into dbt/target/graph/ (no home's state is in it). Every run parses and builds again in its own home: dbt's
target/ and logs/ under CRMW_HOME/dbt/, with the home's vars (warehouse.dbt.home_vars), so
two homes never share a partial parse, a manifest or a setting.
"""

import json
import os
import shutil
import sys
import uuid
from pathlib import Path

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from dagster_project.resources import WRITER_POOL, CrmwResource
from warehouse.dbt import home_vars
from warehouse.publish import publish
from warehouse.settings import Settings

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
# the graph is the DuckDB target's (no Spark needed to load the code location; see the docstring)
dbt_project = DbtProject(
    project_dir=DBT_DIR, profiles_dir=DBT_DIR, target="dev", target_path=Path("target") / "graph"
)
# The dbt next to this interpreter: the venv need not be on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


def _newest_source_mtime(project_dir: Path) -> float:
    paths = [project_dir / "dbt_project.yml"]
    for folder in ("models", "macros", "seeds", "snapshots", "tests"):
        paths += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """The manifest the asset graph is built from: parsed when missing or older than the
    project's files (so a checkout always loads the graph its dbt files describe)."""
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(project.project_dir):
        # parsed aside and moved into place: two processes starting at once never read half a file
        scratch = manifest.parent.with_name(f"{manifest.parent.name}.{uuid.uuid4().hex[:8]}")
        partial = manifest.parent / "partial_parse.msgpack"
        if partial.exists():  # dbt parses again only the files that changed
            scratch.mkdir(parents=True)
            shutil.copy(partial, scratch / partial.name)
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE, target="dev").cli(
            ["parse", "--quiet"], target_path=scratch
        ).wait()
        manifest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch / partial.name, partial)
        os.replace(scratch / "manifest.json", manifest)
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


class WarehouseTranslator(DagsterDbtTranslator):
    """dbt sources are the ingest assets raw/<entity>; models keep dagster-dbt's default keys."""

    def get_asset_key(self, dbt_resource_props) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # raw.<entity> are the ingest assets; ml.<table> the model assets
            schema = dbt_resource_props.get("schema") or "raw"
            return dg.AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props) -> str | None:
        return "warehouse"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild incremental models from scratch instead of adding new data."""


# Models that read the ml tables (scores joined back to clients) build after the models
# run, in their own dbt asset; everything else builds before it.
SCORES_SELECTION = "path:models/marts/ml"
MANIFEST = ensure_manifest()


def _has_scores_models(manifest_path: Path) -> bool:
    import json

    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    return any(n.get("original_file_path", "").startswith("models/marts/ml/") for n in nodes)


HAS_SCORES = _has_scores_models(MANIFEST)


def _engine_build(context: dg.AssetExecutionContext, settings, **options):
    """Build on an engine other than DuckDB, in this process (see the module docstring), yielding
    the Dagster events dagster-dbt would: outputs of the selected models, results of their checks.
    A Spark build is the whole selection of the asset (its subsets build everything in it)."""
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    from resolution.runner import build_warehouse

    events: list[dict] = []
    result = build_warehouse(settings, on_event=events.append, raise_on_failure=False, **options)
    selected_outputs = set(context.selected_output_names)
    selected_checks = set(context.selected_asset_check_keys)
    for raw in events:
        message = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
        for event in message.to_default_asset_events(
            manifest=MANIFEST, dagster_dbt_translator=translator, context=context
        ):
            if isinstance(event, dg.Output) and event.output_name not in selected_outputs:
                continue
            if (
                isinstance(event, dg.AssetCheckResult)
                and dg.AssetCheckKey(event.asset_key, event.check_name) not in selected_checks
            ):
                continue
            yield event
    if not result.success:
        raise dg.Failure(
            f"dbt build on {settings.engine} failed",
            metadata={"failures": "\n".join(f.describe() for f in result.failures)[:4000]},
        )


def _prepare_warehouse(crmw: CrmwResource) -> Settings:
    from models.schema import ensure_ml_schema
    from warehouse.connection import connect
    from warehouse.dbt import prepare_for_dbt

    settings = crmw.settings()
    prepare_for_dbt(settings)
    con = connect(settings.warehouse_path)
    try:
        # raw tables are created by the dbt project's on-run-start hook; the ml tables here, so
        # the dbt models reading ml.* build before the first model run
        ensure_ml_schema(con)
    finally:
        con.close()
    # dbt's profile reads the warehouse path from the environment; dagster-dbt seeds a new
    # target folder with the partial parse found at DBT_TARGET_PATH: the home's own, never
    # the checkout's (which holds whatever settings the last dbt run there had)
    os.environ["CRMW_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    os.environ["CRMW_HOME"] = str(settings.home)
    os.environ["DBT_TARGET_PATH"] = str(home_target(settings))
    return settings


def home_target(settings: Settings) -> Path:
    return settings.dbt_dir / "target"


def home_dbt_args(settings: Settings) -> list[str]:
    """What each dbt command of a run gets from its home: the log folder and the home's vars."""
    args = ["--log-path", str(settings.dbt_dir / "logs")]
    variables = home_vars(settings)
    return args + (["--vars", json.dumps(variables)] if variables else [])


@dbt_assets(
    manifest=MANIFEST,
    project=dbt_project,  # path selectors are relative to the project, not the working directory
    dagster_dbt_translator=translator,
    pool=WRITER_POOL,
    exclude=SCORES_SELECTION if HAS_SCORES else "",
)
def dbt_warehouse(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, crmw: CrmwResource, config: DbtBuildConfig
):
    settings = crmw.settings()
    if settings.engine != "duckdb":
        yield from _engine_build(
            context,
            settings,
            exclude=SCORES_SELECTION if HAS_SCORES else None,
            full_refresh=config.full_refresh,
        )
        return
    settings = _prepare_warehouse(crmw)
    # cautious: a test runs only when all the models it reads are built here, so tests of the
    # scores models (built after the ML run) wait for dbt_scores.
    args = ["build", "--indirect-selection", "cautious", *(["--full-refresh"] if config.full_refresh else [])]
    args += home_dbt_args(settings)
    yield from dbt.cli(args, context=context, target_path=home_target(settings)).stream()


def _scores_assets() -> list:
    if not HAS_SCORES:
        return []

    @dbt_assets(
        manifest=MANIFEST,
        project=dbt_project,
        dagster_dbt_translator=translator,
        pool=WRITER_POOL,
        select=SCORES_SELECTION,
        name="dbt_scores",
    )
    def dbt_scores(context: dg.AssetExecutionContext, dbt: DbtCliResource, crmw: CrmwResource):
        settings = crmw.settings()
        if settings.engine != "duckdb":
            yield from _engine_build(context, settings, select=SCORES_SELECTION)
            return
        settings = _prepare_warehouse(crmw)
        args = ["build", *home_dbt_args(settings)]
        yield from dbt.cli(args, context=context, target_path=home_target(settings)).stream()

    return [dbt_scores]


SCORES_ASSETS = _scores_assets()


@dg.asset(
    deps=[
        *dbt_warehouse.keys,
        *(key for scores in SCORES_ASSETS for key in scores.keys),
        dg.AssetKey(["ml", "client_segments"]),
    ],
    group_name="warehouse",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="The read-only copy of marts, ml and meta that analysts, notebooks and reports read.",
)
def published_warehouse(crmw: CrmwResource) -> dg.MaterializeResult:
    settings = crmw.settings()
    if settings.engine == "duckdb":
        result = publish(settings.warehouse_path, settings.published_path)
    else:
        from warehouse.engine import open_tables
        from warehouse.publish import publish_tables

        with open_tables(settings) as tables:
            result = publish_tables(tables, settings.published_path)
    return dg.MaterializeResult(metadata={"tables": result["tables"], "path": result["path"]})


warehouse_job = dg.define_asset_job(
    "build_warehouse", selection=dg.AssetSelection.assets(dbt_warehouse, published_warehouse)
)

defs = dg.Definitions(
    assets=[dbt_warehouse, published_warehouse, *SCORES_ASSETS],
    jobs=[warehouse_job],
    # The dbt next to this interpreter: the venv need not be on PATH.
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, target="dev")},
)
