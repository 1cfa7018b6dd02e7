"""`crmw status` on a built warehouse: the health view, within the terminal's width."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from rich.console import Console

from crmw.cli import cli
from tests.support.homes import copy_home
from warehouse.publish import publish
from warehouse.settings import Settings


@pytest.mark.slow
def test_status_summarises_checks_freshness_quarantine_and_the_published_copy(
    built_home: Settings, tmp_path, monkeypatch
):
    home = copy_home(built_home, tmp_path / "home")
    publish(home.warehouse_path, home.published_path)
    monkeypatch.setenv("CRMW_HOME", str(home.home))
    # the CLI's console takes its width when first imported: give it the terminal's here
    monkeypatch.setattr("crmw.console.console", Console(width=100))
    result = CliRunner().invoke(cli, ["status"], prog_name="crmw")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "no run yet" in text  # built without Dagster: no run to show, the rest still is
    assert "dbt tests): all passed" in text  # the build's tests, recorded by the on-run-end hook
    assert "freshness against the data's calendar (complete to 2026-09-30)" in text
    assert "quarantine: " in text and " rows (" in text
    assert "published copy: " in text
    assert max(len(line) for line in text.splitlines()) <= 100
