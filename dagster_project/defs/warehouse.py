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

from crmw.publish import publish
from dagster_project.resources import WRITER_POOL, CrmwResource

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
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props) -> str | None:
        return "warehouse"


translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class DbtBuildConfig(dg.Config):
    full_refresh: bool = False
    """Rebuild incremental models from scratch instead of adding new data."""


@dbt_assets(manifest=ensure_manifest(), dagster_dbt_translator=translator, pool=WRITER_POOL)
def dbt_warehouse(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, crmw: CrmwResource, config: DbtBuildConfig
):
    settings = crmw.settings()
    from ingest.load import connect, ensure_schema

    con = connect(settings.warehouse_path)
    ensure_schema(con)  # every source is optional: raw tables exist even when empty
    con.close()
    os.environ["CRMW_WAREHOUSE_PATH"] = str(settings.warehouse_path)
    os.environ.setdefault("CRMW_HOME", str(settings.home))
    args = ["build", *(["--full-refresh"] if config.full_refresh else [])]
    yield from dbt.cli(args, context=context).stream()


@dg.asset(
    deps=[dbt_warehouse],
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
    assets=[dbt_warehouse, published_warehouse],
    jobs=[warehouse_job],
    # The dbt next to this interpreter: the venv need not be on PATH.
    resources={
        "dbt": DbtCliResource(
            project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
        )
    },
)
