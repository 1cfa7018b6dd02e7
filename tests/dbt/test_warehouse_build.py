"""The dbt warehouse built on generated exports (scale 0.01): every mart, incremental
equals full refresh, finance reconciles with raw, unit tests pass, no personal data in
marts, and a company with accounting only still gets every mart.

Two warehouses are built once per module (about a minute on two cores):
- `full`: exports loaded in two batches; the second adds later months and account
  snapshots and supersedes a finance file with one invoice removed. The build after it
  is incremental; the incremental facts are saved, then rebuilt with --full-refresh.
- `finance_only`: only the accounting exports: a copy of the data-shape matrix's accounting-only
  warehouse (tests/shapes/), built once per session.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from ingest.load import ingest_paths
from tests.support.homes import copy_home
from warehouse.dbt import BuildResult, WarehouseBuildError, build_warehouse, dbt_args, generate_docs
from warehouse.settings import Settings

pytestmark = pytest.mark.slow

INCREMENTAL_FACTS = ("fct_interactions", "fct_web_events", "fct_invoices")
MARTS = (
    "dim_clients",
    "dim_legal_entities",
    "dim_contacts",
    "dim_managers",
    "dim_partners",
    "dim_campaigns",
    "dim_offices",
    "dim_dates",
    "dim_account_history",
    "dim_client_owner_history",
    "fct_interactions",
    "fct_web_events",
    "fct_invoices",
    "fct_payments",
    "fct_deals",
    "fct_tickets",
    "mart_receivables",
    "mart_sales_pipeline",
    "mart_campaign_performance",
    "mart_campaign_client_attribution",
    "mart_client_360",
    "mart_client_offices",
    "mart_partner_performance",
    "mart_manager_book",
    "mart_support",
    "fct_credit_notes",
    "mart_client_profitability",
    "mart_acquisition_retention",
    "mart_partner_end_users",
    "mart_lead_origin",
)
# marts that need more than accounting to have rows
FINANCE_ONLY_NON_EMPTY = (
    "dim_clients",
    "dim_legal_entities",
    "dim_offices",
    "dim_dates",
    "fct_invoices",
    "fct_payments",
    "mart_receivables",
    "mart_client_360",
    "mart_client_offices",
)
FIRST_BATCH_END = "2025-12-31"
SUPERSEDED_FILE = "finance/invoices__2024-06.csv"
_FILE_DATE = re.compile(r"__(\d{4}-\d{2}(?:-\d{2})?)\.")


@dataclass
class Warehouse:
    settings: Settings
    result: BuildResult | None  # None: built elsewhere (the data-shape matrix), which checked it
    incremental_tables: dict[str, str]  # fact -> saved copy of its incremental state

    def con(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.settings.warehouse_path), read_only=True)

    def scalar(self, sql: str):
        with self.con() as con:
            return con.execute(sql).fetchone()[0]


def _in_first_batch(path: Path) -> bool:
    """Monthly event files up to FIRST_BATCH_END, account snapshots up to it, every other snapshot."""
    match = _FILE_DATE.search(path.name)
    if not match:
        return True
    stamp = match.group(1)
    if len(stamp) == 10 and not path.name.startswith("accounts__"):
        return True  # single end-of-window snapshots (deals, leads, contacts, ...) come at once
    return stamp <= FIRST_BATCH_END[: len(stamp)]


@pytest.fixture(scope="module")
def exports(sample_exports) -> Path:
    return sample_exports


@pytest.fixture(scope="module")
def full(exports, tmp_path_factory) -> Warehouse:
    settings = Settings(home=tmp_path_factory.mktemp("home_full")).ensure()
    files = sorted(p for p in exports.rglob("*") if p.is_file() and "ground_truth" not in p.parts)
    first = [p for p in files if _in_first_batch(p)]
    rest = [p for p in files if not _in_first_batch(p)]
    assert first and rest

    # batch 1 with a copy of one finance file, superseded (same name, one invoice less) in batch 2
    staged = settings.home / "staged"
    superseded = staged / SUPERSEDED_FILE
    superseded.parent.mkdir(parents=True)
    shutil.copy(exports / SUPERSEDED_FILE, superseded)
    first = [superseded if p == exports / SUPERSEDED_FILE else p for p in first]
    assert ingest_paths(first, settings.warehouse_path).ok
    build_warehouse(settings, skip_tests=True)

    lines = superseded.read_text(encoding="utf-8").splitlines(keepends=True)
    superseded.write_text("".join(lines[:-1]), encoding="utf-8")
    assert ingest_paths([*rest, superseded], settings.warehouse_path).ok
    result = build_warehouse(settings)

    saved = {}
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema if not exists test_incremental")
        for fact in INCREMENTAL_FACTS:
            con.execute(f"create table test_incremental.{fact} as select * from marts.{fact}")
            saved[fact] = f"test_incremental.{fact}"
    build_warehouse(settings, command="run", full_refresh=True, select=list(INCREMENTAL_FACTS))
    return Warehouse(settings, result, saved)


@pytest.fixture(scope="module")
def finance_only(data_shapes, tmp_path_factory) -> Warehouse:
    """The accounting-only shape of the data-shape matrix (tests/shapes/: `crmw ingest` of the finance
    exports and `crmw build` with its data tests, once per session), copied: tests here write."""
    run = data_shapes.run("accounting_only")
    assert run.failures() == {}, run.failures()
    return Warehouse(copy_home(run.settings, tmp_path_factory.mktemp("home_finance")), None, {})


# ------------------------------------------------------------------ pure helpers
def test_dbt_args_point_dbt_at_the_project_and_keep_target_under_home(tmp_path):
    args = dbt_args("build", Settings(home=tmp_path), full_refresh=True, select=["+fct_invoices"])
    assert args[0] == "build"
    assert args[args.index("--target-path") + 1] == str(tmp_path / "dbt" / "target")
    assert "--full-refresh" in args
    assert args[args.index("--select") + 1] == "+fct_invoices"


def test_dbt_args_omit_vars_and_full_refresh_for_a_normal_test_run(tmp_path):
    args = dbt_args("test", Settings(home=tmp_path), full_refresh=True)
    assert "--vars" not in args
    assert "--full-refresh" not in args


def test_dbt_args_skip_data_and_unit_tests_on_request(tmp_path):
    args = dbt_args("build", Settings(home=tmp_path), skip_tests=True, vars={"as_of_date": "2026-03-31"})
    assert args.count("--exclude-resource-type") == 2
    assert {"test", "unit_test"} <= set(args)
    assert '{"as_of_date": "2026-03-31"}' in args


# ------------------------------------------------------------------ the full build
def test_build_on_generated_exports_gives_every_mart_with_rows(full):
    assert full.result.success
    assert not full.result.failures
    with full.con() as con:
        empty = [m for m in MARTS if con.execute(f"select count(*) from marts.{m}").fetchone()[0] == 0]
    assert empty == []


def test_every_dbt_unit_test_passes(full):
    unit = [n for n in full.result.nodes if n.resource_type == "unit_test"]
    assert len(unit) >= 8
    assert {n.status for n in unit} == {"pass"}
    names = {n.name for n in unit}
    assert {
        "ageing_buckets_follow_days_past_due",
        "attribution_splits_each_won_deal_over_the_touches_in_the_window",
        "deal_cycle_times_and_furthest_stage",
        "pipeline_rates_divide_each_stage_by_the_one_before",
    } <= names


@pytest.mark.parametrize("fact", INCREMENTAL_FACTS)
def test_incremental_build_equals_full_refresh(full, fact):
    saved = full.incremental_tables[fact]
    with full.con() as con:
        rows = con.execute(f"select count(*) from marts.{fact}").fetchone()[0]
        only_incremental = con.execute(
            f"select count(*) from (select * from {saved} except all select * from marts.{fact})"
        ).fetchone()[0]
        only_full = con.execute(
            f"select count(*) from (select * from marts.{fact} except all select * from {saved})"
        ).fetchone()[0]
    assert rows > 0
    assert (only_incremental, only_full) == (0, 0)


def test_incremental_run_drops_the_rows_of_a_superseded_file(full):
    with full.con() as con:
        in_raw = con.execute("select count(*) from raw.invoices").fetchone()[0]
        in_incremental = con.execute(
            f"select count(*) from {full.incremental_tables['fct_invoices']}"
        ).fetchone()[0]
        superseded = con.execute(
            "select count(*) from meta.load_manifest where status = 'superseded' and file_name = ?",
            [Path(SUPERSEDED_FILE).name],
        ).fetchone()[0]
    assert superseded == 1
    assert in_incremental == in_raw


def test_finance_reconciles_per_month_with_raw_which_is_exports_minus_quarantine(full):
    with full.con() as con:
        manifest = con.execute(
            "select entity, sum(rows_read - rows_quarantined), sum(rows_loaded) from meta.load_manifest "
            "where status = 'loaded' and entity in ('invoices', 'payments') group by entity"
        ).fetchall()
        raw_rows = {
            e: con.execute(f"select count(*) from raw.{e}").fetchone()[0] for e in ("invoices", "payments")
        }
        differences = con.execute(
            """
            with raw as (
                select 'invoiced' as measure, date_trunc('month', invoice_date) as month, currency, sum(amount) as total
                from raw.invoices group by all
                union all
                select 'paid', date_trunc('month', payment_date), currency, sum(amount)
                from raw.payments group by all
            ), marts as (
                select 'invoiced' as measure, invoice_month as month, currency, sum(amount) as total
                from marts.fct_invoices group by all
                union all
                select 'paid', payment_month, currency, sum(amount) from marts.fct_payments group by all
            )
            select count(*) from raw full join marts using (measure, month, currency)
            where raw.total is distinct from marts.total
            """
        ).fetchone()[0]
        months = con.execute("select count(distinct invoice_month) from marts.fct_invoices").fetchone()[0]
    for entity, read_minus_quarantined, loaded in manifest:
        assert read_minus_quarantined == loaded == raw_rows[entity]
    assert months >= 30
    assert differences == 0
    reconciliation = [n for n in full.result.nodes if n.name == "finance_reconciles_with_raw_per_month"]
    assert [n.status for n in reconciliation] == ["pass"]


def test_no_names_emails_or_phones_of_people_in_marts(full):
    people_columns = {"full_name", "contact_name", "email", "phone", "form_email", "form_phone"}
    with full.con() as con:
        columns = con.execute(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'marts'"
        ).fetchall()
        leaked_columns = [f"{t}.{c}" for t, c, _ in columns if c in people_columns]
        con.execute(
            """
            create temp table personal as
            select email as value from raw.contacts where email is not null
            union select phone from raw.contacts where phone is not null
            union select full_name from raw.contacts
            union select email from raw.leads where email is not null
            union select phone from raw.leads where phone is not null
            union select contact_name from raw.leads where contact_name is not null
            union select form_email from raw.web_events where form_email is not null
            union select form_phone from raw.web_events where form_phone is not null
            union select full_name from raw.users
            union select email from raw.users where email is not null
            """
        )
        personal_values = con.execute("select count(*) from personal").fetchone()[0]
        leaked_values = []
        for table, column, data_type in columns:
            if data_type == "VARCHAR":
                hits = con.execute(
                    f'select count(*) from marts."{table}" where "{column}" in (select value from personal)'
                ).fetchone()[0]
                if hits:
                    leaked_values.append(f"{table}.{column}")
        pii_tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'pii'"
            ).fetchall()
        }
    assert personal_values > 100
    assert leaked_columns == []
    assert leaked_values == []
    assert {"contacts", "managers"} <= pii_tables


def test_prospects_are_clients_with_their_interactions(full):
    with full.con() as con:
        prospects = con.execute(
            "select count(*) from marts.mart_client_360 where lifecycle_stage = 'prospect'"
        ).fetchone()[0]
        prospect_touches = con.execute(
            """
            select count(*) from marts.fct_interactions i
            join marts.mart_client_360 c using (client_id)
            where c.lifecycle_stage = 'prospect'
            """
        ).fetchone()[0]
        # a lead that names a company (or gives an INN) is an organisation we know of
        unconverted_leads_without_client = con.execute(
            """
            select count(*) from pii.stg_crm__leads l
            left join intermediate.int_resolution_keys k on k.resolution_key = 'leads:' || l.lead_id
            left join marts.dim_clients c on c.client_id = k.client_id
            where l.status <> 'converted' and (l.company_name is not null or l.inn is not null)
              and c.client_id is null
            """
        ).fetchone()[0]
        stages = {
            r[0] for r in con.execute("select distinct lifecycle_stage from marts.mart_client_360").fetchall()
        }
    assert prospects > 0
    assert prospect_touches > 0
    assert unconverted_leads_without_client == 0
    assert {"prospect", "active", "lost"} <= stages


def test_one_row_per_client_in_client_360_and_owner_history_answers_who_owned_when(full):
    with full.con() as con:
        clients, distinct = con.execute(
            "select count(*), count(distinct client_id) from marts.mart_client_360"
        ).fetchone()
        dims = con.execute("select count(*) from marts.dim_clients").fetchone()[0]
        overlapping = con.execute(
            """
            select count(*) from marts.dim_client_owner_history a
            join marts.dim_client_owner_history b
              on a.client_id = b.client_id and a.client_owner_period_id < b.client_owner_period_id
             and a.valid_from < coalesce(b.valid_to, date '9999-12-31')
             and b.valid_from < coalesce(a.valid_to, date '9999-12-31')
            """
        ).fetchone()[0]
        current_per_client = con.execute(
            "select max(n) from (select count(*) as n from marts.dim_client_owner_history "
            "where is_current group by client_id)"
        ).fetchone()[0]
    assert clients == distinct == dims
    assert overlapping == 0
    assert current_per_client == 1


def test_receivables_buckets_add_up_to_the_overdue_amount(full):
    with full.con() as con:
        mismatches = con.execute(
            """
            select count(*) from marts.mart_receivables
            where overdue_amount_rub <> overdue_1_30_amount_rub + overdue_31_60_amount_rub
                + overdue_61_90_amount_rub + overdue_91_180_amount_rub + overdue_over_180_amount_rub
               or open_amount_rub <> not_due_amount_rub + overdue_amount_rub
            """
        ).fetchone()[0]
        overdue = con.execute("select sum(overdue_amount_rub) from marts.mart_receivables").fetchone()[0]
    assert mismatches == 0
    assert overdue > 0


# ------------------------------------------------------------------ accounting only
def test_finance_only_company_gets_every_mart_without_error(finance_only):
    with finance_only.con() as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        counts = {m: con.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in MARTS}
    assert set(MARTS) <= tables
    assert [m for m in FINANCE_ONLY_NON_EMPTY if counts[m] == 0] == []
    assert counts["fct_interactions"] == counts["fct_web_events"] == counts["fct_deals"] == 0


def test_docs_generate_writes_the_catalog(finance_only):
    target = generate_docs(finance_only.settings)
    assert (target / "catalog.json").stat().st_size > 1000
    assert (target / "index.html").exists()


def test_a_failing_test_is_named_in_the_error(finance_only):
    with duckdb.connect(str(finance_only.settings.warehouse_path)) as con:
        con.execute(
            "delete from marts.fct_payments where payment_id = (select min(payment_id) from marts.fct_payments)"
        )
    with pytest.raises(WarehouseBuildError, match="finance_reconciles_with_raw_per_month") as caught:
        build_warehouse(finance_only.settings, command="test", select="finance_reconciles_with_raw_per_month")
    assert [f.name for f in caught.value.failures] == ["finance_reconciles_with_raw_per_month"]
    assert not caught.value.retryable


def test_every_example_query_in_the_marts_guide_runs(full):
    guide = Path(__file__).resolve().parents[2] / "docs" / "marts.md"
    statements = [
        s
        for block in re.findall(r"```sql\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)
        for s in block.split(";")
        if re.sub(r"--[^\n]*", "", s).strip()
    ]
    assert len(statements) >= 12
    with full.con() as con:
        for statement in statements:
            con.execute(statement).fetchall()
