"""Comparing two builds of the warehouse table by table (DuckDB against Spark): same columns, same
rows (every non-float value equal, money to the cent), floats within a stated tolerance.

A table is compared as a multiset of rows: both sides are sorted on every column that is not a
float (floats rounded to 6 places break ties), so the same keys in the same rows line up whatever
order each engine wrote them in.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa

# Floats (shares, probabilities, averages) are summed in a different order by each engine.
FLOAT_RTOL = 1e-9
FLOAT_ATOL = 1e-9
# Columns that say when or by which run a table was written, not what it holds.
RUN_COLUMNS = {
    "model_run_id": "the id of the model run that wrote the row (new every run)",
    "run_id": "the id of a model run",
    "trained_at": "when the model was trained",
    "artifact_path": "where the run saved its model (under its own home)",
    "model_card_path": "where the run saved its model card (under its own home)",
    "resolution_build_id": "the id of the resolution build",
    "resolved_at": "when the resolution ran",
    "changed_at": "when the resolution build that made an id change ran",
    "evaluated_at": "when the resolution was evaluated",
    "model_saved_at": "when the Splink model file was written",
    "model_path": "where the Splink model file is (under its own home)",
    "input_fingerprint": "a hash of the records as each engine hands them over (types included)",
    "loaded_at": "when ingest loaded the row (each engine's home ingests the exports at its own time)",
}


def _kind(field: pa.Field) -> str:
    t = field.type
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_decimal(t):
        return "money"
    if pa.types.is_integer(t):
        return "int"
    return "other"


def _normalised(table: pa.Table) -> pd.DataFrame:
    """Plain Python values: ints as int, money as Decimal to the cent, floats as float (NaN for
    null), everything else as it comes, nulls as None."""
    out = {}
    for field, column in zip(table.schema, table.columns, strict=True):
        values = column.to_pylist()
        kind = _kind(field)
        if kind == "money":
            cent = decimal.Decimal("0.01")
            values = [
                None if v is None else v.quantize(cent, rounding=decimal.ROUND_HALF_EVEN) for v in values
            ]
        elif kind == "float":
            values = [np.nan if v is None else float(v) for v in values]
        elif kind == "int":
            values = [None if v is None else int(v) for v in values]
        out[field.name] = pd.Series(values, dtype="float64" if kind == "float" else object)
    return pd.DataFrame(out)


def _sorted(frame: pd.DataFrame, floats: list[str]) -> pd.DataFrame:
    keys = pd.DataFrame(
        {c: frame[c].round(6).astype(str) if c in floats else frame[c].map(repr) for c in frame.columns}
    )
    order = keys.sort_values([c for c in frame.columns if c not in floats] + floats, kind="stable").index
    return frame.loc[order].reset_index(drop=True)


def table_differences(
    name: str, expected: pa.Table, actual: pa.Table, ignore: Iterable[str] = RUN_COLUMNS
) -> list[str]:
    """What differs between two versions of one table (empty when they agree); `expected` is the
    DuckDB build's."""
    ignore = set(ignore)
    columns = [c for c in expected.column_names if c not in ignore]
    missing = sorted(set(columns) - set(actual.column_names))
    extra = sorted(set(actual.column_names) - set(expected.column_names) - ignore)
    if missing or extra:
        return [f"{name}: columns differ (missing {missing}, extra {extra})"]
    if expected.num_rows != actual.num_rows:
        return [f"{name}: {expected.num_rows} rows on DuckDB, {actual.num_rows} on the other engine"]
    floats = [c for c in columns if _kind(expected.schema.field(c)) == "float"]
    left = _sorted(_normalised(expected.select(columns)), floats)
    right = _sorted(_normalised(actual.select(columns)), floats)
    problems = []
    for column in columns:
        a, b = left[column], right[column]
        if column in floats:
            close = np.isclose(a.to_numpy(), b.to_numpy(), rtol=FLOAT_RTOL, atol=FLOAT_ATOL, equal_nan=True)
            bad = np.flatnonzero(~close)
        else:
            bad = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _same(x, y)]
        if len(bad):
            i = bad[0]
            problems.append(
                f"{name}.{column}: {len(bad)} of {len(a)} rows differ, e.g. {a.iloc[i]!r} (DuckDB) "
                f"vs {b.iloc[i]!r}"
            )
    return problems


def _same(x, y) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return bool(x == y)
