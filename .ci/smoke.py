"""A small pipeline on the running interpreter (what .ci/pythons runs in each venv): every room
imports, and sample exports go through ingest, dbt, the models, publish and the report (HTML
and PDF) into CRMW_HOME. Logs one line per stage to stdout; exits non-zero on the first failure."""

from __future__ import annotations

import importlib
import logging
import platform
import sys
import time

log = logging.getLogger("smoke")
ROOMS = (
    "warehouse",
    "ingest",
    "resolution",
    "sample_exports",
    "quality",
    "privacy",
    "models",
    "reports",
    "crmw",
)


def main() -> int:
    started = time.perf_counter()
    # stage lines only: libraries' notices are not failures
    logging.basicConfig(level=logging.ERROR, stream=sys.stdout, format="%(message)s")
    log.setLevel(logging.INFO)

    def done(what: str) -> None:
        log.info("  %-28s %6.1fs", what, time.perf_counter() - started)

    log.info("Python %s (%s)", platform.python_version(), sys.executable)
    for room in ROOMS:
        importlib.import_module(room)
    importlib.import_module("dagster_project.definitions")
    done("imports (dagster included)")

    from ingest.load import ingest_paths
    from models.jobs import run_all
    from reports import render_latest
    from sample_exports import generate
    from warehouse.dbt import build_warehouse
    from warehouse.publish import publish
    from warehouse.settings import get_settings

    settings = get_settings().ensure()
    exports = generate(out_dir=settings.landing_dir / "smoke", scale=0.005, seed=7).out_dir
    done("sample exports")
    files = [p for p in exports.rglob("*") if p.is_file() and "ground_truth" not in p.parts]
    batch = ingest_paths(files, settings.warehouse_path, landing=settings.landing_dir)
    assert batch.ok, [f.message for f in batch.refused]
    done(f"ingest ({len(files)} files)")
    build_warehouse(settings)
    done("dbt build")
    run_all(settings, backtest=False)
    build_warehouse(settings, select="mart_client_scores")
    done("models")
    publish(settings.warehouse_path, settings.published_path)
    report = render_latest(settings)
    assert report["pdf_pages"] and report["pdf_pages"] > 1, report
    done(f"report ({report['pdf_pages']} PDF pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
