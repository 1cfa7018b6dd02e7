"""Row checks counted in DuckDB: one scan per suite, Great Expectations given the rows it must see.

A suite of row-level expectations on a big table (required values, enum sets, bounds on
raw.web_events' five million rows, or a mart's money and dates) used to read every row into
pandas for GX to count. Here DuckDB counts, in one aggregate scan of the columns the
expectations name, each expectation's rows, non-missing rows and unexpected rows; GX then
validates only a small frame: up to `PARTIAL_UNEXPECTED` rows each failing expectation
rejects (so its examples and their keys are real rows) and a random sample of the rest
(so GX also sees values DuckDB called clean). GX's verdict on that frame must agree with
DuckDB's count, or the expectation is an error (`reconcile`): a pass is never taken on
DuckDB's word alone, and a disagreement between the two is never a pass. The counts GX
reports (element, unexpected, missing, their percentages) are DuckDB's, over the whole
table, put into GX's result the way GX computes them.

Only the expectations below are counted here; a suite with any other kind reads its frame
as before (`read_frame`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import duckdb

from quality.suite import Batch, expectation_columns, quote, read_frame

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

# Rows of the table that pass every expectation, handed to GX beside the failing ones.
SAMPLE_ROWS = 200
# Failing rows handed to GX per failing expectation: as many as the results show.
FAILING_ROWS = 20
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")


class NotCountable(ValueError):
    """An expectation this module cannot count in SQL: the suite reads its rows instead."""


@dataclass(frozen=True)
class Counts:
    """What DuckDB counted for one expectation over the whole table, as GX names it.

    `nonnull_count` is the rows the expectation judges (values present; for a column pair,
    rows where neither is missing); None where GX reports no missing counts (not-null)."""

    element_count: int
    nonnull_count: int | None
    unexpected_count: int

    @property
    def success(self) -> bool:
        return self.unexpected_count == 0


@dataclass(frozen=True)
class _Predicates:
    judged: str | None  # the rows the expectation judges (None: every row)
    unexpected: str


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise NotCountable(f"no SQL literal for {value!r}")


def _present(column: str, types: Mapping[str, str]) -> str:
    """A value pandas would not call missing: not null, and for floats not NaN."""
    name = quote(column)
    if types.get(column, "").upper() in FLOAT_TYPES:
        return f"({name} is not null and not isnan({name}))"
    return f"{name} is not null"


def _predicates(expectation: Expectation, types: Mapping[str, str]) -> _Predicates:
    """SQL for the rows `expectation` judges and the rows it rejects, as GX's pandas engine decides."""
    kind = type(expectation).__name__
    fields = expectation.dict(exclude_defaults=True)
    if fields.get("mostly", 1) != 1 or fields.get("row_condition"):
        raise NotCountable(f"{kind} with mostly or a row condition")
    if any(isinstance(fields.get(k), dict) for k in ("value_set", "min_value", "max_value")):
        raise NotCountable(f"{kind} with a suite parameter")
    if kind == "ExpectColumnValuesToNotBeNull":
        return _Predicates(None, f"not {_present(expectation.column, types)}")
    if kind == "ExpectColumnValuesToBeInSet":
        present = _present(expectation.column, types)
        values = ", ".join(_literal(v) for v in expectation.value_set)
        return _Predicates(present, f"{present} and {quote(expectation.column)} not in ({values})")
    if kind == "ExpectColumnValuesToBeBetween":
        present = _present(expectation.column, types)
        name = quote(expectation.column)
        outside = []
        if expectation.min_value is not None:
            outside.append(
                f"{name} {'<=' if expectation.strict_min else '<'} {_literal(expectation.min_value)}"
            )
        if expectation.max_value is not None:
            outside.append(
                f"{name} {'>=' if expectation.strict_max else '>'} {_literal(expectation.max_value)}"
            )
        if not outside:
            raise NotCountable(f"{kind} without bounds")
        return _Predicates(present, f"{present} and ({' or '.join(outside)})")
    if kind == "ExpectColumnPairValuesAToBeGreaterThanB":
        if fields.get("ignore_row_if") != "either_value_is_missing":
            raise NotCountable(f"{kind} that judges rows with a missing value")
        judged = f"{_present(expectation.column_A, types)} and {_present(expectation.column_B, types)}"
        below = "<" if expectation.or_equal else "<="
        return _Predicates(
            judged, f"{judged} and {quote(expectation.column_A)} {below} {quote(expectation.column_B)}"
        )
    raise NotCountable(f"{kind} is not counted in SQL")


def scanned_batch(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    types: Mapping[str, str],
    expectations: Sequence[Expectation],
    *,
    index_columns: Sequence[str] = (),
    notes: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
) -> Batch:
    """A Batch of `expectations` on `relation` (a table, or a subquery in parentheses with an
    alias) whose columns and DuckDB types are `types`: counted in one scan, GX given the
    failing rows and a sample. Expectations on a column `relation` lacks are left to the
    runner, which records them as skipped. With an expectation SQL cannot count like GX
    (`NotCountable`), the suite reads every row of its columns instead, for GX to count."""
    runnable = [e for e in expectations if all(c in types for c in expectation_columns(e))]
    try:
        predicates = [_predicates(e, types) for e in runnable]
    except NotCountable as exc:
        log.info("%s read whole for GX: %s", relation, exc)
        whole = read_frame(con, f"select {', '.join(map(quote, types)) or '1 AS _row'} from {relation}")
        return Batch(whole, list(expectations), dict(parameters or {}), list(index_columns), list(notes))
    columns = list(
        dict.fromkeys(
            [
                *(c for c in index_columns if c in types),
                *(c for e in runnable for c in expectation_columns(e)),
            ]
        )
    )
    selects = ["count(*)"]
    for p in predicates:
        selects.append(f"count(*) filter (where {p.judged})" if p.judged else "count(*)")
        selects.append(f"count(*) filter (where {p.unexpected})")
    row = con.execute(f"select {', '.join(selects)} from {relation}").fetchall()[0]
    rows = int(row[0])
    counts: dict[int, Counts] = {}
    for i, (expectation, p) in enumerate(zip(runnable, predicates, strict=True)):
        judged, unexpected = int(row[1 + 2 * i]), int(row[2 + 2 * i])
        counts[id(expectation)] = Counts(rows, judged if p.judged else None, unexpected)
    frame = read_frame(
        con, _rows_for_gx(relation, columns, [p.unexpected for p in predicates], counts.values())
    )
    return Batch(
        frame=frame,
        expectations=list(expectations),
        index_columns=list(index_columns),
        notes=list(notes),
        parameters=dict(parameters or {}),
        counts={i: counts[id(e)] for i, e in enumerate(expectations) if id(e) in counts},
        rows=rows,
    )


def _rows_for_gx(relation: str, columns: Sequence[str], unexpected: Sequence[str], counts) -> str:
    """SQL for the rows GX validates: up to FAILING_ROWS rows each failing expectation rejects
    (each row once), and a sample of the rows every expectation accepts."""
    listed = ", ".join(map(quote, columns)) if columns else "1 AS _row"
    if not unexpected:
        return f"select {listed} from {relation} using sample reservoir({SAMPLE_ROWS} rows) repeatable (18)"
    accepted = f"select {listed} from {relation} where not ({' or '.join(unexpected)})"
    sample = f"select * from ({accepted}) using sample reservoir({SAMPLE_ROWS} rows) repeatable (18)"
    if all(c.success for c in counts):
        return sample
    flags = ", ".join(f"{u} AS _unexpected_{i}" for i, u in enumerate(unexpected))
    first = " or ".join(
        f"(_unexpected_{i} and row_number() over (partition by _unexpected_{i}) <= {FAILING_ROWS})"
        for i in range(len(unexpected))
    )
    failing = (
        f"select {listed} from (select {listed}, {flags} from {relation} where {' or '.join(unexpected)}) "
        f"qualify {first}"
    )
    return f"({failing}) union all ({sample})"


def reconcile(result: dict, success: bool, counts: Counts) -> str | None:
    """Put DuckDB's `counts` into GX's `result` (an ExpectationValidationResult's result dict),
    computing the percentages as GX does; return why the two disagree, or None.

    GX judged `success` on the rows it was given: every failing row DuckDB found is among
    them (up to FAILING_ROWS), so GX fails exactly when DuckDB counted unexpected rows."""
    disagreement = None
    if success != counts.success:
        disagreement = (
            f"DuckDB counted {counts.unexpected_count} unexpected of {counts.element_count} rows, but Great "
            f"Expectations {'passed' if success else 'failed'} the rows it was given"
        )
    element, nonnull, unexpected = counts.element_count, counts.nonnull_count, counts.unexpected_count
    result["element_count"] = element
    result["unexpected_count"] = unexpected
    if nonnull is None:
        result["unexpected_percent"] = unexpected / element * 100 if element else None
        return disagreement
    missing = element - nonnull
    total = unexpected / element * 100 if element else None
    nonmissing = (unexpected / nonnull * 100 if nonnull else None) if element else None
    result["unexpected_percent"] = nonmissing
    if "missing_count" in result:
        result["missing_count"] = missing
        result["missing_percent"] = missing / element * 100 if element else None
        result["unexpected_percent_total"] = total
        result["unexpected_percent_nonmissing"] = nonmissing
    return disagreement
