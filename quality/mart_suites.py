"""Mart suites, generated from the dbt YAML of the marts (dbt/models/marts/**.yml): the
grain, column types and relationships the marts declare are what the suites check, so a
new mart or column is checked without touching this module.

Per mart (Dagster asset checks on the dbt asset of the model):

| check                 | severity | what fails it                                                    |
|-----------------------|----------|------------------------------------------------------------------|
| keys_are_unique       | error    | a column with a `unique` test null or repeated                   |
| money_is_not_negative | error    | a money column (amount, cost, *_rub) below zero                  |
| dates_are_in_range    | error    | a date of a fact outside the calendar (dbt vars dates_start..    |
|                       |          | dates_end, what dim_dates spans); of any other mart before 1990  |
|                       |          | or after dates_end                                               |
| references_resolve    | error    | a value with a `relationships` test (error severity) missing     |
|                       |          | from its parent                                                  |

dbt's own tests cover keys and relationships when the build runs; these suites repeat them
so every mart has one place where results are kept with time (meta.dq_results) and shown
in Data Docs, and add what dbt does not test (money signs, date ranges).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path

import duckdb
import great_expectations.expectations as gxe
import yaml

from quality.raw_suites import DATE_FLOOR
from quality.scan import scanned_batch
from quality.suite import Batch, Suite, make_suite, note, quote, read_frame, table_columns
from warehouse.settings import PROJECT_DIR

DBT_DIR = PROJECT_DIR / "dbt"
MARTS_DIR = DBT_DIR / "models" / "marts"
MONEY_COLUMN = re.compile(r"(^|_)(amount|cost)(_|$)|_rub$")
MONEY_TYPES = ("decimal", "numeric", "double", "float", "real")
DATE_TYPES = ("date", "timestamp")
_REF = re.compile(r"ref\(\s*['\"]([^'\"]+)['\"]\s*\)")
_ALIAS = re.compile(r"config\([^)]*\balias\s*=\s*['\"]([^'\"]+)['\"]", re.DOTALL)


@dataclass(frozen=True)
class Reference:
    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class MartSpec:
    """What the dbt YAML says about one mart."""

    name: str
    schema: str
    relation: str  # the table dbt builds: the model name, or its alias (pii.contacts)
    keys: tuple[str, ...]
    money: tuple[str, ...]
    dates: tuple[str, ...]
    references: tuple[Reference, ...]

    @property
    def is_fact(self) -> bool:
        return self.name.startswith("fct_")


def _tests(column: dict) -> list:
    return list(column.get("data_tests") or column.get("tests") or [])


def _reference(column: str, test) -> Reference | None:
    if not isinstance(test, dict) or "relationships" not in test:
        return None
    spec = test["relationships"] or {}
    arguments = spec.get("arguments", spec)
    if (spec.get("config") or {}).get("severity", "error") == "warn":
        return None  # dbt only warns about it (a deal id accounting typed by hand): so do we, by not failing
    match = _REF.search(str(arguments.get("to", "")))
    if not match or not arguments.get("field"):
        return None
    return Reference(column=column, parent=match.group(1), parent_column=arguments["field"])


def parse_mart_yaml(path: Path) -> list[MartSpec]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    schema = "pii" if "pii" in path.relative_to(MARTS_DIR).parts else "marts"
    specs = []
    for model in document.get("models") or []:
        keys, money, dates, references = [], [], [], []
        for column in model.get("columns") or []:
            name = column["name"]
            data_type = str(column.get("data_type", "")).lower()
            tests = _tests(column)
            if any(t == "unique" or (isinstance(t, dict) and "unique" in t) for t in tests):
                keys.append(name)
            # money that may fall below zero (margins, differences) says so: meta: {signed: true}
            signed = bool((column.get("meta") or {}).get("signed"))
            if MONEY_COLUMN.search(name) and data_type.startswith(MONEY_TYPES) and not signed:
                money.append(name)
            if data_type.startswith(DATE_TYPES):
                dates.append(name)
            references += [r for r in (_reference(name, t) for t in tests) if r]
        sql = next(path.parent.rglob(f"{model['name']}.sql"), None)
        alias = _ALIAS.search(sql.read_text(encoding="utf-8")) if sql else None
        specs.append(
            MartSpec(
                name=model["name"],
                schema=schema,
                relation=alias.group(1) if alias else model["name"],
                keys=tuple(keys),
                money=tuple(money),
                dates=tuple(dates),
                references=tuple(references),
            )
        )
    return specs


@cache
def mart_specs() -> tuple[MartSpec, ...]:
    specs = []
    for path in sorted(MARTS_DIR.rglob("*.yml")):
        specs += parse_mart_yaml(path)
    return tuple(specs)


@cache
def calendar_range() -> tuple[datetime, datetime]:
    """The span of dim_dates (dbt vars dates_start, dates_end)."""
    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    bounds = []
    for var in ("dates_start", "dates_end"):
        value = project["vars"][var]
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
        bounds.append(datetime(day.year, day.month, day.day))
    return bounds[0], bounds[1]


def _table(spec: MartSpec) -> str:
    return f"{spec.schema}.{quote(spec.relation)}"


def _keyed_columns_batch(
    con: duckdb.DuckDBPyConnection,
    spec: MartSpec,
    columns: Sequence[str],
    expectations: list[gxe.Expectation],
) -> Batch:
    """The mart's `columns` counted in DuckDB, its keys naming a failing row (quality/scan.py).
    A column the mart lacks is named in the scan, so the suite is an error, as a failed read was."""
    present = table_columns(con, spec.schema, spec.relation)
    types = {c: present.get(c, "") for c in [*spec.keys, *columns]}
    return scanned_batch(con, _table(spec), types, expectations, index_columns=list(spec.keys))


# --------------------------------------------------------------------------- suites
def keys_are_unique(spec: MartSpec) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        # Counted in DuckDB: the frame holds only the key values that repeat or are empty.
        table = _table(spec)
        frame = read_frame(
            con,
            " union all ".join(
                f"select '{key}' AS key_column, cast({quote(key)} AS varchar) AS key_value, count(*) AS copies "
                f"from {table} group by all having count(*) > 1 or {quote(key)} is null"
                for key in spec.keys
            ),
        )
        rows = con.execute(f"select count(*) from {table}").fetchall()[0][0]
        return Batch(
            frame=frame,
            expectations=[
                gxe.ExpectColumnValuesToBeBetween(
                    column="copies",
                    max_value=1,
                    meta=note("One row per key value that repeats or is empty: none, when the grain holds."),
                ),
                gxe.ExpectColumnValuesToNotBeNull(column="key_value"),
            ],
            index_columns=["key_column", "key_value"],
            notes=[f"{rows} rows"],
        )

    return make_suite(
        "marts",
        spec.name,
        "keys_are_unique",
        description=f"{spec.name}: {', '.join(spec.keys)} present and unique (the grain its YAML states).",
        build=build,
    )


def money_is_not_negative(spec: MartSpec) -> Suite:
    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        expectations = [gxe.ExpectColumnValuesToBeBetween(column=c, min_value=0) for c in spec.money]
        return _keyed_columns_batch(con, spec, spec.money, expectations)

    return make_suite(
        "marts",
        spec.name,
        "money_is_not_negative",
        description=f"{spec.name}: money ({', '.join(spec.money)}) is zero or more.",
        build=build,
    )


def dates_are_in_range(spec: MartSpec) -> Suite:
    start, end = calendar_range()
    low = start if spec.is_fact else DATE_FLOOR
    why = (
        "A fact's dates fall within the calendar dim_dates spans (dbt vars dates_start..dates_end)."
        if spec.is_fact
        else "Dates from 1990 to the end of the calendar (dbt var dates_end)."
    )

    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        expectations = [
            gxe.ExpectColumnValuesToBeBetween(column=c, min_value=low, max_value=end, meta=note(why))
            for c in spec.dates
        ]
        return _keyed_columns_batch(con, spec, spec.dates, expectations)

    return make_suite(
        "marts",
        spec.name,
        "dates_are_in_range",
        description=f"{spec.name}: {', '.join(spec.dates)} between {low:%Y-%m-%d} and {end:%Y-%m-%d}.",
        build=build,
    )


def references_resolve(spec: MartSpec, tables: dict[str, str]) -> Suite:
    def flag(ref: Reference) -> str:
        return f"{ref.column}_in_{ref.parent}"

    def build(con: duckdb.DuckDBPyConnection) -> Batch:
        selects = [
            f"child.{quote(c)}" for c in dict.fromkeys([*spec.keys, *(r.column for r in spec.references)])
        ]
        joins = []
        for i, ref in enumerate(spec.references):
            alias = f"parent_{i}"
            parent = tables.get(ref.parent, f"marts.{quote(ref.parent)}")
            joins.append(
                f"left join (select distinct {quote(ref.parent_column)} AS value from {parent}) AS {alias} "
                f"on {alias}.value = child.{quote(ref.column)}"
            )
            selects.append(
                f"case when child.{quote(ref.column)} is null then null else {alias}.value is not null end "
                f"AS {quote(flag(ref))}"
            )
        relation = f"(select {', '.join(selects)} from {_table(spec)} AS child {' '.join(joins)}) AS checked"
        present = table_columns(con, spec.schema, spec.relation)
        types = {c: present.get(c, "") for c in [*spec.keys, *(r.column for r in spec.references)]}
        types.update({flag(ref): "BOOLEAN" for ref in spec.references})
        return scanned_batch(
            con,
            relation,
            types,
            [
                gxe.ExpectColumnValuesToBeInSet(
                    column=flag(ref),
                    value_set=[True],
                    meta=note(f"Every {ref.column} is a {ref.parent}.{ref.parent_column} (nulls allowed)."),
                )
                for ref in spec.references
            ],
            index_columns=list(dict.fromkeys([*spec.keys, *(r.column for r in spec.references)])),
        )

    listed = ", ".join(f"{r.column} -> {r.parent}.{r.parent_column}" for r in spec.references)
    return make_suite(
        "marts",
        spec.name,
        "references_resolve",
        description=f"{spec.name}: every reference resolves ({listed}).",
        build=build,
        reads=tuple(("marts", r.parent) for r in spec.references),
    )


def mart_suites() -> list[Suite]:
    specs = mart_specs()
    tables = {s.name: _table(s) for s in specs}
    suites = []
    for spec in specs:
        if spec.keys:
            suites.append(keys_are_unique(spec))
        if spec.money:
            suites.append(money_is_not_negative(spec))
        if spec.dates:
            suites.append(dates_are_in_range(spec))
        if spec.references:
            suites.append(references_resolve(spec, tables))
    return suites
