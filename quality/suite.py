"""What a suite is: a named set of Great Expectations run on one frame read from DuckDB.

A `Suite` is the unit everything else counts in: one Dagster asset check, one Data Docs
page, one row per run in `meta.dq_suite_runs`. Its `build` reads only the columns it needs
(through Arrow, into pandas) and returns a `Batch`: the frame, the expectations to run on it
and the values of their `$PARAMETER`s (bounds computed from history at run time), so the
expectations themselves stay plain code a reviewer can read. Row checks on a whole table are
counted in DuckDB instead, the frame holding only the rows GX must see (quality/scan.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

    from quality.scan import Counts

Layer = Literal["raw", "drift", "marts", "reconciliation"]
Severity = Literal["error", "warn"]

# Layers in the order the pipeline reaches them: raw and drift right after ingest, marts and
# reconciliation after dbt. A blocking failure in an earlier step stops the later ones.
LAYERS: tuple[Layer, ...] = ("raw", "drift", "marts", "reconciliation")
PIPELINE_STEPS: tuple[tuple[Layer, ...], ...] = (("raw", "drift"), ("marts", "reconciliation"))
# The schema whose assets a layer's suites are checks on: drift watches raw tables, and a
# reconciliation belongs to the mart it vouches for.
LAYER_SCHEMA: dict[Layer, str] = {"raw": "raw", "drift": "raw", "marts": "marts", "reconciliation": "marts"}
# A drift may be real (a big deal, a campaign), so it only warns; a mart that is wrong or
# disagrees with its sources must not be published. Raw suites that only warn say so.
LAYER_SEVERITY: dict[Layer, Severity] = {
    "raw": "error",
    "drift": "warn",
    "marts": "error",
    "reconciliation": "error",
}


@dataclass(frozen=True)
class Batch:
    """The data one suite validates, the expectations to run on it, and their parameters."""

    frame: pd.DataFrame
    expectations: Sequence[Expectation]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Columns that identify a failing row in the results (a key, a file name, a month).
    index_columns: Sequence[str] = ()
    # What the reader of a result should know: "no previous load to compare with", ...
    notes: Sequence[str] = ()
    # Counted in DuckDB over the whole table (quality/scan.py), by position in `expectations`:
    # the frame is then only the rows GX must see, and `rows` the table's rows.
    counts: Mapping[int, Counts] = field(default_factory=dict)
    rows: int | None = None


@dataclass(frozen=True)
class Suite:
    """A named group of expectations on one asset, run as one Dagster asset check.

    `asset` is (layer schema, table): ("raw", "invoices") or ("marts", "fct_invoices").
    `check` is the asset check's name, a predicate (`keys_are_unique`). Severity "error"
    blocks what is downstream when the suite fails; "warn" only reports.
    `reads` names the other tables the suite compares against (reconciliation, references).
    `diagnose`, when given, runs only after a failure and says in words what is wrong.
    """

    asset: tuple[str, str]
    check: str
    layer: Layer
    severity: Severity
    description: str
    build: Callable[[duckdb.DuckDBPyConnection], Batch]
    reads: tuple[tuple[str, str], ...] = ()
    diagnose: Callable[[duckdb.DuckDBPyConnection], str] | None = None

    @property
    def name(self) -> str:
        """The GX suite name and the key results are stored under: `raw.invoices.keys_are_unique`."""
        return f"{self.asset_name}.{self.check}"

    @property
    def asset_name(self) -> str:
        return ".".join(self.asset)

    @property
    def blocking(self) -> bool:
        return self.severity == "error"


def make_suite(
    layer: Layer,
    table: str,
    check: str,
    *,
    description: str,
    build: Callable[[duckdb.DuckDBPyConnection], Batch],
    severity: Severity | None = None,
    reads: tuple[tuple[str, str], ...] = (),
    diagnose: Callable[[duckdb.DuckDBPyConnection], str] | None = None,
) -> Suite:
    """A suite of `layer` on `table` in the layer's schema, at the layer's severity unless given."""
    return Suite(
        asset=(LAYER_SCHEMA[layer], table),
        check=check,
        layer=layer,
        severity=severity or LAYER_SEVERITY[layer],
        description=description,
        build=build,
        reads=reads,
        diagnose=diagnose,
    )


def note(text: str) -> dict:
    """Expectation meta that Data Docs shows under the expectation."""
    return {"notes": {"format": "markdown", "content": [text]}}


# --------------------------------------------------------------------------- reading
def read_frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    """Run `sql` and return a pandas frame through Arrow.

    Decimals become float64 (money is compared with bounds, not summed here) and dates
    become datetime64, so GX compares every value with one numeric or datetime bound.
    """
    table = con.sql(sql, params=list(params) if params else None).to_arrow_table()
    columns = []
    for col in table.columns:
        if pa.types.is_decimal(col.type):
            col = col.cast(pa.float64())
        elif pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
            col = _as_nanoseconds(col)
        columns.append(col)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    return table.to_pandas(date_as_object=False)


# GX compares datetimes vectorised only for datetime64[ns], whose span is 1677..2262.
_NS_MIN = pa.scalar(datetime(1678, 1, 1), pa.timestamp("us"))
_NS_MAX = pa.scalar(datetime(2261, 12, 31), pa.timestamp("us"))


def _as_nanoseconds(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Dates and timestamps as timestamp[ns]; a value outside 1677..2262 (a sentinel such as
    9999-12-31) is clamped into that span, which still fails every date-range expectation."""
    col = (
        col.cast(pa.timestamp("us"))
        if pa.types.is_date(col.type)
        else col.cast(pa.timestamp("us"), safe=False)
    )
    col = pc.max_element_wise(pc.min_element_wise(col, _NS_MAX, skip_nulls=False), _NS_MIN, skip_nulls=False)
    return col.cast(pa.timestamp("ns"))


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of a table; empty when the table does not exist."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        [schema, table],
    ).fetchall()
    return dict(rows)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def expectation_columns(expectation: Expectation) -> list[str]:
    """The frame columns an expectation reads (empty for table-level expectations)."""
    names = []
    for attr in ("column", "column_A", "column_B"):
        value = getattr(expectation, attr, None)
        if isinstance(value, str):
            names.append(value)
    for attr in ("column_list",):
        value = getattr(expectation, attr, None)
        if isinstance(value, list | tuple):
            names += [v for v in value if isinstance(v, str)]
    return names
