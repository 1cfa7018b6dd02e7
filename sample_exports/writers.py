"""Formatting typed columns per dialect and writing export files, with their faults and ground truth.

A `Table` holds one export's rows as typed numpy columns named after the contract:
- string-like types (string, enum, inn, kpp, email, phone): object arrays, None for empty
- date: int64 days since 1970-01-01; timestamp: int64 seconds (UTC); decimal: int64 hundredths
  (kopecks); integer: int64; boolean: int8 (1, 0, -1 for empty). `clock.NULL` marks empty numbers.
`ExportWriter.write` formats it for the file's dialect, plants faults (faults.py), writes the CSV with
the csv module (fields quoted when needed; see `write_csv`) and records what ground truth needs.
For a vendor dialect (Salesforce, Bitrix24, GA4) the table is first reshaped into the vendor's
files (vendor_files.py) and its ids rewritten the vendor's way (ids.py).
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from ingest.contracts import CONTRACTS, Contract
from ingest.dialects import DIALECTS, GENERIC, RU_ACCOUNTING, Dialect, export_file_name
from ingest.dialects.ga4 import GA4
from ingest.parsing import EPOCH_MICROS, sql_ident, sql_literal
from sample_exports.clock import NULL
from sample_exports.faults import plant_faults, text_columns
from sample_exports.ids import IdStyle
from sample_exports.params import GeneratorParams, rng_for
from sample_exports.vendor_files import GA4_PARAMS, GA4_SESSION, SHAPERS, Lookups, VendorFile, ga4_event_ids

NBSP = "\u00a0"


@dataclass
class Table:
    entity: str
    columns: dict[str, np.ndarray]
    # for record linkage ground truth: the true entity index of each row, -1 when none
    truth_entity: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))


# ---------------------------------------------------------------------------- formatting
def _with_nulls(text: np.ndarray, null: np.ndarray) -> np.ndarray:
    out = text.astype(object)
    out[null] = None
    return out


def _reorder_iso_date(iso: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD...' -> 'DD.MM.YYYY' (vectorised on the characters)."""
    n = len(iso)
    chars = np.ascontiguousarray(iso.astype("U10")).view("U1").reshape(n, 10)
    out = np.empty((n, 10), dtype="U1")
    out[:, 0:2] = chars[:, 8:10]
    out[:, 2] = "."
    out[:, 3:5] = chars[:, 5:7]
    out[:, 5] = "."
    out[:, 6:10] = chars[:, 0:4]
    return np.ascontiguousarray(out).view("U10").reshape(n)


def _day_first(dialect: Dialect) -> bool:
    """DD.MM.YYYY dates (Russian accounting, Bitrix24)."""
    return dialect.date_formats[0].startswith("%d.")


def format_date(days: np.ndarray, dialect: Dialect) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    null = days == NULL
    iso = np.where(null, 0, days).astype("M8[D]").astype("U10")
    text = _reorder_iso_date(iso) if _day_first(dialect) else iso
    return _with_nulls(text, null)


def format_timestamp(secs: np.ndarray, dialect: Dialect) -> np.ndarray:
    """Seconds (UTC) as the dialect writes them; epoch microseconds (GA4) are written as they are."""
    secs = np.asarray(secs, dtype=np.int64)
    null = secs == NULL
    if dialect.timestamp_formats[0] == EPOCH_MICROS:
        return _with_nulls(np.where(null, 0, secs).astype(str), null)
    iso = np.where(null, 0, secs).astype("M8[s]").astype("U19")
    if _day_first(dialect):
        text = np.strings.add(np.strings.add(_reorder_iso_date(iso), " "), np.strings.slice(iso, 11, 19))
    elif dialect.timestamp_formats[0].endswith(".%f%z"):  # milliseconds and Z for UTC (Salesforce)
        text = np.strings.add(iso, ".000Z")
    else:
        text = iso
    return _with_nulls(text, null)


def _group_thousands(ip: np.ndarray, sep: np.ndarray) -> np.ndarray:
    """Integer part with a separator (per row) between groups of three digits: 1234567 -> 1 234 567."""
    digits = ip.astype(str)
    k = max(1, -(-int(np.strings.str_len(digits).max()) // 3))
    chars = (
        np.ascontiguousarray(np.strings.rjust(digits, 3 * k, "#").astype(f"U{3 * k}"))
        .view("U1")
        .reshape(-1, k, 3)
    )
    out = np.empty((len(ip), k, 4), dtype="U1")
    out[:, :, 0] = sep[:, None]
    out[:, :, 1:] = chars
    joined = np.ascontiguousarray(out.reshape(len(ip), 4 * k)).view(f"U{4 * k}").reshape(len(ip))
    return np.strings.lstrip(np.strings.replace(joined, "#", ""), " " + NBSP)


def format_decimal(hundredths: np.ndarray, dialect: Dialect, rng: np.random.Generator) -> np.ndarray:
    v = np.asarray(hundredths, dtype=np.int64)
    null = v == NULL
    v = np.where(null, 0, v)
    neg = v < 0
    a = np.abs(v)
    ip, frac = a // 100, a % 100
    frac_s = np.strings.zfill(frac.astype(str), 2)
    if dialect is RU_ACCOUNTING:
        # thousands separated by a space or a non-breaking space, as different 1C setups do
        sep = np.where(rng.random(len(v)) < 0.5, " ", NBSP)
        text = np.strings.add(np.strings.add(_group_thousands(ip, sep), ","), frac_s)
    elif dialect.decimal_comma:
        text = np.strings.add(np.strings.add(ip.astype(str), ","), frac_s)
    else:
        text = np.strings.add(np.strings.add(ip.astype(str), "."), frac_s)
    text = np.where(neg, np.strings.add("-", text), text)
    return _with_nulls(text, null)


def format_integer(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.int64)
    null = v == NULL
    return _with_nulls(np.where(null, 0, v).astype(str), null)


def format_boolean(v: np.ndarray, dialect: Dialect) -> np.ndarray:
    v = np.asarray(v, dtype=np.int8)
    t, f = (dialect.true_values[0], dialect.false_values[0])
    return _with_nulls(np.where(v == 1, t, f), v < 0)


def format_column(
    values: np.ndarray, logical_type: str, dialect: Dialect, rng: np.random.Generator
) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=object)
    if logical_type == "date":
        return format_date(values, dialect)
    if logical_type == "timestamp":
        return format_timestamp(values, dialect)
    if logical_type == "decimal":
        return format_decimal(values, dialect, rng)
    if logical_type == "integer":
        return format_integer(values)
    if logical_type == "boolean":
        return format_boolean(values, dialect)
    out = np.asarray(values, dtype=object)
    return out


# ---------------------------------------------------------------------------- writing
def _quote_always(value: str | None) -> str:
    return "" if value is None else '"' + value.replace('"', '""') + '"'


def write_csv(
    fh, header: list[str], columns: list[np.ndarray], contract: Contract, delimiter: str, eol: str
) -> None:
    """CSV with fields quoted when needed, and also when they start with an apostrophe.

    A field like 'Ромашка' (a name in single quotes) is valid unquoted CSV, but CSV sniffers
    (DuckDB's among them) then guess the apostrophe is the quote character and give up; quoting
    those few fields keeps every file auto-detectable.
    """
    writer = csv.writer(fh, delimiter=delimiter, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    special: set[int] = set()
    for ci in text_columns(contract):  # ids, codes and URLs never start with an apostrophe
        special.update(i for i, v in enumerate(columns[ci].tolist()) if v and v[0] == "'")
    rows = zip(*(c.tolist() for c in columns), strict=True)
    done = 0
    for idx in sorted(special):
        writer.writerows(itertools.islice(rows, idx - done))
        fh.write(delimiter.join(_quote_always(v) for v in next(rows)) + eol)
        done = idx + 1
    writer.writerows(rows)


@dataclass
class GroundTruthLog:
    files: list[tuple[str, int]] = field(default_factory=list)
    quarantine: list[tuple[str, int, str, str]] = field(default_factory=list)
    repairs: list[tuple[str, int, str, str]] = field(default_factory=list)
    source_records: list[tuple[str, str, str, int]] = field(default_factory=list)  # source, entity, id, ent


@dataclass
class ExportWriter:
    out_dir: Path
    seed: int
    messiness: float
    params: GeneratorParams
    finance_dialect: str = "generic"
    log: GroundTruthLog = field(default_factory=GroundTruthLog)
    crm_dialect: str = "generic"
    web_dialect: str = "generic"
    lookups: Lookups = field(default_factory=Lookups)

    @property
    def ids(self) -> IdStyle:
        return IdStyle(self.crm_dialect, self.web_dialect)

    def dialect_for(self, contract: Contract) -> Dialect:
        """The dialect a file is written in: a vendor's entities in the vendor's format, the rest generic."""
        if contract.source == "finance" and self.finance_dialect == "ru_accounting":
            return RU_ACCOUNTING
        chosen = {"crm": self.crm_dialect, "web": self.web_dialect}.get(contract.source, "generic")
        dialect = DIALECTS[chosen]
        return dialect if dialect is not GENERIC and contract.entity in dialect.fields else GENERIC

    @staticmethod
    def encoding_for(dialect: Dialect, entity: str, period: str) -> str:
        """RU accounting: cp1251, except UTF-8 with BOM for credit notes and every third month of payments."""
        if dialect is not RU_ACCOUNTING:
            return "utf-8"
        if entity == "credit_notes" or (entity == "payments" and int(period[5:7]) % 3 == 0):
            return "utf-8-sig"
        return dialect.write_encoding

    def write(self, table: Table, period: str, record_truth: bool = False) -> str:
        """Write one export file (a vendor may split it in several); returns its path relative to out_dir."""
        contract = CONTRACTS[table.entity]
        dialect = self.dialect_for(contract)
        if not self.ids.is_identity:
            table = Table(table.entity, self.ids.translate(table.columns), table.truth_entity)
        if dialect.name in SHAPERS:
            return self._write_vendor(table, contract, dialect, period, record_truth)[0]
        rel = f"{contract.source}/{export_file_name(table.entity, period)}"
        rng = rng_for(self.seed, "file", rel)
        missing = set(contract.column_names) - set(table.columns)
        if missing:
            raise KeyError(f"{table.entity} table lacks contract columns {sorted(missing)}")
        cols = [format_column(table.columns[c.name], c.type, dialect, rng) for c in contract.columns]
        planted = plant_faults(
            cols,
            contract,
            dialect,
            rng,
            self.messiness,
            self.params.fault_weights,
            allow_mojibake=dialect is GENERIC,
        )
        header = [dialect.header_for(table.entity, c) for c in contract.column_names]
        path = self.out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = self.encoding_for(dialect, table.entity, period)
        eol = "\r\n" if dialect is RU_ACCOUNTING else "\n"
        with open(path, "w", encoding=encoding, newline="") as fh:
            write_csv(fh, header, planted.columns, contract, dialect.delimiter, eol)
        n_rows = len(planted.columns[0]) if planted.columns else 0
        self.log.files.append((rel, n_rows))
        self.log.quarantine.extend((rel, row, table.entity, reason) for row, reason in planted.quarantine)
        self.log.repairs.extend((rel, row, col, original) for row, col, original in planted.repairs)
        if record_truth and table.truth_entity is not None:
            key = table.columns[contract.key[0]]
            has = np.flatnonzero(table.truth_entity >= 0)
            self.log.source_records.extend(
                (contract.source, table.entity, key[i], int(table.truth_entity[i])) for i in has.tolist()
            )
        return rel

    # ------------------------------------------------------------------------ vendor files
    def _write_vendor(
        self, table: Table, contract: Contract, dialect: Dialect, period: str, record_truth: bool
    ) -> list[str]:
        rels = []
        for vf in SHAPERS[dialect.name](table, period, self.lookups):
            ext = "jsonl" if dialect.nested else "csv"
            rel = f"{contract.source}/{vf.stem}__{period}.{ext}"
            rng = rng_for(self.seed, "file", rel)
            texts = [format_column(p.values, p.format_type, dialect, rng) for p in vf.primaries]
            key = next(p.column.name for p in vf.primaries if p.header == vf.key)
            faults_contract = Contract(
                entity=contract.entity,
                source=contract.source,
                kind=contract.kind,
                description=contract.description,
                grain=contract.grain,
                key=(key,),
                columns=tuple(p.column for p in vf.primaries),
            )
            planted = plant_faults(
                texts,
                faults_contract,
                dialect,
                rng,
                self.messiness,
                self.params.fault_weights,
                allow_mojibake=False,
            )
            final = _assemble(vf, planted.columns)
            path = self.out_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            order = vf.order or tuple(p.header for p in vf.primaries if not p.hidden) + tuple(vf.derived)
            if dialect.nested:
                _write_ga4(path, final)
            else:
                encoding = _vendor_encoding(dialect, vf.entity, period)
                with open(path, "w", encoding=encoding, newline="") as fh:
                    _write_vendor_csv(fh, dialect, order, final)
            n_rows = len(planted.columns[0]) if planted.columns else 0
            self.log.files.append((rel, n_rows))
            self.log.quarantine.extend(
                (rel, row, contract.entity, reason) for row, reason in planted.quarantine
            )
            if record_truth and table.truth_entity is not None:
                has = np.flatnonzero(table.truth_entity >= 0)
                if vf.truth_ids is not None:
                    record_ids = vf.truth_ids[has]
                else:  # GA4: the ids ingest derives, from the clean rows' text
                    record_ids = ga4_event_ids(_assemble(vf, texts), has)
                self.log.source_records.extend(
                    (contract.source, contract.entity, rid, int(table.truth_entity[i]))
                    for rid, i in zip(record_ids.tolist(), has.tolist(), strict=True)
                )
            rels.append(rel)
        return rels


def _assemble(vf: VendorFile, columns: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The file's columns by header: primaries, then those derived from their text, then constants."""
    final = {p.header: col for p, col in zip(vf.primaries, columns, strict=True)}
    n = len(columns[0]) if columns else 0
    for header, derive in vf.derived.items():
        final[header] = np.asarray(derive(final), dtype=object) if n else np.zeros(0, dtype=object)
    for header, value in vf.constants.items():
        final[header] = np.full(n, value, dtype=object)
    return final


def _vendor_encoding(dialect: Dialect, entity: str, period: str) -> str:
    """Bitrix24: Windows-1251, except UTF-8 with BOM for contacts, deals and activities of odd months."""
    if dialect.name != "bitrix24":
        return "utf-8"
    if entity in ("contacts", "deals") or (entity == "activities" and int(period[5:7]) % 2 == 1):
        return "utf-8-sig"
    return dialect.write_encoding


def _write_vendor_csv(fh, dialect: Dialect, order: tuple[str, ...], final: dict[str, np.ndarray]) -> None:
    """Salesforce quotes every field, as Data Export does; Bitrix24 quotes when needed, CRLF."""
    if dialect.name == "salesforce":
        writer = csv.writer(fh, delimiter=",", lineterminator="\n", quoting=csv.QUOTE_ALL)
    else:
        writer = csv.writer(fh, delimiter=dialect.delimiter, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(order)
    writer.writerows(zip(*(final[h].tolist() for h in order), strict=True))


def _ga4_path(column: str) -> str:
    """Where the GA4 dialect reads a web_events column: a top-level field or a dotted path."""
    return GA4.field_for("web_events", column).source


def _ga4_record(headers: list[str], record: str, before: str = "", after: str = "") -> str:
    """A nested record of the export: the written columns at `record.<key>`, with constants around them."""
    fields = [
        f"{sql_literal(h.split('.', 1)[1])}: {sql_ident(h)}" for h in headers if h.startswith(record + ".")
    ]
    return "{" + ", ".join(x for x in (before, *fields, after) if x) + "}"


def _write_ga4(path: Path, final: dict[str, np.ndarray]) -> None:
    """One JSON object per event, shaped like GA4's BigQuery export (INT64 values as strings).

    The written columns go where the dialect reads them: top-level fields, event parameters (the
    session id as an integer) and nested records; the rest of the record is constants. DuckDB writes
    the nested records: a Python loop per event would dominate the generator.
    """
    headers = list(final)
    columns = {h: pa.array(v.tolist(), type=pa.string()) for h, v in final.items()}
    params = [
        f"{{'key': {sql_literal(h)}, 'value': {{'string_value': {sql_ident(h)}, 'int_value': NULL::VARCHAR, "
        f"'double_value': NULL::DOUBLE}}}}"
        for h in headers
        if h in GA4_PARAMS and h != GA4_SESSION
    ]
    session = (
        f"{{'key': {sql_literal(GA4_SESSION)}, 'value': {{'string_value': NULL::VARCHAR, "
        f"'int_value': {sql_ident(GA4_SESSION)}, 'double_value': NULL::DOUBLE}}}}"
    )
    ts, name, visitor = (sql_ident(_ga4_path(c)) for c in ("event_at", "event_type", "visitor_id"))
    device, geo, traffic = (_ga4_path(c).split(".")[0] for c in ("device", "geo_region", "utm_source"))
    utm = ", ".join(sql_ident(h) for h in headers if h.startswith(traffic + "."))
    select = f"""
        select
            case when regexp_full_match({ts}, '[0-9]{{1,17}}')
                then strftime(make_timestamp({ts}::BIGINT) + interval 3 hour, '%Y%m%d') end
                AS event_date,
            {ts},
            {name},
            list_filter([{", ".join(params)}, {session}], lambda p: coalesce(p.value.string_value, p.value.int_value) is not null)
                AS event_params,
            NULL::VARCHAR AS user_id,
            {visitor},
            {_ga4_record(headers, device, after="'web_info': {'hostname': 'sfera-it.ru'}")} AS {device},
            {_ga4_record(headers, geo, before="'country': 'Russia'")} AS {geo},
            {{'name': '(direct)', 'medium': '(none)', 'source': '(direct)'}} AS traffic_source,
            case when coalesce({utm}) is not null then {_ga4_record(headers, traffic)} end
                AS {traffic},
            'WEB' AS platform
        from events
    """
    con = duckdb.connect()
    try:
        con.execute("set preserve_insertion_order = true")
        con.register("events", pa.table(columns))
        con.execute(f"copy ({select}) to {sql_literal(str(path))} (format json)")
    finally:
        con.close()
