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

import contextlib
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from ingest.errors import FileRefused, FileUnreadable, IngestError
from ingest.group import Pending, load_group, pending_file
from ingest.lake import Lake, LakeSink, connect_lake
from ingest.manifest import file_identity, file_key
from ingest.results import BatchResult, FileResult
from ingest.staging import register_udfs
from ingest.tables import ensure_ingest_tables, record_refusal
from warehouse.connection import connect, is_write_failure
from warehouse.errors import WarehouseWriteFailed
from warehouse.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = {".csv", ".txt", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx"}


@dataclass(frozen=True)
class ExportFile:
    """A file found under the paths given: its identity (ingest.manifest.file_key), and why it
    cannot be read at all when that is known before opening it (a broken link, a link out of the
    folder given, not a regular file)."""

    path: Path
    key: str
    problem: str = ""


def find_export_files(paths: Iterable[Path], landing: Path | None = None) -> list[ExportFile]:
    """Files under the given paths, in a stable order; ground truth and hidden files are not exports.

    In a folder (and in the landing folder, however its files are given), links are followed only to
    files inside that folder: a link out of it (or a broken one, or a link to a folder) is reported,
    never read. Another file given by itself is read wherever it is. Keys are relative to the landing
    folder for files under it, else to the folder given (ingest.manifest.file_key).
    """
    landing_roots = [landing.absolute()] if landing is not None else []
    found: list[ExportFile] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            absolute = path.absolute()
            key = file_key(absolute, landing_roots)
            inside = [r for r in landing_roots if absolute.is_relative_to(r)]
            found.append(_checked(path, key, inside[0].resolve()) if inside else ExportFile(path, key))
            continue
        folder = path.absolute()
        for child in sorted(path.rglob("*")):
            rel = child.relative_to(path)
            if any(p.startswith(".") or p == "ground_truth" for p in rel.parts):
                continue
            if child.is_dir() and not child.is_symlink():
                continue
            found.append(_checked(child, file_key(folder / rel, [*landing_roots, folder]), folder.resolve()))
    return found


def _checked(path: Path, key: str, folder: Path) -> ExportFile:
    """The file found in `folder`, with the reason it is not read when it is a link out of the
    folder, a broken link, a link to a folder, or no regular file."""
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return ExportFile(path, key, f"a broken link (to {target}); nothing to read")
        if not target.is_relative_to(folder):
            return ExportFile(
                path, key, "a link to a file outside the folder given; links out of it are not followed"
            )
        if target.is_dir():
            return ExportFile(path, key, "a link to a folder; links to folders are not followed")
    elif not path.is_file() and path.exists():
        return ExportFile(path, key, "not a regular file (a pipe or a device); nothing was read")
    return ExportFile(path, key)


def iter_export_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The paths of the files under the given paths (see find_export_files)."""
    for found in find_export_files(paths):
        yield found.path


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
    landing: Path | None = None,
) -> BatchResult:
    """Load every export file under `paths`, in order.

    Consecutive files of one kind (see Pending.joins) load together, in one transaction;
    when that fails, they load one by one, so a bad file is refused alone and the rest load.
    The rows go to the warehouse file `db_path`, or to the lake at `lake` (a folder or URL).
    `landing` is the landing folder: files under it are known by their path relative to it
    (ingest.manifest.file_key), however they are given.

    Raises WarehouseWriteFailed when the warehouse itself cannot be written (a full disk): the
    files loaded before it stay loaded, nothing of the one being written is kept.
    """
    if (db_path is None) == (lake is None):
        raise ValueError(
            "ingest_paths writes either a warehouse file (db_path) or a lake (lake=), one of them"
        )
    batch = BatchResult(batch_id=uuid.uuid4().hex[:12])
    found = find_export_files(paths, landing)
    files = [f.path for f in found]
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
    destination = db_path if db_path is not None else str(lake)
    written = "warehouse" if db_path is not None else "lake"

    def refuse(i: int, path: Path, exc: Exception) -> None:
        if is_write_failure(exc, destination):
            raise WarehouseWriteFailed(destination, exc, written) from None
        if isinstance(exc, FileRefused):
            message, error_class = exc.describe(), type(exc).__name__
        elif isinstance(exc, OSError):
            message = FileUnreadable(f"the file cannot be read: {exc.strerror or exc}", file=path).describe()
            error_class = FileUnreadable.__name__
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
                key=found[i].key,
                snapshot_date=snapshot_date,
                loaded_at=datetime.now(UTC).replace(tzinfo=None),
                **options,
            )
        except (FileRefused, duckdb.Error, OSError) as exc:
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
            except (duckdb.Error, IngestError, OSError) as exc:
                if len(group) == 1 or is_write_failure(exc, destination):
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
                    except (FileRefused, duckdb.Error, OSError) as exc:
                        refuse(i, item.path, exc)
        except (FileRefused, duckdb.Error, OSError) as exc:
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
            if found[i].problem:
                message = FileUnreadable(found[i].problem, file=path).describe()
                results[i] = FileResult(path=path, status="refused", message=message)
                record_refusal(con, batch.batch_id, path, None, FileUnreadable.__name__, message)
                continue
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
            if any(found[i].key == item.key for _, item in group):
                flush()  # a second version of a file in the group: load the group first
            item = prepare(i, path)
            if item is not None and any(
                file_identity(item.info, item.key) == file_identity(g.info, g.key) for _, g in group
            ):
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
    except (duckdb.Error, OSError) as exc:
        if is_write_failure(exc, destination):
            raise WarehouseWriteFailed(destination, exc, written) from None
        raise
    finally:
        for _, item in group:
            item.cleanup()
        try:
            if sink is not None:
                sink.close(con)
        finally:
            with contextlib.suppress(duckdb.Error):
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
