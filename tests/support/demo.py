"""The published demo warehouse shared by tests/reports/test_report.py and
tests/reports/test_notebooks.py: a copy of the session's built home (scale-0.01 sample
exports), the model jobs run on it, the marts that join their scores rebuilt (as `crmw run`
does), and the published copy made."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.support.homes import copy_home
from warehouse.settings import Settings

log = logging.getLogger(__name__)


def build_published_demo(built: Settings, home: Path) -> Settings:
    """Copy the built home, run the model jobs and publish (once: a marker file says it is done).

    When the model jobs fail, the warehouse is published without their tables and the
    error is kept in `<home>/.models-error`: the report must still render (its sections
    say what is missing), and the one test that needs the models reports the error.
    """
    from models.jobs import run_all
    from warehouse.dbt import build_warehouse
    from warehouse.publish import publish

    done = home / ".published-demo"
    if done.exists():
        return Settings(home=home)
    settings = copy_home(built, home)
    errors = home / ".models-error"
    try:
        run_all(settings)
        build_warehouse(settings, select="path:models/marts/ml")  # mart_client_scores joins the new scores
    except Exception as exc:  # kept and reported by the test that needs the models
        log.exception("the model jobs failed; publishing without them")
        errors.write_text(f"{type(exc).__name__}: {exc}")
    publish(settings.warehouse_path, settings.published_path)
    done.write_text("ok")
    return settings


def models_error(settings: Settings) -> str | None:
    path = settings.home / ".models-error"
    return path.read_text() if path.exists() else None
