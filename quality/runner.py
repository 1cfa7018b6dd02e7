"""Running suites with Great Expectations on pandas frames read from DuckDB.

GX 1.24's SQL datasource cannot run metrics on DuckDB through duckdb-engine (GX issues
10738 and 11579), so every suite reads its frame through Arrow and runs on an ephemeral
context with a pandas datasource, one dataframe asset and whole-dataframe batch per suite.
Where DuckDB counted a suite's rows (quality/scan.py), its counts go into GX's results, and
GX's verdict on the rows it was given must agree with them.

A result is trusted only when GX computed it: an expectation whose `exception_info` says
it raised is an *error* of the suite, never a pass, and so is a suite whose frame could
not be read or that GX could not run at all.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import duckdb

from quality.scan import Counts, reconcile
from quality.suite import Batch, Suite, expectation_columns

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

log = logging.getLogger(__name__)

Status = Literal["passed", "failed", "error"]
OutcomeStatus = Literal["passed", "failed", "error", "skipped"]
PARTIAL_UNEXPECTED = 20


@dataclass(frozen=True)
class Outcome:
    """One expectation's result."""

    expectation: str
    column: str | None
    status: OutcomeStatus
    observed: Any = None
    element_count: int | None = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    kwargs: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    def describe(self) -> str:
        what = self.expectation.removeprefix("expect_").replace("_", " ")
        where = f"{self.column}: " if self.column else ""
        text = f"{where}{what} {self.status}"
        if self.status == "error":
            return f"{text}: {self.details.get('error', '')}"
        if self.unexpected_count:
            text += f" ({self.unexpected_count} of {self.element_count} unexpected"
            examples = self.details.get("unexpected_index") or self.details.get("unexpected_values")
            if examples:
                text += f", e.g. {json.dumps(examples[:3], default=str, ensure_ascii=False)}"
            text += ")"
        elif self.observed is not None and self.status == "failed":
            text += f" (observed {self.observed})"
        return text


@dataclass
class SuiteResult:
    suite: Suite
    status: Status
    outcomes: list[Outcome]
    checked_at: datetime
    seconds: float
    rows: int = 0
    notes: Sequence[str] = ()
    message: str = ""
    gx_result: dict | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def blocking_failure(self) -> bool:
        return self.suite.blocking and not self.passed

    @property
    def failed_outcomes(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status in ("failed", "error")]

    def summary(self) -> str:
        if self.passed:
            return f"{self.suite.name}: passed ({len(self.outcomes)} expectations, {self.rows} rows)"
        parts = [o.describe() for o in self.failed_outcomes[:3]]
        if self.message:
            parts.append(self.message)
        return f"{self.suite.name}: {self.status}: " + "; ".join(parts)


# --------------------------------------------------------------------------- GX context
def new_context():
    """An ephemeral GX context: in-memory stores, no analytics, no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    _skip_batch_fingerprints()
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _skip_batch_fingerprints() -> None:
    """GX's pandas engine hashes every frame under 1 GB (pd.util.hash_pandas_object, then md5)
    only to put a fingerprint in the batch markers; on 5 million web events that is three
    quarters of a suite's time. Nothing here reads the fingerprint: a threshold of 0 skips it."""
    from great_expectations.execution_engine import pandas_execution_engine

    pandas_execution_engine.HASH_THRESHOLD = 0


def _exception_message(exception_info: dict | None) -> str | None:
    """The message of an expectation that raised, or None. GX gives either one flat dict or
    one dict per metric that failed to compute."""
    if not exception_info:
        return None
    if "raised_exception" in exception_info:
        if exception_info.get("raised_exception"):
            return exception_info.get("exception_message") or "the expectation raised"
        return None
    messages = [
        info.get("exception_message") or "a metric raised"
        for info in exception_info.values()
        if isinstance(info, dict) and info.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def _jsonable(value: Any) -> Any:
    from great_expectations.util import convert_to_json_serializable

    return convert_to_json_serializable(value)


def _describe_run(gx_result, checked_at: datetime) -> None:
    """The run fields ValidationDefinition.run puts in a result's meta (Data Docs read run_id)."""
    from great_expectations.constants import DATAFRAME_REPLACEMENT_STR
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = RunIdentifier(run_time=checked_at.replace(tzinfo=UTC))
    gx_result.meta.update(
        {
            "validation_id": None,
            "checkpoint_id": None,
            "run_id": run_id,
            "validation_time": run_id.run_time,
            "batch_parameters": {"dataframe": DATAFRAME_REPLACEMENT_STR},
        }
    )


def _kwargs(config) -> dict:
    return {k: v for k, v in dict(config.kwargs).items() if k != "batch_id"}


def _reconcile_counts(gx_result, counted: Sequence[tuple[Expectation, Counts]]) -> None:
    """Put the counts DuckDB made over the whole table (quality/scan.py) into GX's results of
    the expectations GX ran on the rows it was handed (matched by type and arguments: the same
    expectation twice has the same counts). Where the two disagree the expectation becomes an
    error, in GX's result too (Data Docs show it), never a pass."""
    configs = [(e.configuration, counts) for e, counts in counted]
    for result in gx_result.results:
        config = result.expectation_config
        counts = next(
            (c for own, c in configs if own.type == config.type and _kwargs(own) == _kwargs(config)), None
        )
        if counts is None or _exception_message(result.exception_info):
            continue
        disagreement = reconcile(result.result, bool(result.success), counts)
        if disagreement:
            result.success = False
            result.exception_info = {
                "raised_exception": True,
                "exception_message": disagreement,
                "exception_traceback": None,
            }
            gx_result.success = False


def _outcome(result) -> Outcome:
    config = result.expectation_config
    kwargs = _kwargs(config)
    column = kwargs.get("column") or kwargs.get("column_A")
    if column is None and kwargs.get("column_list"):
        column = ",".join(kwargs["column_list"])
    error = _exception_message(result.exception_info)
    payload = result.result or {}
    details: dict = {}
    if error:
        status: OutcomeStatus = "error"
        details["error"] = error
    else:
        status = "passed" if result.success else "failed"
    if payload.get("partial_unexpected_list"):
        details["unexpected_values"] = payload["partial_unexpected_list"]
    if payload.get("partial_unexpected_index_list"):
        details["unexpected_index"] = payload["partial_unexpected_index_list"]
    return Outcome(
        expectation=config.type,
        column=column,
        status=status,
        observed=_jsonable(payload.get("observed_value")),
        element_count=payload.get("element_count"),
        unexpected_count=payload.get("unexpected_count"),
        unexpected_percent=payload.get("unexpected_percent"),
        kwargs=_jsonable(kwargs),
        details=_jsonable(details),
    )


# --------------------------------------------------------------------------- running
class SuiteRunner:
    """Runs suites in one ephemeral GX context: one dataframe asset per table, each suite
    validated on its own batch (a suite may run again in the same context)."""

    def __init__(self) -> None:
        self.context = new_context()
        self.datasource = self.context.data_sources.add_pandas("crmw")
        self._batch_definitions: dict[str, Any] = {}

    def _batch_definition(self, asset_name: str):
        """One dataframe asset per table (raw.invoices, marts.fct_invoices): every suite on it
        passes its own frame at run time. Adding assets rewrites the context's config, so
        they are added once."""
        if asset_name not in self._batch_definitions:
            asset = self.datasource.add_dataframe_asset(asset_name)
            self._batch_definitions[asset_name] = asset.add_batch_definition_whole_dataframe("whole frame")
        return self._batch_definitions[asset_name]

    def run(self, con: duckdb.DuckDBPyConnection, suite: Suite) -> SuiteResult:
        started = time.perf_counter()
        checked_at = datetime.now(UTC).replace(tzinfo=None)
        try:
            batch = suite.build(con)
        except duckdb.Error as exc:
            message = f"could not read the data for {suite.name}: {str(exc).splitlines()[0]}"
            log.warning(message)
            return SuiteResult(suite, "error", [], checked_at, time.perf_counter() - started, message=message)
        result = self._validate(suite, batch, checked_at, started)
        if not result.passed and suite.diagnose is not None and result.status == "failed":
            try:
                result.message = suite.diagnose(con)
            except duckdb.Error as exc:  # the diagnosis is a courtesy; the failure stands without it
                log.warning("could not diagnose %s: %s", suite.name, exc)
        return result

    def _validate(self, suite: Suite, batch: Batch, checked_at: datetime, started: float) -> SuiteResult:
        import great_expectations as gx

        frame = batch.frame
        columns = set(frame.columns)
        runnable, skipped = [], []
        counted: list[tuple[Expectation, Counts]] = []
        for position, expectation in enumerate(batch.expectations):
            missing = [c for c in expectation_columns(expectation) if c not in columns]
            if missing:
                skipped.append(
                    Outcome(
                        expectation=expectation.expectation_type,
                        column=missing[0],
                        status="skipped",
                        details={"reason": f"column(s) {', '.join(missing)} not in the table"},
                    )
                )
            else:
                runnable.append(expectation)
                if position in batch.counts:
                    counted.append((expectation, batch.counts[position]))
        notes = list(batch.notes)
        if skipped:
            notes.append(
                f"{len(skipped)} expectation(s) skipped: their columns are missing (see the schema check)"
            )
        index_columns = [c for c in batch.index_columns if c in columns]
        result_format: dict[str, Any] = {
            "result_format": "SUMMARY",
            "partial_unexpected_count": PARTIAL_UNEXPECTED,
        }
        if index_columns:
            result_format["unexpected_index_column_names"] = index_columns
        try:
            gx_suite = gx.ExpectationSuite(
                name=suite.name,
                expectations=list(runnable),
                meta={"notes": {"format": "markdown", "content": [suite.description, *notes]}},
            )
            # Batch.validate runs the suite as ValidationDefinition.run does, without putting
            # the suite, the definition and the result into the context's stores (serialising
            # each, a fifth of a suite's time): nothing reads them; results go to meta.
            gx_result = (
                self._batch_definition(suite.asset_name)
                .get_batch(batch_parameters={"dataframe": frame})
                .validate(
                    gx_suite, result_format=result_format, expectation_parameters=dict(batch.parameters)
                )
            )
            _describe_run(gx_result, checked_at)
            _reconcile_counts(gx_result, counted)
        except Exception as exc:  # GX could not run the suite at all: an error of the suite, never a pass
            message = f"Great Expectations could not run {suite.name}: {type(exc).__name__}: {exc}"
            log.warning(message)
            return SuiteResult(
                suite,
                "error",
                skipped,
                checked_at,
                time.perf_counter() - started,
                rows=batch.rows if batch.rows is not None else len(frame),
                notes=notes,
                message=message,
            )
        outcomes = [_outcome(r) for r in gx_result.results] + skipped
        if any(o.status == "error" for o in outcomes):
            status: Status = "error"
        elif any(o.status == "failed" for o in outcomes):
            status = "failed"
        else:
            status = "passed"
        return SuiteResult(
            suite=suite,
            status=status,
            outcomes=outcomes,
            checked_at=checked_at,
            seconds=time.perf_counter() - started,
            rows=batch.rows if batch.rows is not None else len(frame),
            notes=notes,
            gx_result=gx_result.to_json_dict(),
        )


def run_suites(con: duckdb.DuckDBPyConnection, suites: Iterable[Suite]) -> list[SuiteResult]:
    """Run each suite on `con` (reads only) and return the results, in order."""
    runner = SuiteRunner()
    results = []
    for suite in suites:
        result = runner.run(con, suite)
        log.debug("%s (%.2fs)", result.summary(), result.seconds)
        results.append(result)
    return results
