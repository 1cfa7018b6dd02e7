"""The lake: raw, quarantine and the load manifest as Parquet files under one path, so that DuckDB and
Spark read the same raw data (docs/scale-out.md).

Layout under the lake root (a folder, or an object-store URL fsspec can write):

    raw/<entity>/period=YYYY-MM/<load>-<n>.parquet         good rows, typed, with lineage
    quarantine/<entity>/period=YYYY-MM/<load>-<n>.parquet  rejected rows, as text, with reasons
    meta/load_manifest/<commit>.parquet                    the manifest log: one row per file loaded,
                                                           and one more each time its status changes
    meta/refused_files/<batch>-<n>.parquet                 files that could not be read at all
    _crmw_lake.json                                        the layout version

A raw row's period is the month of its event time (events) or of its snapshot date (snapshots); a
quarantined row's is its file's (its text has no trusted date). `<load>` names one load of one file
(its content hash, path and load time), so each export file's rows sit in files of their own.

The guarantees are the warehouse's, kept the way a table format keeps them: a row is visible only when
the manifest log says its load is `loaded` (the latest entry per load wins). A group of files is
committed by writing its data files first (invisible: no manifest entry names them), then one
manifest file, written whole or not at all: that write is the commit. A load that fails or is killed
before it leaves at most unreferenced files, which readers never see and `vacuum` removes. Retiring a
load (a new version of the file, or `--force`) appends its new status, then deletes its data files.

Ingest itself runs as on the warehouse (ingest/load.py, the same SQL): its DuckDB connection is
in-memory, the raw and quarantine tables there are write buffers flushed to the lake at each commit,
meta.load_manifest is the log's current state, and the rows loaded before (what duplicate keys are
checked against) are read from the lake (`lake.<entity>` views).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.contracts import CONTRACTS, LINEAGE_COLUMNS, Contract
from ingest.manifest import MANIFEST_COLUMNS
from ingest.parsing import sql_ident
from ingest.tables import QUARANTINE_LINEAGE, ensure_ingest_tables

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
MARKER = "_crmw_lake.json"
# A zero-row file in each table folder gives every engine the table's columns before anything is
# loaded, and the newest columns after a contract gains one: Spark takes a folder's schema from its
# first file, and period=0000-00 sorts first (it reads a column an older file lacks as null; DuckDB
# reads by name). Spark and Hadoop skip names starting with _ or ., hence no underscore.
SCHEMA_PARTITION = "period=0000-00"
SCHEMA_FILE = "schema.parquet"
REFUSED_COLUMNS = ("batch_id", "file_path", "content_hash", "error_class", "reason", "refused_at")
# a load of a file: its rows carry these lineage values, its manifest rows these columns
LOAD_KEY = (("_content_hash", "content_hash"), ("_source_file", "file_path"), ("_loaded_at", "loaded_at"))


class LakeError(Exception):
    """The lake could not be read or written (path, permissions, space, the network). Nothing of a
    failed commit is visible; retrying helps once the cause has passed."""

    retryable = True


def raw_columns(contract: Contract) -> list[str]:
    return [c.name for c in contract.columns] + [name for name, _, _ in LINEAGE_COLUMNS]


def quarantine_columns(contract: Contract) -> list[str]:
    return [c.name for c in contract.columns] + [name for name, _ in QUARANTINE_LINEAGE]


def load_tag(content_hash: str, file_path: str, loaded_at: datetime) -> str:
    """The name the data files of one load of one file start with."""
    text = f"{content_hash}|{file_path}|{loaded_at.isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


# ---------------------------------------------------------------------------- where the files are
@dataclass
class Lake:
    """A lake root: a local folder or a URL (s3://, gs://, abfs://, memory:// ... through fsspec)."""

    url: str
    fs: object = field(init=False, repr=False)
    root: str = field(init=False)

    def __post_init__(self) -> None:
        import fsspec

        if "://" not in self.url:
            self.url = str(Path(self.url).expanduser().resolve())
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError) as exc:
            raise LakeError(
                f"cannot open the lake {self.url}: {exc}; object stores need their fsspec package "
                "(s3fs, gcsfs, adlfs)"
            ) from exc
        self.root = self.root.rstrip("/")

    @property
    def is_local(self) -> bool:
        protocol = self.fs.protocol
        return "file" in (protocol if isinstance(protocol, tuple) else (protocol,))

    def path(self, *parts: str) -> str:
        """A path inside the lake as the filesystem names it."""
        return "/".join([self.root, *parts])

    def uri(self, *parts: str) -> str:
        """A path inside the lake as DuckDB and Spark name it (a URL for object stores)."""
        if self.is_local:
            return self.path(*parts)
        protocol = self.fs.protocol
        scheme = protocol[0] if isinstance(protocol, tuple) else protocol
        return f"{scheme}://" + "/".join([self.root.lstrip("/"), *parts])

    def table_dir(self, schema: str, entity: str) -> str:
        return self.path(schema, entity)

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        """Let DuckDB read (and write) this lake's URLs through fsspec (local folders need nothing)."""
        if not self.is_local:
            con.register_filesystem(self.fs)

    def put(self, local: Path, remote: str) -> None:
        """Place a finished local file at `remote`: a rename on a local lake (atomic), an upload else
        (an object appears whole or not at all)."""
        if self.is_local:
            Path(remote).parent.mkdir(parents=True, exist_ok=True)
            os.replace(local, remote)
        else:
            self.fs.put_file(str(local), remote)
            local.unlink(missing_ok=True)

    def delete(self, paths: list[str]) -> None:
        for path in paths:
            try:
                self.fs.rm_file(path)
            except FileNotFoundError:
                continue

    def glob(self, pattern: str) -> list[str]:
        return sorted(self.fs.glob(pattern))


# ---------------------------------------------------------------------------- reading the lake (SQL)
def _q(name: str, dialect: str) -> str:
    return f"`{name}`" if dialect == "spark" else sql_ident(name)


def _files(uri: str, dialect: str, hive: bool) -> str:
    if dialect == "spark":
        return f"parquet.`{uri}`"
    pattern = f"{uri}/*/*.parquet" if hive else f"{uri}/*.parquet"
    options = ", hive_partitioning = true" if hive else ""
    return f"read_parquet('{uri_escape(pattern)}', union_by_name = true{options})"


def uri_escape(text: str) -> str:
    return text.replace("'", "''")


def manifest_select(root: str, dialect: str = "duckdb") -> str:
    """The load manifest as it stands: the latest entry of every load in the log."""
    cols = ", ".join(f"log.{_q(c, dialect)}" for c in MANIFEST_COLUMNS)
    keys = ", ".join(m for _, m in LOAD_KEY)
    return (
        f"select {cols} from (select entries.*, row_number() over ("
        f"partition by {keys} order by entries.recorded_at desc) as entry_rank "
        f"from {_files(root + '/meta/load_manifest', dialect, hive=False)} as entries) as log "
        "where log.entry_rank = 1"
    )


def refused_select(root: str, dialect: str = "duckdb") -> str:
    cols = ", ".join(f"refused.{_q(c, dialect)}" for c in REFUSED_COLUMNS)
    return f"select {cols} from {_files(root + '/meta/refused_files', dialect, hive=False)} as refused"


def rows_select(root: str, schema: str, contract: Contract, manifest: str, dialect: str = "duckdb") -> str:
    """The rows of raw.<entity> (or quarantine.<entity>) whose load is `loaded` in `manifest`."""
    columns = raw_columns(contract) if schema == "raw" else quarantine_columns(contract)
    cols = ", ".join(f"r.{_q(c, dialect)}" for c in columns)
    match = " and ".join(f"m.{m} = r.{r}" for r, m in LOAD_KEY)
    return (
        f"select {cols} from {_files(f'{root}/{schema}/{contract.entity}', dialect, hive=True)} as r "
        f"where exists (select 1 from {manifest} as m where m.status = 'loaded' and {match})"
    )


def view_statements(root: str, dialect: str = "duckdb") -> list[str]:
    """Views raw.*, quarantine.*, meta.load_manifest and meta.refused_files over the lake at `root`
    (a path or URL as the engine names it), in DuckDB's or Spark's SQL. The dbt project's
    on-run-start hook runs the same statements (dbt/macros/raw_tables.sql, generated from these)."""
    replace = "create or replace view"
    out = [
        f"{replace} meta.load_manifest as {manifest_select(root, dialect)}",
        f"{replace} meta.refused_files as {refused_select(root, dialect)}",
    ]
    for contract in CONTRACTS.values():
        for schema in ("raw", "quarantine"):
            out.append(
                f"{replace} {schema}.{_q(contract.entity, dialect)} as "
                f"{rows_select(root, schema, contract, 'meta.load_manifest', dialect)}"
            )
    return out


# ---------------------------------------------------------------------------- creating the lake
def init_lake(lake: Lake) -> None:
    """Write the layout marker and a zero-row schema file per table where missing (idempotent); a
    table whose contract gained columns gets its schema file written again."""
    con = duckdb.connect()
    try:
        lake.attach(con)
        ensure_ingest_tables(con)
        staging = Path(tempfile.mkdtemp(prefix="crmw-lake-init-"))
        try:
            for schema, table in _tables():
                remote = (
                    lake.path(schema, table, SCHEMA_FILE)
                    if schema == "meta"
                    else lake.path(schema, table, SCHEMA_PARTITION, SCHEMA_FILE)
                )
                wanted = con.execute(f"select * from {schema}.{sql_ident(table)} limit 0").description
                if lake.fs.exists(remote) and _same_columns(con, lake, remote, wanted):
                    continue
                local = staging / f"{schema}-{table}.parquet"
                extra = ", cast(null as timestamp) as recorded_at" if table == "load_manifest" else ""
                con.execute(
                    f"copy (select *{extra} from {schema}.{sql_ident(table)} limit 0) "
                    f"to '{uri_escape(str(local))}' (format parquet)"
                )
                lake.put(local, remote)
            marker = staging / MARKER
            marker.write_text(json.dumps({"layout_version": LAYOUT_VERSION}))
            if not lake.fs.exists(lake.path(MARKER)):
                lake.put(marker, lake.path(MARKER))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise LakeError(f"cannot write the lake at {lake.url}: {exc}") from exc
    finally:
        con.close()


def _tables() -> list[tuple[str, str]]:
    out = [("meta", "load_manifest"), ("meta", "refused_files")]
    for entity in CONTRACTS:
        out += [("raw", entity), ("quarantine", entity)]
    return out


def _same_columns(con, lake: Lake, remote: str, wanted) -> bool:
    names = [d[0] for d in wanted]
    if remote.endswith(f"load_manifest/{SCHEMA_FILE}"):
        names.append("recorded_at")
    uri = lake.uri(*remote[len(lake.root) + 1 :].split("/"))
    found = [
        d[0] for d in con.execute(f"select * from read_parquet('{uri_escape(uri)}') limit 0").description
    ]
    return found == names


def is_lake(lake: Lake) -> bool:
    return lake.fs.exists(lake.path(MARKER))


# ---------------------------------------------------------------------------- ingest into the lake
class LakeSink:
    """What ingest/load.py writes through when the destination is a lake (see the module docstring).

    `connect()` gives the in-memory connection the loader works on; `commit(con)` is called inside a
    group's transaction just before it commits; `after_commit()` once it has; `close(con)` at the end.
    """

    def __init__(self, lake: Lake, workdir: Path | None = None) -> None:
        self.lake = lake
        self.workdir = workdir
        self._retired: list[str] = []  # load tags whose files go once the commit is done
        self._commits = 0

    # the loader reads rows loaded before from here (ingest/duplicates.py)
    loaded_schema = "lake"

    def connect(self) -> duckdb.DuckDBPyConnection:
        init_lake(self.lake)
        con = duckdb.connect()
        con.execute("set enable_progress_bar = false")
        con.execute("set preserve_insertion_order = false")
        if self.workdir is not None:
            con.execute(f"set temp_directory = '{uri_escape(str(self.workdir))}'")
        self.lake.attach(con)
        ensure_ingest_tables(con)
        root = self.lake.uri()
        cols = ", ".join(MANIFEST_COLUMNS)
        con.execute(f"insert into meta.load_manifest ({cols}) {manifest_select(root)}")
        # loads logged before file keys existed were known by their name (as in ingest.tables)
        con.execute("update meta.load_manifest set file_key = file_name where file_key is null")
        con.execute("create temp table _manifest_committed as select * from meta.load_manifest")
        con.execute("create schema lake")
        for contract in CONTRACTS.values():
            con.execute(
                f"create view lake.{sql_ident(contract.entity)} as "
                f"{rows_select(root, 'raw', contract, 'meta.load_manifest')}"
            )
        return con

    def commit(self, con: duckdb.DuckDBPyConnection, contract: Contract) -> None:
        """Write the group's rows and its manifest entries to the lake; the manifest file is the commit."""
        staging = Path(tempfile.mkdtemp(prefix="commit-", dir=self.workdir))
        placed: list[str] = []
        try:
            changes = con.execute(
                "select * from meta.load_manifest except all select * from _manifest_committed"
            ).df()
            if changes.empty:
                return
            data = self._stage_rows(con, contract, staging)
            con.execute(f"delete from raw.{sql_ident(contract.entity)}")
            con.execute(f"delete from quarantine.{sql_ident(contract.entity)}")
            for local, remote in data:
                self.lake.put(local, remote)
                placed.append(remote)
            recorded_at = datetime.now(UTC).replace(tzinfo=None)
            stamp = f"{recorded_at:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
            manifest = staging / f"{stamp}.parquet"
            con.execute(
                f"copy (select * exclude (_recorded_at), _recorded_at as recorded_at from ("
                f"select *, ?::timestamp as _recorded_at from meta.load_manifest "
                f"except all select *, ?::timestamp from _manifest_committed)) "
                f"to '{uri_escape(str(manifest))}' (format parquet)",
                [recorded_at, recorded_at],
            )
            self.lake.put(manifest, self.lake.path("meta", "load_manifest", f"{stamp}.parquet"))
        except OSError as exc:
            self.lake.delete(placed)  # never referenced: nothing of this commit is visible
            raise LakeError(
                f"could not write the lake at {self.lake.url}: {exc}; nothing of the files being loaded "
                "is visible (those loaded before are): run ingest again once the lake is writable"
            ) from exc
        except BaseException:
            self.lake.delete(placed)
            raise
        finally:
            if self.workdir is None:  # else it goes with the work folder, at the end
                shutil.rmtree(staging, ignore_errors=True)
        retired = changes[changes["status"] != "loaded"]
        self._retired += [
            load_tag(r.content_hash, r.file_path, r.loaded_at.to_pydatetime()) for r in retired.itertuples()
        ]
        con.execute("delete from _manifest_committed")
        con.execute("insert into _manifest_committed select * from meta.load_manifest")
        self._commits += 1

    def _stage_rows(self, con, contract: Contract, staging: Path) -> list[tuple[Path, str]]:
        """The group's buffered rows as Parquet files under `staging`, one set per load and partition
        (one COPY per table: DuckDB splits the rows by folder); returns (local file, lake path)."""
        entity = sql_ident(contract.entity)
        if contract.kind == "event":
            raw_period = f"strftime(cast(b.{sql_ident(contract.event_time)} as date), '%Y-%m')"
        else:
            raw_period = "strftime(b._snapshot_date, '%Y-%m')"
        # a quarantined row's period is its file's: the first event it loaded, its snapshot, its load
        file_period = (
            "coalesce(strftime(coalesce(m.period_start, m.snapshot_date), '%Y-%m'), "
            "strftime(b._loaded_at, '%Y-%m'))"
        )
        loads = con.execute(
            f"select distinct _content_hash, _source_file, _loaded_at from raw.{entity} union "
            f"select distinct _content_hash, _source_file, _loaded_at from quarantine.{entity}"
        ).fetchall()
        con.execute(
            "create or replace temp table _loads (tag varchar, content_hash varchar, file_path varchar, "
            "loaded_at timestamp)"
        )
        con.executemany("insert into _loads values (?, ?, ?, ?)", [[load_tag(*key), *key] for key in loads])
        match = " and ".join(f"l.{m} = b.{r}" for r, m in LOAD_KEY)
        out: list[tuple[Path, str]] = []
        for schema, period in (("raw", raw_period), ("quarantine", file_period)):
            target = staging / schema
            con.execute(
                f"copy (select b.*, coalesce({period}, 'none') as period, l.tag as load_tag "
                f"from {schema}.{entity} as b join _loads as l on {match} "
                f"left join meta.load_manifest as m on {match.replace('l.', 'm.')}) "
                f"to '{uri_escape(str(target))}' "
                "(format parquet, partition_by (period, load_tag), filename_pattern 'part-{i}')"
            )
            if not target.exists():
                continue
            for local in sorted(target.rglob("*.parquet")):
                tag = local.parent.name.split("=", 1)[1]
                partition = local.parent.parent.name
                name = f"{tag}-{local.stem.rsplit('-', 1)[1]}.parquet"
                out.append((local, self.lake.path(schema, contract.entity, partition, name)))
        con.execute("drop table _loads")
        return out

    def after_commit(self) -> None:
        """Delete the data files of the loads the commit retired (no reader can see them any more)."""
        if not self._retired:
            return
        tags, self._retired = self._retired, []
        doomed = []
        for tag in tags:
            for schema in ("raw", "quarantine"):
                doomed += self.lake.glob(self.lake.path(schema, "*", "*", f"{tag}-*.parquet"))
        self.lake.delete(doomed)
        log.debug("lake: deleted %d data files of %d retired loads", len(doomed), len(tags))

    def close(self, con: duckdb.DuckDBPyConnection) -> None:
        """Write the refusals recorded since the last call (they take no transaction)."""
        if not con.execute("select count(*) from meta.refused_files").fetchone()[0]:
            return
        staging = Path(tempfile.mkdtemp(prefix="crmw-lake-", dir=self.workdir))
        try:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.parquet"
            local = staging / name
            con.execute(f"copy meta.refused_files to '{uri_escape(str(local))}' (format parquet)")
            self.lake.put(local, self.lake.path("meta", "refused_files", name))
            con.execute("delete from meta.refused_files")
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def vacuum(lake: Lake) -> list[str]:
    """Delete data files no visible load names (left by a load killed before its commit, or by a
    retirement interrupted before its files went). Run it when nothing is ingesting. Returns them."""
    con = duckdb.connect()
    try:
        lake.attach(con)
        rows = con.execute(
            f"select content_hash, file_path, loaded_at, status from ({manifest_select(lake.uri())})"
        ).fetchall()
    finally:
        con.close()
    live = {load_tag(h, p, t) for h, p, t, status in rows if status == "loaded"}
    orphans = []
    for schema in ("raw", "quarantine"):
        for path in lake.glob(lake.path(schema, "*", "*", "*.parquet")):
            name = path.rsplit("/", 1)[-1]
            if name != SCHEMA_FILE and name.split("-", 1)[0] not in live:
                orphans.append(path)
    lake.delete(orphans)
    return orphans


def connect_lake(url: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose raw.*, quarantine.* and meta.* are views over the lake
    (what a build on DuckDB reads; `crmw quarantine` and the tests read it so too)."""
    lake = Lake(url)
    if not is_lake(lake):
        raise LakeError(f"no lake at {lake.url}: ingest into it first (crmw ingest with CRMW_LAKE set)")
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    lake.attach(con)
    for schema in ("raw", "quarantine", "meta"):
        con.execute(f"create schema {schema}")
    for statement in view_statements(lake.uri()):
        con.execute(statement)
    return con
