"""A published warehouse on scale-0.01 demo data, built once per test session and shared
by tests/test_reports.py and tests/test_notebooks.py (about two minutes on two cores):
generate exports, ingest, dbt build, the model jobs when they exist, publish."""

from __future__ import annotations

import logging

from crmw.settings import Settings

log = logging.getLogger(__name__)

SCALE = 0.01
SEED = 42


def build_published_demo(home) -> Settings:
    """Build (once: a marker file says it is done) and publish the demo warehouse under `home`.

    When the model jobs fail, the warehouse is published without their tables and the
    error is kept in `<home>/.models-error`: the report must still render (its sections
    say what is missing), and the one test that needs the models reports the error.
    """
    from crmw.publish import publish
    from crmw.warehouse import build_warehouse
    from ingest.generator import generate
    from ingest.load import ingest_paths

    settings = Settings(home=home).ensure()
    done = home / ".published-demo"
    if done.exists():
        return settings
    exports = home / "exports"
    generate(out_dir=exports, scale=SCALE, seed=SEED)
    files = sorted(p for p in exports.rglob("*") if p.is_file() and "ground_truth" not in p.parts)
    assert ingest_paths(files, settings.warehouse_path).ok
    build_warehouse(settings)
    errors = home / ".models-error"
    from models.jobs import run_all

    try:
        run_all(settings)
    except Exception as exc:  # kept and reported by the test that needs the models
        log.exception("the model jobs failed; publishing without them")
        errors.write_text(f"{type(exc).__name__}: {exc}")
    publish(settings.warehouse_path, settings.published_path)
    done.write_text("ok")
    return settings


def models_error(settings: Settings) -> str | None:
    path = settings.home / ".models-error"
    return path.read_text() if path.exists() else None


def shared_demo(tmp_path_factory) -> Settings:
    """The session's demo warehouse (the first module that asks builds it)."""
    return build_published_demo(tmp_path_factory.getbasetemp() / "published_demo")
