"""The progress of a run on the console: one line per finished step with its time and what it
did, never wider than the console, whatever the step is called."""

from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from crmw.progress import RunProgress, Working


def event(kind: str, step: str, passed: bool = True):
    data = SimpleNamespace(passed=passed)
    return SimpleNamespace(
        dagster_event=SimpleNamespace(event_type_value=kind, step_key=step, event_specific_data=data)
    )


def test_each_finished_step_is_one_line_with_its_assets_checks_and_time():
    out = io.StringIO()
    console = Console(file=out, width=60, force_terminal=False)
    long_name = "raw__invoices_landing_files_are_all_readable_and_then_some_more_words"
    with RunProgress(console, "running") as progress:
        for entry in (
            event("STEP_START", "dbt_warehouse"),
            event("ASSET_MATERIALIZATION", "dbt_warehouse"),
            event("ASSET_MATERIALIZATION", "dbt_warehouse"),
            event("ASSET_CHECK_EVALUATION", "dbt_warehouse"),
            event("ASSET_CHECK_EVALUATION", "dbt_warehouse", passed=False),
            event("STEP_SUCCESS", "dbt_warehouse"),
            event("STEP_START", long_name),
            event("STEP_FAILURE", long_name),
            event("ASSET_MATERIALIZATION", "never_started"),  # ignored: no start seen
        ):
            progress.on_event(entry)
    lines = out.getvalue().splitlines()
    assert lines[0] == "running"
    assert lines[1].startswith("✓ dbt_warehouse  2 assets, 2 checks, 1 not passed")
    assert lines[1].rstrip().endswith("s")
    assert lines[2].startswith("✗ raw__invoices_landing") and "…" in lines[2]
    assert len(lines) == 3
    assert max(len(line) for line in lines) <= 60


def test_a_long_step_that_is_not_a_run_ends_with_one_line_counting_what_it_did():
    out = io.StringIO()
    console = Console(file=out, width=50, force_terminal=False)
    with Working(console, "dbt build") as shown:
        shown.node("stg_crm__accounts", "success")
        shown.node("unique_dim_clients_client_id", "fail")
    (line,) = out.getvalue().splitlines()
    assert line.startswith("✗ dbt build  2 done, 1 failed") and len(line) <= 50
