"""Management reports: periods and number formats (pure), then a report rendered from a
published scale-0.01 warehouse: every section there, self-contained HTML, no personal
data, a PDF with one page per section (xhtml2pdf: no browser needed), and the page checked
in headless Chromium when Debian's chromium is installed (optional)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reports import (
    PeriodError,
    latest_complete_period,
    parse_period,
    render_latest,
    render_report,
)
from reports.charts import new_figure, to_svg
from reports.formatting import change, client_label, fmt_pct, fmt_rub, rub_axis_label
from reports.pdf import count_pdf_pages
from reports.periods import latest_complete
from reports.sections import SECTIONS
from tests.support.demo import models_error
from warehouse.publish import publish
from warehouse.settings import Settings

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SECTION_KEYS = [s.key for s in SECTIONS]
# sections that need only the dbt marts and meta: always there on demo data
MART_SECTIONS = [
    "revenue",
    "pipeline",
    "clients",
    "profitability",
    "campaigns",
    "origins",
    "receivables",
    "support",
    "key_person",
    "data",
]


# Only the browser test needs Chromium (optional: apt-get install chromium); the PDF does not.
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (optional: apt-get install chromium)"
)


# ------------------------------------------------------------------ periods
def test_a_month_period_runs_from_its_first_day_to_the_next_months_first():
    period = parse_period("2025-03")
    assert (period.start, period.end, period.kind, period.key) == (
        date(2025, 3, 1),
        date(2025, 4, 1),
        "monthly",
        "2025-03",
    )


def test_a_month_compares_with_the_month_before_and_the_same_month_a_year_earlier():
    period = parse_period("2025-01")
    assert period.previous.key == "2024-12"
    assert period.year_ago.key == "2024-01"


def test_an_iso_week_starts_on_monday_and_compares_with_the_same_week_number_a_year_earlier():
    period = parse_period("2025-W12")
    assert (period.start, period.end) == (date(2025, 3, 17), date(2025, 3, 24))
    assert period.previous.key == "2025-W11"
    assert period.year_ago.key == "2024-W12"


def test_week_53_compares_with_week_52_in_a_year_without_one():
    assert parse_period("2026-W53").year_ago.key == "2025-W52"


def test_a_day_names_its_month_or_its_week():
    assert parse_period("2025-03-19").key == "2025-03"
    assert parse_period("2025-03-19", "weekly").key == "2025-W12"


@pytest.mark.parametrize(
    ("text", "kind"), [("2025-13", None), ("March", None), ("2025-03", "weekly"), ("2025-W60", None)]
)
def test_a_malformed_or_contradictory_period_is_refused_with_an_example(text, kind):
    with pytest.raises(PeriodError, match=r"2025-03|2025-W12|week|month"):
        parse_period(text, kind)


def test_the_latest_complete_month_is_the_current_one_only_on_its_last_day():
    assert latest_complete(date(2026, 9, 30)).key == "2026-09"
    assert latest_complete(date(2026, 9, 29)).key == "2026-08"
    assert latest_complete(date(2026, 9, 27), "weekly").key == "2026-W39"  # Sunday
    assert latest_complete(date(2026, 9, 26), "weekly").key == "2026-W38"


# ------------------------------------------------------------------ formatting
def test_money_reads_with_thousands_separators_and_compacts_for_cards_and_axes():
    assert fmt_rub(54686900.4) == "₽54,686,900"
    assert fmt_rub(54686900, compact=True) == "₽54.7M"
    assert fmt_rub(-1234) == "-₽1,234"
    assert rub_axis_label(5_000_000) == "₽5M"
    assert rub_axis_label(2_500_000) == "₽2.5M"
    # babel rounds across units: just under a million is a million, not a thousand thousands
    assert fmt_rub(999_999, compact=True) == "₽1M"
    assert fmt_rub(1_234_567_890, compact=True) == "₽1.23B"


def test_rates_change_in_percentage_points_and_amounts_relatively():
    assert change(0.842, 0.923, "pct") == ("-8.1 pp", -1)
    assert change(110, 100, "rub") == ("+10.0%", 1)
    assert change(5, 0, "int") == ("new", 1)
    assert fmt_pct(None) == "–"


def test_a_sole_proprietor_is_shown_by_client_id_because_its_name_is_a_persons():
    assert (
        client_label("ИП Дмитриева Татьяна Владимировна", "CL-1", "500104541713") == "Sole proprietor · CL-1"
    )
    assert client_label("Индивидуальный предприниматель Ефимов Иван", "CL-2") == "Sole proprietor · CL-2"
    assert client_label('ООО "Термотрейд"', "CL-3", "7701234567") == 'ООО "Термотрейд"'


def test_two_charts_in_one_page_never_share_an_element_id():
    svgs = []
    for _ in range(2):
        fig, (ax,) = new_figure()
        ax.plot([0, 1], [1, 0])
        ax.set_title("same")
        svgs.append(to_svg(fig))
    ids = [set(re.findall(r'id="([^"]+)"', svg)) for svg in svgs]
    assert ids[0] and ids[1]
    assert not ids[0] & ids[1]
    assert "font-family" in svgs[0] or "font:" in svgs[0]  # real text, not glyph outlines


def test_pdf_pages_are_counted_by_pypdf_from_bytes_or_a_file(tmp_path):
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    (tmp_path / "three.pdf").write_bytes(buffer.getvalue())
    assert count_pdf_pages(buffer.getvalue()) == 3
    assert count_pdf_pages(tmp_path / "three.pdf") == 3


def test_the_print_variant_uses_only_what_xhtml2pdf_reads():
    from reports.pdf import svg_image
    from reports.template import PDF_CSS

    assert "var(" not in PDF_CSS and "grid" not in PDF_CSS and "flex" not in PDF_CSS
    fig, (ax,) = new_figure()
    ax.plot([0, 1], [1, 0])
    image = svg_image(to_svg(fig))
    assert image.startswith('<img src="data:image/svg+xml;base64,') and 'width="' in image


# ------------------------------------------------------------------ rendered on demo data
@pytest.fixture(scope="module")
def demo(published_demo) -> Settings:
    return published_demo


@pytest.fixture(scope="module")
def report(demo) -> dict:
    result = render_latest(demo)
    result["text"] = Path(result["html"]).read_text(encoding="utf-8")
    return result


@pytest.mark.slow
def test_the_latest_report_is_the_last_complete_month_of_data(demo, report):
    with duckdb.connect(str(demo.published_path), read_only=True) as con:
        as_of = con.execute("select max(as_of_date) from marts.mart_client_360").fetchone()[0]
    assert report["period"] == latest_complete(as_of).key
    assert latest_complete_period(demo).key == report["period"]
    assert Path(report["html"]) == demo.reports_dir / report["period"] / "report.html"


@pytest.mark.slow
def test_every_section_is_in_the_report_in_reading_order(report):
    positions = [report["text"].find(f'id="{key}"') for key in SECTION_KEYS]
    assert all(p > 0 for p in positions), dict(zip(SECTION_KEYS, positions, strict=True))
    assert positions == sorted(positions)


@pytest.mark.slow
def test_sections_built_on_the_marts_are_available_on_demo_data(report):
    missing = {k: v for k, v in report["sections"].items() if k in MART_SECTIONS and v != "ok"}
    assert missing == {}


@pytest.mark.slow
def test_receivables_in_the_report_are_mart_receivables_on_the_warehouse_date(demo, report):
    from models import rules

    receivables = report["text"].split('id="receivables"')[1].split("</section>")[0]
    assert "These are the figures of mart_receivables on the same day." in receivables
    with duckdb.connect(str(demo.published_path), read_only=True) as con:

        def query(sql: str, params: dict) -> pd.DataFrame:
            return con.execute(sql, params).df()

        as_of = con.execute("select max(as_of_date) from marts.mart_receivables").fetchone()[0]
        aged = rules.aged_invoices(query, [as_of], rules.load_rules(query), rules.credit_notes_sql(query))
        mart = con.execute(
            "select client_id, open_amount_rub, overdue_amount_rub, written_off_amount_rub from marts.mart_receivables"
        ).df()
    kept = aged[~aged["is_written_off"]]
    per_client = pd.DataFrame(
        {
            "open": kept.groupby("client_id")["open_amount_rub"].sum(),
            "overdue": kept[kept["days_past_due"] > 0].groupby("client_id")["open_amount_rub"].sum(),
            "written_off": aged[aged["is_written_off"]].groupby("client_id")["open_amount_rub"].sum(),
        }
    )
    both = mart.set_index("client_id").join(per_client).fillna(0.0)
    assert both["open_amount_rub"].sum() > 0
    assert ((both["open_amount_rub"].astype(float) - both["open"]).abs() < 0.01).all()
    assert ((both["overdue_amount_rub"].astype(float) - both["overdue"]).abs() < 0.01).all()
    assert ((both["written_off_amount_rub"].astype(float) - both["written_off"]).abs() < 0.01).all()


@pytest.mark.slow
def test_campaigns_are_ranked_by_what_they_caused_not_by_attributed_roi(report):
    campaigns = report["text"].split('id="campaigns"')[1].split("</section>")[0]
    assert "Campaigns: what they caused" in campaigns
    assert "by lift" in campaigns
    assert "Lift (95% interval)" in campaigns
    # on the demo no campaign touches 30 customers in both groups: the report says so, and why
    assert "too few clients" in campaigns or "no measurable effect" in campaigns.lower()


@pytest.mark.slow
def test_clients_are_ranked_by_margin_as_well_as_revenue(report):
    clients = report["text"].split('id="clients"')[1].split("</section>")[0]
    assert "Margin rank" in clients
    profit = report["text"].split('id="profitability"')[1].split("</section>")[0]
    assert "Most profitable clients" in profit and "Revenue rank" in profit
    assert "Winning against keeping clients" in profit
    origins = report["text"].split('id="origins"')[1].split("</section>")[0]
    assert "cold call" in origins and "First-year margin per client" in origins
    assert "Partners whose end users bring the most" in origins


@pytest.mark.slow
def test_the_html_is_self_contained(report):
    text = report["text"]
    assert "<script" not in text
    assert "<link" not in text
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#|data:)""", text), "a reference outside the page"
    assert "url(http" not in text
    assert text.count("<svg") >= len(MART_SECTIONS)


@pytest.mark.slow
def test_no_names_emails_or_phones_of_people_in_the_report(demo, report):
    text = report["text"]
    with duckdb.connect(str(demo.warehouse_path), read_only=True) as con:
        values = set()
        for table in ("pii.contacts", "pii.managers"):
            columns = {r[0] for r in con.execute(f"describe {table}").fetchall()}
            for column in (
                ("full_name", "email", "phone") if table == "pii.contacts" else ("full_name", "email")
            ):
                if column in columns:
                    values |= {r[0] for r in con.execute(f"select distinct {column} from {table}").fetchall()}
        sole_proprietors = {
            r[0]
            for r in con.execute(
                "select client_name from marts.dim_clients where length(primary_inn) = 12 and client_name is not null"
            ).fetchall()
        }
    values = {v.strip() for v in values if v and len(v.strip()) >= 6}
    assert len(values) > 50  # the demo data has people to leak
    leaked = sorted(v for v in values | sole_proprietors if v in text)
    assert leaked == []
    assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), "an e-mail address in the report"


@pytest.mark.slow
def test_the_pdf_has_a_summary_page_and_one_page_per_section(report):
    data = Path(report["pdf"]).read_bytes()
    assert data.startswith(b"%PDF")
    assert count_pdf_pages(data) == report["pdf_pages"] == 1 + len(SECTIONS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(report["pdf"], ARTIFACTS / "report.pdf")


@pytest.mark.slow
def test_the_pdf_carries_real_text_in_cyrillic_with_a_page_footer(report):
    from pypdf import PdfReader

    pages = [page.extract_text() for page in PdfReader(report["pdf"]).pages]
    total = len(pages)
    assert all(f"page {i} of {total}" in text for i, text in enumerate(pages, start=1))
    assert "Monthly management report" in pages[0]
    assert "₽" in pages[0]  # the rouble sign: the embedded DejaVu font has it
    for section, text in zip(SECTIONS, pages[1:], strict=True):
        assert section.title in text.replace("\n", " "), section.key
    assert re.search("[А-Яа-я]{4,}", " ".join(pages)), "company names in Cyrillic"


@pytest.mark.slow
def test_without_a_pdf_engine_the_report_is_html_and_says_how_to_get_the_pdf(
    demo, report, tmp_path, monkeypatch
):
    import builtins

    real_import = builtins.__import__

    def no_xhtml2pdf(name, *args, **kwargs):
        if name.startswith("xhtml2pdf"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    home = Settings(home=tmp_path / "no_engine").ensure()
    shutil.copy(demo.published_path, home.published_path)
    monkeypatch.setattr(builtins, "__import__", no_xhtml2pdf)
    result = render_report(home, report["period"])
    assert result["pdf"] is None and Path(result["html"]).exists()
    assert "pip install xhtml2pdf" in result["pdf_skipped"]
    assert not list((home.reports_dir / report["period"]).glob("*.pdf"))


@pytest.mark.slow
def test_a_weekly_report_goes_to_its_iso_week_folder(demo, report):
    week = latest_complete_period(demo, "weekly")
    result = render_report(demo, week.key, "weekly", pdf=False)
    assert Path(result["html"]).parent.name == week.key
    assert "Weekly management report" in Path(result["html"]).read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_period_past_the_data_says_it_is_not_complete(demo, report):
    last = parse_period(report["period"]).shifted(1)
    result = render_report(demo, last.key, pdf=False)
    assert "has no data for this period yet" in Path(result["html"]).read_text(encoding="utf-8")


@pytest.mark.slow
def test_sections_whose_tables_are_not_published_say_so_and_why(demo, report, tmp_path):
    bare = Settings(home=tmp_path / "bare").ensure()
    publish(demo.warehouse_path, bare.published_path, schemas=("marts",))
    result = render_report(bare, report["period"], pdf=False)
    text = Path(result["html"]).read_text(encoding="utf-8")
    assert result["sections"]["churn"] != "ok" and "ml.churn_scores" in result["sections"]["churn"]
    assert result["sections"]["data"] != "ok" and "meta.load_manifest" in result["sections"]["data"]
    assert result["sections"]["revenue"] == "ok"
    assert text.count("Not available yet") >= 2


@pytest.mark.slow
def test_model_tables_created_but_not_yet_written_count_as_not_available(demo, report, tmp_path):
    from models.schema import ensure_ml_schema

    home = Settings(home=tmp_path / "empty_ml").ensure()
    shutil.copy(demo.published_path, home.published_path)
    with duckdb.connect(str(home.published_path)) as con:
        con.execute("drop schema if exists ml cascade")
        ensure_ml_schema(con)
    result = render_report(home, report["period"], pdf=False)
    assert "has no rows yet" in result["sections"]["churn"]


@pytest.mark.slow
def test_the_churn_watchlist_is_filled_when_the_models_have_run(demo, report):
    assert models_error(demo) is None, f"the model jobs failed on the demo data: {models_error(demo)}"
    assert report["sections"]["churn"] == "ok"
    assert "Watchlist: most revenue at risk" in report["text"]


# ------------------------------------------------------------------ model outputs shaped as models/schema.py
def _write_model_outputs(con: duckdb.DuckDBPyConnection, period_key: str) -> None:
    """A few rows in every ml table the report reads, as the model jobs write them (models/schema.py),
    for the period end and the one before, and data-quality results with one failing suite."""
    import numpy as np
    import pandas as pd

    from models.schema import TABLES, ensure_ml_schema, replace_rows
    from quality.results import ensure_results_tables

    def write(table: str, frame: pd.DataFrame) -> None:
        for column, _ in TABLES[table]:
            if column not in frame:
                frame[column] = None
        replace_rows(con, table, frame, {})

    period = parse_period(period_key)
    days = [period.previous.end, period.end]  # as_of_date is exclusive: data before that day
    rng = np.random.default_rng(7)
    clients = [
        r[0] for r in con.execute("select client_id from marts.dim_clients where is_customer").fetchall()
    ]
    n = len(clients)
    con.execute("drop schema if exists ml cascade")
    ensure_ml_schema(con)
    segments, scores = [], []
    for day in days:
        revenue = rng.gamma(2.0, 5e6, n)
        segment = np.where(revenue > 15e6, "top value", np.where(revenue > 6e6, "core", "occasional"))
        segments.append(
            pd.DataFrame(
                {
                    "as_of_date": day,
                    "client_id": clients,
                    "segment": segment,
                    "value_class": segment,
                    "behaviour": "regular",
                    "revenue_12m_rub": revenue,
                }
            )
        )
        p = rng.beta(1.2, 4.0, n)
        scores.append(
            pd.DataFrame(
                {
                    "as_of_date": day,
                    "client_id": clients,
                    "churn_probability": p,
                    "risk_band": np.where(p >= 0.5, "high", np.where(p >= 0.2, "medium", "low")),
                    "drivers": "no invoice for 210 days, usually every 45; 2 open ticket(s), 1 high or critical",
                    "driver_features": "recency,tickets",
                    "revenue_12m_rub": revenue,
                }
            )
        )
    write("client_segments", pd.concat(segments))
    write("churn_scores", pd.concat(scores))
    write(
        "model_metrics",
        pd.DataFrame(
            {
                "as_of_date": days[1],
                "model_name": "churn",
                "backtest_as_of_date": days[0],
                "horizon_days": 180,
                "method": ["gradient_boosting", "recency_rule"],
                "is_baseline": [False, True],
                "rows_scored": 90,
                "positives": 12,
                "roc_auc": [0.78, 0.66],
                "pr_auc": [0.41, 0.28],
                "brier": 0.1,
            }
        ),
    )
    forecasts = []
    for issued in (period.previous.start, period.start, period.end):
        for horizon in (1, 2, 3):
            month = parse_period(issued.isoformat()).shifted(horizon - 1).start
            forecasts.append(
                {
                    "as_of_date": issued,
                    "forecast_month": month,
                    "horizon_months": horizon,
                    "level": "total",
                    "forecast_rub": 5e7,
                    "lower_80_rub": 4e7,
                    "upper_80_rub": 6e7,
                    "lower_95_rub": 3.5e7,
                    "upper_95_rub": 6.5e7,
                }
            )
    write("sales_forecast", pd.DataFrame(forecasts))
    write(
        "forecast_accuracy",
        pd.DataFrame(
            {
                "as_of_date": days[1],
                "level": "total",
                "horizon_months": [1, 1, 2, 2],
                "method": ["ets", "seasonal_naive", "ets", "seasonal_naive"],
                "is_baseline": [False, True, False, True],
                "origins": 12,
                "wape": [0.14, 0.25, 0.18, 0.27],
                "bias": 0.02,
                "coverage_80": [0.78, None, 0.75, None],
                "coverage_95": [0.93, None, 0.9, None],
            }
        ),
    )
    write(
        "model_runs",
        pd.DataFrame(
            {
                "run_id": ["segments-1", "churn-1", "sales_forecast-1"],
                "model_name": ["segments", "churn", "sales_forecast"],
                "version": 1,
                "as_of_date": days[1],
                "trained_at": pd.Timestamp("2026-10-01 06:00"),
                "horizon_days": [None, 180, None],
                "horizon_months": [None, None, 3],
                "params": [None, None, '{"history_months": 36, "regime": "seasonal"}'],
                "status": "trained",
            }
        ),
    )
    ensure_results_tables(con)
    con.executemany(
        "insert into meta.dq_suite_runs (run_id, checked_at, suite, layer, asset, check_name, severity, status, "
        "expectations, failed_expectations, message) values (?, now()::timestamp, ?, 'marts', ?, ?, ?, ?, 10, ?, ?)",
        [
            [
                "r1",
                f"suite_{i}",
                f"mart_{i}",
                "columns_valid",
                "error",
                "failed" if i == 0 else "passed",
                2 if i == 0 else 0,
                "2 of 10 expectations failed" if i == 0 else None,
            ]
            for i in range(5)
        ],
    )


@pytest.fixture(scope="module")
def report_with_models(demo, report, tmp_path_factory) -> dict:
    home = Settings(home=tmp_path_factory.mktemp("with_models")).ensure()
    shutil.copy(demo.published_path, home.published_path)
    with duckdb.connect(str(home.published_path)) as con:
        _write_model_outputs(con, report["period"])
    result = render_report(home, report["period"])
    result["text"] = Path(result["html"]).read_text(encoding="utf-8")
    return result


@pytest.mark.slow
def test_with_model_outputs_every_section_is_available(report_with_models):
    assert report_with_models["sections"] == dict.fromkeys(SECTION_KEYS, "ok")


@pytest.mark.slow
def test_revenue_is_set_against_the_forecast_made_before_the_period_and_its_measured_accuracy(
    report_with_models,
):
    revenue = report_with_models["text"].split('id="revenue"')[1].split("</section>")[0]
    assert "Forecast for the period" in revenue
    assert "80% interval ₽40M – ₽60M" in revenue or "80% interval ₽40.0M – ₽60.0M" in revenue
    assert "Measured accuracy of the forecast" in revenue
    assert "seasonal_naive" in revenue


@pytest.mark.slow
def test_the_watchlist_names_drivers_and_owners_and_segments_show_their_movements(report_with_models):
    text = report_with_models["text"]
    churn = text.split('id="churn"')[1].split("</section>")[0]
    assert "no invoice for 210 days" in churn
    assert re.search(r"USR-\d+", churn)
    assert "Backtest PR-AUC" in churn
    clients = text.split('id="clients"')[1].split("</section>")[0]
    assert "Value segments, most valuable first, and where their clients went" in clients


@pytest.mark.slow
def test_a_failing_data_quality_suite_is_on_the_first_page_and_in_its_section(report_with_models):
    text = report_with_models["text"]
    summary = text.split('id="summary"')[1].split("</header>")[0]
    assert "FAILED: 1 blocking" in summary
    assert "2 of 10 expectations failed" in text.split('id="data"')[1]


@pytest.mark.slow
def test_with_model_outputs_every_section_still_fits_one_pdf_page(report_with_models):
    assert report_with_models["pdf_pages"] == 1 + len(SECTIONS)


@pytest.mark.slow
def test_no_published_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="crmw run"):
        render_report(Settings(home=tmp_path), "2025-03", pdf=False)


# ------------------------------------------------------------------ in the browser
@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_the_report_renders_in_headless_chromium_with_every_section_and_no_errors(report):
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_FLAGS))
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.on(
                "console",
                lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
            page.on(
                "request",
                lambda r: (
                    None if r.url.startswith(("file:", "data:")) else problems.append(f"request: {r.url}")
                ),
            )
            page.goto(Path(report["html"]).resolve().as_uri(), wait_until="load")
            headings = page.locator("section.report-section h2").all_inner_texts()
            for key in SECTION_KEYS:
                section = page.locator(f"section#{key}")
                assert section.count() == 1, key
                assert section.is_visible(), key
            for key in MART_SECTIONS:
                chart = page.locator(f"section#{key} svg.chart")
                assert chart.count() == 1, key
                box = chart.bounding_box()
                assert box and box["width"] > 400 and box["height"] > 100, (key, box)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(headings) == len(SECTIONS)
    assert [h.split(". ", 1)[1] for h in headings] == [s.title for s in SECTIONS]
    assert problems == []
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
