"""Loading export files into DuckDB: the one place every source writes through.

Per file, in one transaction: read (DuckDB's CSV reader, all text), parse and
validate in SQL, good rows to raw.<entity>, bad rows to quarantine.<entity> with
every reason, one row in meta.load_manifest. Either all of it is committed or
none of it is: a failed or killed load leaves no trace.

Rows read = rows loaded + rows quarantined, per file, always.

With `lake=`, the same loader writes a lake instead of the warehouse file: Parquet files
under a folder or object-store URL that DuckDB and Spark both read, with the same
guarantees (ingest/lake.py).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ingest.errors import FileRefused, IngestError
from ingest.group import Pending, load_group, pending_file
from ingest.lake import Lake, LakeSink, connect_lake
from ingest.manifest import file_identity
from ingest.results import BatchResult, FileResult
from ingest.staging import register_udfs
from ingest.tables import ensure_ingest_tables, record_refusal
from warehouse.connection import connect
from warehouse.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv", ".txt", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx"}


def iter_export_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Files under the given paths, in a stable order; ground truth and hidden files are not exports."""
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") or p == "ground_truth" for p in rel):
                    yield child
        else:
            yield path


# Files of one kind load together in one statement up to this much text: enough for DuckDB to
# read and validate them on every core, little enough to keep the staged text in memory.
GROUP_BYTES = 256 * 1024 * 1024
GROUP_FILES = 64


def ingest_paths(
    paths: Iterable[Path],
    db_path: Path | None = None,
    *,
    lake: str | Path | None = None,
    force: bool = False,
    dialect: str | None = None,
    entity: str | None = None,
    snapshot_date: date | None = None,
    progress=None,
) -> BatchResult:
    """Load every export file under `paths`, in order.

    Consecutive files of one kind (see Pending.joins) load together, in one transaction;
    when that fails, they load one by one, so a bad file is refused alone and the rest load.
    The rows go to the warehouse file `db_path`, or to the lake at `lake` (a folder or URL).
    """
    if (db_path is None) == (lake is None):
        raise ValueError(
            "ingest_paths writes either a warehouse file (db_path) or a lake (lake=), one of them"
        )
    batch = BatchResult(batch_id=uuid.uuid4().hex[:12])
    files = list(iter_export_files(paths))
    results: dict[int, FileResult] = {}
    group: list[tuple[int, Pending]] = []
    if lake is not None:
        workdir = Path(tempfile.mkdtemp(prefix="crmw-ingest-"))
        sink = LakeSink(Lake(str(lake)), workdir)
        try:
            con = sink.connect()
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
    else:
        sink = None
        con = connect(db_path)
        workdir = Path(tempfile.mkdtemp(prefix="crmw-ingest-", dir=db_path.parent))
    options = {"workdir": workdir, "force": force, "dialect": dialect, "entity": entity}

    def refuse(i: int, path: Path, exc: Exception) -> None:
        if isinstance(exc, FileRefused):
            message, error_class = exc.describe(), type(exc).__name__
        else:
            message = f"{path}: the file could not be parsed: {str(exc).splitlines()[0]}"
            error_class = type(exc).__name__
        results[i] = FileResult(path=path, status="refused", message=message)
        record_refusal(con, batch.batch_id, path, None, error_class, message)

    def prepare(i: int, path: Path) -> Pending | None:
        """The file inspected and detected; None when it was skipped or refused (its result kept)."""
        try:
            item = pending_file(
                con,
                path,
                snapshot_date=snapshot_date,
                loaded_at=datetime.now(UTC).replace(tzinfo=None),
                **options,
            )
        except (FileRefused, duckdb.Error) as exc:
            refuse(i, path, exc)
            return None
        if isinstance(item, FileResult):
            results[i] = item
            return None
        return item

    def flush() -> None:
        if not group:
            return
        started = time.perf_counter()
        loaded_at = datetime.now(UTC).replace(tzinfo=None)
        items = [item for _, item in group]
        try:
            try:
                done = load_group(
                    con,
                    items,
                    batch_id=batch.batch_id,
                    force=force,
                    loaded_at=loaded_at,
                    started=started,
                    sink=sink,
                )
                results.update({i: r for (i, _), r in zip(group, done, strict=True)})
                if sink is not None:
                    sink.after_commit()
            except (duckdb.Error, IngestError):
                if len(group) == 1:
                    raise
                # one of them is bad: load them one by one, so that only that one is refused
                for i, item in group:
                    try:
                        results[i] = load_group(
                            con,
                            [item],
                            batch_id=batch.batch_id,
                            force=force,
                            loaded_at=loaded_at,
                            started=time.perf_counter(),
                            sink=sink,
                        )[0]
                        if sink is not None:
                            sink.after_commit()
                    except (FileRefused, duckdb.Error) as exc:
                        refuse(i, item.path, exc)
        except (FileRefused, duckdb.Error) as exc:
            refuse(group[0][0], group[0][1].path, exc)
        finally:
            for _, item in group:
                item.cleanup()
            group.clear()

    try:
        if sink is None:
            ensure_ingest_tables(con)
        register_udfs(con)
        for i, path in enumerate(files):
            if progress:
                progress(path)
            if not path.exists():
                message = FileRefused("no such file", file=path).describe()
                results[i] = FileResult(path=path, status="refused", message=message)
                continue
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                message = FileRefused(
                    f"unsupported file type {path.suffix!r}",
                    file=path,
                    hint=f"exports are {', '.join(sorted(SUPPORTED_SUFFIXES))}",
                ).describe()
                results[i] = FileResult(path=path, status="refused", message=message)
                record_refusal(con, batch.batch_id, path, None, "UnsupportedType", message)
                continue
            if any(path.resolve().name == item.path.name for _, item in group):
                flush()  # a second version of a file in the group: load the group first
            item = prepare(i, path)
            if item is not None and any(file_identity(item.info) == file_identity(g.info) for _, g in group):
                # the same content twice: the second is skipped (or, forced, reloaded) after the first
                item.cleanup()
                flush()
                item = prepare(i, path)
            if item is None:
                continue
            size = sum(g.info.size for _, g in group)
            if (
                not item.joins([g for _, g in group])
                or size + item.info.size > GROUP_BYTES
                or len(group) >= GROUP_FILES
            ):
                flush()
            group.append((i, item))
        flush()
    finally:
        for _, item in group:
            item.cleanup()
        try:
            if sink is not None:
                sink.close(con)
        finally:
            con.close()
            shutil.rmtree(workdir, ignore_errors=True)
    batch.files = [results[i] for i in sorted(results)]
    for result in batch.files:
        log.debug("%s %s: %s", result.status, result.path.name, result.message or describe_counts(result))
    return batch


def describe_counts(result: FileResult) -> str:
    return (
        f"{result.entity} via {result.dialect}: {result.rows_loaded} loaded, "
        f"{result.rows_quarantined} quarantined, {result.rows_flagged} flagged"
    )


def ingest_into(settings: Settings, paths: Iterable[Path], **options) -> BatchResult:
    """`ingest_paths` into where the settings keep raw: their lake when they have one (CRMW_LAKE, or
    the spark engine's), else the warehouse file."""
    if settings.lake_url:
        return ingest_paths(paths, lake=settings.lake_url, **options)
    return ingest_paths(paths, settings.warehouse_path, **options)


def open_loaded(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only view of what ingest wrote (raw.*, quarantine.*, meta.load_manifest,
    meta.refused_files): the lake's Parquet files, or the warehouse file. Close it when done."""
    if settings.lake_url:
        return connect_lake(settings.lake_url)
    return connect(settings.warehouse_path, read_only=True)
