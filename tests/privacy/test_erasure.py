"""`crmw forget`: a person erased everywhere under the home (warehouse, published copy, landing files,
reports, logs, Dagster-like SQLite storage, caches), and nobody else; what was done recorded without
personal data; and loading the landing folder again does not bring them back."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from crmw.cli import cli
from ingest.load import ingest_paths
from tests.support.traces import traces
from warehouse.publish import publish
from warehouse.settings import Settings

CONTACTS = [
    "contact_id,account_id,full_name,email,phone,job_title,created_at",
    "C1,A1,Климова Галина Юрьевна,klimova@yugsnab.com,8 (947) 404-85-77,director,2024-01-02T10:00:00",
    "C2,A1,Петров Пётр Петрович,petrov@yugsnab.com,+7 916 111 22 33,buyer,2024-01-03T10:00:00",
]
ACTIVITIES = [
    "activity_id,activity_type,direction,occurred_at,account_id,contact_id,lead_id,deal_id,owner_user_id,duration_seconds,outcome,notes",
    "AC1,call,outbound,2024-01-05T10:00:00,A1,C1,,,U1,60,ok,called Климова Галина Юрьевна on +7 947 404 85 77",
    "AC2,call,outbound,2024-01-06T10:00:00,A1,C2,,,U1,60,ok,called Petrov",
    "AC3,email,outbound,2024-01-07T10:00:00,A1,C1,,,U1,,ok,",
]
WEB_EVENTS = [
    {
        "event_id": "E1",
        "event_at": "2024-01-05T10:00:00",
        "visitor_id": "v-klimova",
        "event_type": "page_view",
    },
    {
        "event_id": "E2",
        "event_at": "2024-01-05T10:01:00",
        "visitor_id": "v-klimova",
        "event_type": "form_submit",
        "form_email": "Klimova@YugSnab.com",
        "form_company": "ЮгСнаб",
    },
    {"event_id": "E3", "event_at": "2024-01-06T10:00:00", "visitor_id": "v-other", "event_type": "page_view"},
]
COUNTERPARTIES = [
    "counterparty_id,name,inn,kpp,region,created_date",
    "CP1,ИП Соловьёва Людмила Владимировна,772519052424,,Москва,2023-01-01",
    "CP2,ООО ЮгСнаб,7707083893,770701001,Москва,2023-01-01",
]
INVOICES = [
    "invoice_id,counterparty_id,invoice_date,due_date,office_code,product_line,amount,vat_amount,currency,deal_ref",
    "I1,CP1,2024-01-05,,MSK,cloud,100.00,20.00,RUB,",
    "I2,CP2,2024-01-05,,MSK,cloud,200.00,40.00,RUB,",
]
KLIMOVA = ["klimova@yugsnab.com", "Климова Галина", "9474048577", "947) 404-85-77", "v-klimova"]
SOLOVYOVA = ["772519052424", "Соловьёва Людмила"]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def home(tmp_path) -> Settings:
    """A home whose landing files are loaded and published, and whose runs left reports, logs,
    Dagster-like storage and a resolution cache that mention Ms Klimova."""
    settings = Settings(home=tmp_path / "home").ensure()
    landing = settings.landing_dir
    write(landing / "crm" / "contacts__2024-01-31.csv", "\n".join(CONTACTS) + "\n")
    write(landing / "crm" / "activities__2024-01.csv", "\n".join(ACTIVITIES) + "\n")
    write(
        landing / "web" / "web_events__2024-01.jsonl",
        "\n".join(json.dumps(e, ensure_ascii=False) for e in WEB_EVENTS),
    )
    write(landing / "finance" / "counterparties__2024-01-31.csv", "\n".join(COUNTERPARTIES) + "\n")
    write(landing / "finance" / "invoices__2024-01.csv", "\n".join(INVOICES) + "\n")
    batch = ingest_paths([landing], settings.warehouse_path, landing=landing)
    assert batch.ok, [f.message for f in batch.refused]
    publish(settings.warehouse_path, settings.published_path)
    write(settings.home / "logs" / "last-run.log", "12:00 INFO refused row of klimova@yugsnab.com\n")
    report = write(settings.reports_dir / "2024-01" / "report.html", "<td>Климова Галина Юрьевна</td>")
    write(report.with_suffix(".pdf"), "%PDF-1.4 binary")
    write(settings.artifacts_dir / "splink" / "entity_records_model.pairs.pkl", "klimova@yugsnab.com")
    storage = settings.home / "dagster" / "history" / "runs.db"
    storage.parent.mkdir(parents=True)
    con = sqlite3.connect(storage)
    con.execute("create table event_logs (id integer, event text)")
    con.execute(
        "insert into event_logs values (1, ?), (2, 'nothing personal')", ['{"msg": "C1 klimova@yugsnab.com"}']
    )
    con.commit()
    con.close()
    return settings


def query(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_forget_by_email_erases_the_person_everywhere_under_the_home_and_nobody_else(home):
    assert traces(home, KLIMOVA), "the home should hold the person before"

    result = CliRunner(env={"CRMW_HOME": str(home.home)}).invoke(
        cli, ["forget", "--email", "klimova@yugsnab.com", "--reason", "request 42"]
    )

    assert result.exit_code == 0, result.output
    assert traces(home, [*KLIMOVA, ",C1,", '"C1"']) == []
    db = home.warehouse_path
    assert query(db, "select contact_id from raw.contacts") == [("C2",)]
    # her calls stay (the company made them), tied to a token instead of her
    assert query(
        db, "select count(*), count(distinct contact_id) from raw.activities where contact_id like 'erased-%'"
    ) == [(2, 1)]
    assert query(db, "select _extras->>'notes' from raw.activities where activity_id = 'AC1'") == [
        ("called [erased] on [erased]",)
    ]
    assert query(db, "select _extras->>'notes' from raw.activities where activity_id = 'AC2'") == [
        ("called Petrov",)
    ]
    assert query(db, "select visitor_id from raw.web_events") == [("v-other",)]
    assert not (home.reports_dir / "2024-01" / "report.pdf").exists()
    assert not (home.artifacts_dir / "splink" / "entity_records_model.pairs.pkl").exists()
    ((identified_by, reason, deleted),) = query(
        db, "select identified_by, reason, rows_deleted from meta.erasures"
    )
    assert (identified_by, reason, deleted) == ("email", "request 42", 3)  # her contact card, her two visits


def test_loading_the_landing_folder_again_does_not_bring_the_person_back(home):
    CliRunner(env={"CRMW_HOME": str(home.home)}).invoke(cli, ["forget", "--contact-id", "C1"])
    batch = ingest_paths([home.landing_dir], home.warehouse_path, landing=home.landing_dir)
    assert batch.ok
    assert {f.path.name for f in batch.files if f.status == "loaded"} >= {"contacts__2024-01-31.csv"}
    assert query(home.warehouse_path, "select contact_id from raw.contacts") == [("C2",)]
    assert query(home.warehouse_path, "select count(*) from raw.activities") == [(3,)]
    assert traces(home, KLIMOVA) == []


def test_forget_a_sole_proprietor_by_inn_keeps_the_invoices_under_a_token(home):
    result = CliRunner(env={"CRMW_HOME": str(home.home)}).invoke(cli, ["forget", "--inn", "772519052424"])
    assert result.exit_code == 0, result.output
    assert traces(home, [*SOLOVYOVA, "\nCP1,", ",CP1,", '"CP1"']) == []
    assert query(home.warehouse_path, "select counterparty_id from raw.counterparties") == [("CP2",)]
    assert query(
        home.warehouse_path, "select count(*) from raw.invoices where counterparty_id like 'erased-%'"
    ) == [(1,)]


def test_the_audit_of_an_erasure_holds_no_personal_data(home):
    CliRunner(env={"CRMW_HOME": str(home.home)}).invoke(
        cli, ["forget", "--email", "klimova@yugsnab.com", "--reason", "asked by klimova@yugsnab.com"]
    )
    rows = query(home.warehouse_path, "select * from meta.erasures")
    assert len(rows) == 1 and "klimova" not in json.dumps(rows, default=str).lower()
    assert query(home.published_path, "select count(*) from meta.erasures") == [(1,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "not-an-email"], "is not an e-mail address"),
        (["--inn", "7707083893"], "organisation's INN"),
        ([], "name the person"),
    ],
)
def test_a_request_that_names_nobody_is_a_usage_error(home, args, message):
    result = CliRunner(env={"CRMW_HOME": str(home.home)}).invoke(cli, ["forget", *args])
    assert result.exit_code == 2 and message in result.output
