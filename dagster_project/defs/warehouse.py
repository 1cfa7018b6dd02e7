"""Warehouse domain: the dbt project as assets (dagster-dbt), and the publish step."""

import os
import sys
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
from warehouse.publish import publish

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
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
        DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
            ["parse", "--quiet"], target_path=project.target_path
        ).wait()
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


def _prepare_warehouse(crmw: CrmwResource):
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
    os.environ["CRMW_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    os.environ.setdefault("CRMW_HOME", str(settings.home))
    return settings


@dbt_assets(
    manifest=MANIFEST,
    dagster_dbt_translator=translator,
    pool=WRITER_POOL,
    exclude=SCORES_SELECTION if HAS_SCORES else "",
)
def dbt_warehouse(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, crmw: CrmwResource, config: DbtBuildConfig
):
    _prepare_warehouse(crmw)
    # cautious: a test runs only when all the models it reads are built here, so tests of the
    # scores models (built after the ML run) wait for dbt_scores.
    args = ["build", "--indirect-selection", "cautious", *(["--full-refresh"] if config.full_refresh else [])]
    yield from dbt.cli(args, context=context).stream()


def _scores_assets() -> list:
    if not HAS_SCORES:
        return []

    @dbt_assets(
        manifest=MANIFEST,
        dagster_dbt_translator=translator,
        pool=WRITER_POOL,
        select=SCORES_SELECTION,
        name="dbt_scores",
    )
    def dbt_scores(context: dg.AssetExecutionContext, dbt: DbtCliResource, crmw: CrmwResource):
        _prepare_warehouse(crmw)
        yield from dbt.cli(["build"], context=context).stream()

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
    result = publish(settings.warehouse_path, settings.published_path)
    return dg.MaterializeResult(metadata={"tables": result["tables"], "path": result["path"]})


warehouse_job = dg.define_asset_job(
    "build_warehouse", selection=dg.AssetSelection.assets(dbt_warehouse, published_warehouse)
)

defs = dg.Definitions(
    assets=[dbt_warehouse, published_warehouse, *SCORES_ASSETS],
    jobs=[warehouse_job],
    # The dbt next to this interpreter: the venv need not be on PATH.
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
