"""The data shapes real companies send, cut from the session's sample exports (scale 0.01, generic
dialects, 36 months to 2026-09-30): one source, a short history, nothing to match, one client, a
month with no rows, a source that starts late, ... Each `Shape` writes its exports to a folder; the
matrix (tests/shapes/) runs the whole pipeline on them.

Cuts work on the export files as text (every value a string, written back as the generic dialect
writes it), so planted faults stay where they were and ingest meets them as usual. The ground truth
(`ground_truth/source_records.csv`, `groups.csv`) says which records belong to which client group.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

END_MONTH = "2026-09"  # the sample's last month
FILE_NAME = re.compile(r"^(?P<entity>[a-z_]+)__(?P<label>\d{4}-\d{2}(-\d{2})?)\.csv$")
# snapshot entities whose rows start on a date: dropped with the months a cut leaves out
CREATED = {"leads": "created_at", "deals": "created_at", "tickets": "opened_at"}


def month_label(months_back: int) -> str:
    """The month `months_back` months before END_MONTH ("2026-09" for 0)."""
    year, month = map(int, END_MONTH.split("-"))
    index = year * 12 + month - 1 - months_back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass
class ExportSet:
    """Export files in memory: relative path ("finance/invoices__2026-01.csv") -> rows as text."""

    files: dict[str, pd.DataFrame]
    truth: Path  # the ground_truth folder of the sample the files come from

    @classmethod
    def read(cls, root: Path) -> ExportSet:
        return cls(dict(_read_all(root)), root / "ground_truth")

    # ------------------------------------------------------------------ what a file is
    @staticmethod
    def entity(rel: str) -> str:
        return FILE_NAME.match(Path(rel).name)["entity"]

    @staticmethod
    def label(rel: str) -> str:
        return FILE_NAME.match(Path(rel).name)["label"]

    @staticmethod
    def source(rel: str) -> str:
        return rel.split("/", 1)[0]

    @classmethod
    def is_monthly(cls, rel: str) -> bool:
        return len(cls.label(rel)) == 7

    # ------------------------------------------------------------------ cuts (each returns a new set)
    def keep_files(self, keep: Callable[[str], bool]) -> ExportSet:
        return ExportSet({rel: df for rel, df in self.files.items() if keep(rel)}, self.truth)

    def only(self, *sources: str) -> ExportSet:
        return self.keep_files(lambda rel: self.source(rel) in sources)

    def rows(self, entity: str, keep: Callable[[pd.DataFrame], pd.Series]) -> ExportSet:
        """Keep the rows of every file of `entity` for which `keep` is true."""
        return self.map(entity, lambda df: df[keep(df).to_numpy(dtype=bool)])

    def map(self, entity: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> ExportSet:
        return ExportSet(
            {rel: change(df.copy()) if self.entity(rel) == entity else df for rel, df in self.files.items()},
            self.truth,
        )

    def frame(self, entity: str) -> pd.DataFrame:
        """Every row of an entity, all files together."""
        frames = [df for rel, df in self.files.items() if self.entity(rel) == entity]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def months(self, first: str, last: str = END_MONTH) -> ExportSet:
        """History from `first` to `last` (YYYY-MM): the monthly files of those months, account
        snapshots of those months, and leads, deals and tickets that started in them."""

        def keep(rel: str) -> bool:
            label = self.label(rel)[:7]
            if self.is_monthly(rel) or self.entity(rel) == "accounts":
                return first <= label <= last
            return True

        out = self.keep_files(keep)
        for entity, column in CREATED.items():
            out = out.rows(entity, lambda df, column=column: _month_of(df[column]).between(first, last))
        return out

    def blank_months(self, *labels: str) -> ExportSet:
        """The monthly exports of these months hold their header and no row (nothing happened, or the
        system was down)."""
        return ExportSet(
            {
                rel: df.iloc[0:0] if self.is_monthly(rel) and self.label(rel) in labels else df
                for rel, df in self.files.items()
            },
            self.truth,
        )

    def clients(self, groups: set[str]) -> ExportSet:
        """Only what concerns these client groups: their counterparties and everything booked on them,
        their CRM accounts with their contacts, deals, activities, tickets and leads, and the web events
        of those leads; the company's own records (users, partners, campaigns) stay."""
        records = pd.read_csv(self.truth / "source_records.csv", dtype=str, keep_default_na=False)
        mine = records[records["group_id"].isin(groups)]
        counterparties = set(mine.loc[mine["entity"] == "counterparties", "record_id"])
        accounts = set(mine.loc[mine["entity"] == "accounts", "record_id"])
        leads = self.frame("leads")
        lead_ids = set(
            leads.loc[
                leads["lead_id"].isin(mine.loc[mine["entity"] == "leads", "record_id"])
                | leads["converted_account_id"].isin(accounts),
                "lead_id",
            ]
        )
        contacts = self.frame("contacts")
        contact_ids = set(contacts.loc[contacts["account_id"].isin(accounts), "contact_id"])
        deals = self.frame("deals")
        deal_ids = set(deals.loc[deals["account_id"].isin(accounts), "deal_id"])
        out = self
        for entity in ("counterparties", "invoices", "payments", "credit_notes"):
            out = out.rows(entity, lambda df: df["counterparty_id"].isin(counterparties))
        for entity in ("accounts", "contacts", "deals", "tickets", "activities"):
            out = out.rows(entity, lambda df: df["account_id"].isin(accounts))
        out = out.rows("leads", lambda df: df["lead_id"].isin(lead_ids))
        out = out.rows("deal_stage_changes", lambda df: df["deal_id"].isin(deal_ids))
        out = out.rows(
            "campaign_members",
            lambda df: (
                df["account_id"].isin(accounts)
                | df["contact_id"].isin(contact_ids)
                | df["lead_id"].isin(lead_ids)
            ),
        )
        return out.rows("web_events", lambda df: df["lead_id"].isin(lead_ids))

    def write(self, out: Path) -> Path:
        for rel, df in self.files.items():
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        return out


@cache
def _read_all_cached(root: str) -> tuple[tuple[str, pd.DataFrame], ...]:
    out = []
    for path in sorted(Path(root).glob("*/*.csv")):
        if path.parent.name == "ground_truth":
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        out.append((f"{path.parent.name}/{path.name}", frame))
    return tuple(out)


def _read_all(root: Path) -> tuple[tuple[str, pd.DataFrame], ...]:
    return _read_all_cached(str(root))


def _month_of(values: pd.Series) -> pd.Series:
    """YYYY-MM of ISO dates and timestamps; unreadable values (planted faults) keep their row."""
    text = values.astype(str).str[:7]
    return text.where(text.str.fullmatch(r"\d{4}-\d{2}"), END_MONTH)


def groups(truth: Path) -> pd.DataFrame:
    return pd.read_csv(truth / "groups.csv", dtype=str, keep_default_na=False)


def customer_groups(exports: ExportSet, n: int) -> set[str]:
    """The `n` client groups with the most invoices (ties by id): clients with a history to learn from."""
    records = pd.read_csv(exports.truth / "source_records.csv", dtype=str, keep_default_na=False)
    group_of = records[records["entity"] == "counterparties"].set_index("record_id")["group_id"]
    invoices = exports.frame("invoices")
    counts = invoices["counterparty_id"].map(group_of).value_counts()
    counts = (
        counts.rename_axis("group_id")
        .reset_index(name="n")
        .sort_values(["n", "group_id"], ascending=[False, True])
    )
    return set(counts["group_id"].head(n))


# ---------------------------------------------------------------------------- the shapes
@dataclass(frozen=True)
class ModelRun:
    """One `crmw models run` of a shape: its options, and whether the forecast backtest must exist."""

    churn_horizon_days: int = 180
    forecast_horizon_months: int = 6
    backtest: bool = True

    def args(self) -> list[str]:
        args = [
            "--churn-horizon-days",
            str(self.churn_horizon_days),
            "--forecast-horizon-months",
            str(self.forecast_horizon_months),
        ]
        return args + ([] if self.backtest else ["--no-backtest"])


@dataclass(frozen=True)
class Shape:
    name: str
    description: str
    cut: Callable[[ExportSet], ExportSet]
    runs: tuple[ModelRun, ...] = (ModelRun(),)
    # models whose status the shape decides (the others may be anything but a traceback)
    expect: dict[str, str] = field(default_factory=dict)
    dagster: bool = False  # through `crmw run` (Dagster) instead of step by step


def _one_per_group(exports: ExportSet, halves: tuple[int, int]) -> ExportSet:
    """Accounting for some groups, the CRM for others, one record per group and nothing that links
    them: no two records share a tax number, a name, a domain or a deal."""
    gr = groups(exports.truth)
    # groups whose name stem is theirs alone (random stems may repeat across groups)
    stems = gr["group_name"].str.lower().str.split().str[0]
    gr = gr[~stems.duplicated(keep=False)].sort_values("group_id")
    finance_groups = set(gr["group_id"].iloc[halves[0] :: 2])
    crm_groups = set(gr["group_id"].iloc[halves[1] :: 2])
    records = pd.read_csv(exports.truth / "source_records.csv", dtype=str, keep_default_na=False)
    first = records.sort_values("record_id").drop_duplicates(["entity", "group_id"])
    counterparties = set(
        first.loc[(first["entity"] == "counterparties") & first["group_id"].isin(finance_groups), "record_id"]
    )
    accounts = set(
        first.loc[(first["entity"] == "accounts") & first["group_id"].isin(crm_groups), "record_id"]
    )
    out = exports.only("finance", "crm").keep_files(
        lambda rel: exports.entity(rel) not in {"leads", "campaign_members"}
    )
    for entity in ("counterparties", "invoices", "payments", "credit_notes"):
        out = out.rows(entity, lambda df: df["counterparty_id"].isin(counterparties))
    out = out.map("invoices", lambda df: df.assign(deal_ref=""))
    for entity in ("accounts", "contacts", "deals", "tickets", "activities"):
        out = out.rows(entity, lambda df: df["account_id"].isin(accounts))
    deals = set(out.frame("deals")["deal_id"])
    out = out.rows("deal_stage_changes", lambda df: df["deal_id"].isin(deals))
    out = out.map("accounts", lambda df: df.assign(parent_account_id=""))
    return out.map("deals", lambda df: df.assign(lead_id="", campaign_id=""))


def _in_other_currencies(exports: ExportSet) -> ExportSet:
    """No rouble anywhere: what was in roubles is in euros at the warehouse's rate (100 roubles,
    dbt/seeds/currency_rates.csv; the sample's rouble amounts are whole roubles, so euros to the cent
    and payments still settle their invoices exactly); the sample's dollar rows stay in dollars."""

    def convert(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
        roubles = df["currency"] == "RUB"
        for column in columns:
            value = pd.to_numeric(df[column], errors="coerce")
            euros = (value / 100).map(lambda v: f"{v:.2f}")
            df[column] = df[column].where(~roubles | value.isna(), euros)
        df["currency"] = df["currency"].where(~roubles, "EUR")
        return df

    deals = exports.frame("deals")
    rouble_deals = set(deals.loc[deals["currency"] == "RUB", "deal_id"]) if len(deals) else set()

    def convert_changes(df: pd.DataFrame) -> pd.DataFrame:
        # a deal's stage changes carry its amount in its currency (no column of their own)
        return convert(df.assign(currency=df["deal_id"].isin(rouble_deals).map({True: "RUB", False: ""})),
                       ("amount",)).drop(columns="currency")  # fmt: skip

    out = exports.map("deal_stage_changes", convert_changes)
    for entity, columns in (
        ("invoices", ("amount", "vat_amount")),
        ("payments", ("amount",)),
        ("credit_notes", ("amount",)),
        ("deals", ("amount",)),
        ("campaigns", ("cost",)),
    ):
        out = out.map(entity, lambda df, columns=columns: convert(df, columns))
    return out


def _one_office_one_line(exports: ExportSet) -> ExportSet:
    """A company with one office selling one product line."""
    out = exports
    for entity in ("invoices", "deals"):
        out = out.map(
            entity,
            lambda df: df.assign(
                office_code=df["office_code"].where(df["office_code"] == "", "MSK"),
                product_line=df["product_line"].where(df["product_line"] == "", "licenses"),
            ),
        )
    for entity in ("accounts", "campaigns"):
        out = out.map(
            entity, lambda df: df.assign(office_code=df["office_code"].where(df["office_code"] == "", "MSK"))
        )
    return out


def _arriving_together(exports: ExportSet, months: int) -> ExportSet:
    """Accounting only, `months` months, and only the clients whose first invoice in them is in the
    first month: every client arrives at once (a retailer's opening quarter, a migrated system)."""
    first = month_label(months - 1)
    out = exports.only("finance").months(first)
    invoices = out.frame("invoices")
    starters = set(invoices.loc[invoices["invoice_date"].str[:7] == first, "counterparty_id"])
    for entity in ("counterparties", "invoices", "payments", "credit_notes"):
        out = out.rows(entity, lambda df: df["counterparty_id"].isin(starters))
    return out


def _late_source(exports: ExportSet, start: str) -> ExportSet:
    """The CRM and the web channel from `start` only (adopted half-way): their monthly files and the
    leads, deals and tickets from then; accounting has the whole history."""
    late = exports.keep_files(
        lambda rel: (
            exports.source(rel) == "finance"
            or not (exports.is_monthly(rel) or exports.entity(rel) == "accounts")
            or exports.label(rel)[:7] >= start
        )
    )
    for entity, column in CREATED.items():
        late = late.rows(entity, lambda df, column=column: _month_of(df[column]) >= start)
    return late


def _office_line_currencies(exports: ExportSet) -> ExportSet:
    return _in_other_currencies(_one_office_one_line(exports))


def _late_and_empty(exports: ExportSet) -> ExportSet:
    """The CRM and the web channel from half-way, and two later months with no rows in any export."""
    return _late_source(exports, month_label(17)).blank_months(month_label(15), month_label(16))


# Some properties share a shape where they cannot hide each other (a build costs some 20 seconds):
# one office and one line with other currencies; a late source with empty months.
SHAPES: tuple[Shape, ...] = (
    Shape("accounting_only", "accounting exports only, three years", lambda e: e.only("finance"),
          expect={"lead": "skipped", "churn": "trained", "sales_forecast": "trained"}),
    Shape("crm_only", "CRM exports only: no invoice", lambda e: e.only("crm"),
          expect={"segments": "skipped", "churn": "skipped", "sales_forecast": "skipped", "lead": "trained"}),
    Shape("web_only", "web-channel exports only", lambda e: e.only("web"),
          expect={"segments": "skipped", "churn": "skipped", "sales_forecast": "skipped", "lead": "skipped"}),
    Shape("nothing_matches", "accounting and CRM, one record per client, nothing to match",
          lambda e: _one_per_group(e, (0, 1)), expect={"lead": "skipped"}),
    Shape("one_client", "one client (every source)", lambda e: e.clients(customer_groups(e, 1)),
          expect={"segments": "skipped", "churn": "baseline"}),
    Shape("ten_clients", "ten clients (every source)", lambda e: e.clients(customer_groups(e, 10))),
    Shape("months_3", "3 months of history; horizons longer than it",
          lambda e: e.months(month_label(2)),
          runs=(ModelRun(), ModelRun(churn_horizon_days=273, forecast_horizon_months=9))),
    Shape("months_6", "6 months of history, through `crmw run` (Dagster)", lambda e: e.months(month_label(5)),
          dagster=True),
    Shape("months_9", "9 months of history", lambda e: e.months(month_label(8))),
    Shape("months_13", "13 months of history", lambda e: e.months(month_label(12))),
    Shape("arriving_together", "accounting only, 9 months, every client arriving in the first month",
          lambda e: _arriving_together(e, 9),
          runs=(ModelRun(churn_horizon_days=273, forecast_horizon_months=9),
                ModelRun(churn_horizon_days=90, forecast_horizon_months=9, backtest=False))),
    Shape("office_line_currencies", "one office, one product line, no amount in roubles",
          _office_line_currencies),
    Shape("late_sources_empty_months",
          "the CRM and the web channel start half-way; two later months with no rows in any export",
          _late_and_empty),
)  # fmt: skip
SHAPES_BY_NAME = {s.name: s for s in SHAPES}
