"""Formatting typed columns per dialect and writing export files, with their faults and ground truth.

A `Table` holds one export's rows as typed numpy columns named after the contract:
- string-like types (string, enum, inn, kpp, email, phone): object arrays, None for empty
- date: int64 days since 1970-01-01; timestamp: int64 seconds (UTC); decimal: int64 hundredths
  (kopecks); integer: int64; boolean: int8 (1, 0, -1 for empty). `clock.NULL` marks empty numbers.
`ExportWriter.write` formats it for the file's dialect, plants faults (faults.py), writes the CSV with
the csv module (fields quoted when needed; see `write_csv`) and records what ground truth needs.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.contracts import CONTRACTS, Contract
from ingest.dialects import GENERIC, RU_ACCOUNTING, Dialect, export_file_name
from ingest.generator.clock import NULL
from ingest.generator.faults import plant_faults, text_columns
from ingest.generator.params import GeneratorParams, rng_for

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


def format_date(days: np.ndarray, dialect: Dialect) -> np.ndarray:
    days = np.asarray(days, dtype=np.int64)
    null = days == NULL
    iso = np.where(null, 0, days).astype("M8[D]").astype("U10")
    text = _reorder_iso_date(iso) if dialect is RU_ACCOUNTING else iso
    return _with_nulls(text, null)


def format_timestamp(secs: np.ndarray, dialect: Dialect) -> np.ndarray:
    secs = np.asarray(secs, dtype=np.int64)
    null = secs == NULL
    iso = np.where(null, 0, secs).astype("M8[s]").astype("U19")
    if dialect is RU_ACCOUNTING:
        text = np.strings.add(np.strings.add(_reorder_iso_date(iso), " "), np.strings.slice(iso, 11, 19))
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

    def dialect_for(self, contract: Contract) -> Dialect:
        if contract.source == "finance" and self.finance_dialect == "ru_accounting":
            return RU_ACCOUNTING
        return GENERIC

    @staticmethod
    def encoding_for(dialect: Dialect, entity: str, period: str) -> str:
        """RU accounting: cp1251, except UTF-8 with BOM for credit notes and every third month of payments."""
        if dialect is not RU_ACCOUNTING:
            return "utf-8"
        if entity == "credit_notes" or (entity == "payments" and int(period[5:7]) % 3 == 0):
            return "utf-8-sig"
        return dialect.write_encoding

    def write(self, table: Table, period: str, record_truth: bool = False) -> str:
        """Write one export file; returns its path relative to out_dir."""
        contract = CONTRACTS[table.entity]
        dialect = self.dialect_for(contract)
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
