"""Reading export files: format, encoding, header, and a UTF-8 copy DuckDB can scan.

Everything here works on bytes in bounded chunks, so a file larger than memory
would like is streamed, never read whole.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.errors import EmptyFile, NotATextFile, UnknownFormat

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024
SNIFF_BYTES = 256 * 1024
XLSX_MAGIC = b"PK\x03\x04"
MAX_HEADER_BYTES = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    content_hash: str
    format: str  # csv | jsonl | xlsx
    encoding: str  # python codec name of the original bytes
    has_bom: bool
    # whether the text may hold U+FFFD (the replacement character marks undecodable bytes):
    # False only for UTF-8 files whose bytes hold none, read as they are
    may_hold_replacement: bool = True
    # a CSV with a header and no records (a month without campaigns, say)
    header_only: bool = False


REPLACEMENT_UTF8 = "\ufffd".encode()


def hash_and_scan(path: Path) -> tuple[str, bool]:
    """The file's SHA-256 and whether its bytes hold U+FFFD in UTF-8, in one pass."""
    digest = hashlib.sha256()
    found = False
    tail = b""
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if not found:
                found = REPLACEMENT_UTF8 in tail + chunk[:2] or REPLACEMENT_UTF8 in chunk
                tail = chunk[-2:]
    return digest.hexdigest(), found


def _detect_encoding(path: Path, sample: bytes) -> tuple[str, bool]:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8", True
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", True
    # Valid UTF-8 throughout the sample wins: it is what almost every modern export is,
    # and charset detectors can mistake short UTF-8 Cyrillic for other code pages.
    try:
        sample.decode("utf-8")
        return "utf-8", False
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still UTF-8.
        if exc.start >= len(sample) - 3 and exc.reason == "unexpected end of data":
            return "utf-8", False
    if b"\x00" in sample:
        raise NotATextFile(
            "the file contains NUL bytes and is not text",
            file=path,
            hint="export as CSV, JSON lines or XLSX",
        )
    best = from_bytes(sample, cp_isolation=["cp1251", "koi8_r", "cp866", "latin_1", "utf_8"]).best()
    if best is None:
        raise NotATextFile(
            "the file's bytes are not text in any known encoding",
            file=path,
            hint="export as UTF-8 or Windows-1251 text",
        )
    return codecs.lookup(best.encoding).name, False


def inspect_file(path: Path) -> FileInfo:
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile("the file is empty", file=path, hint="re-export it; nothing was loaded")
    with path.open("rb") as fh:
        sample = fh.read(SNIFF_BYTES)
    if sample.startswith(XLSX_MAGIC):
        fmt, encoding, bom = "xlsx", "binary", False
    else:
        encoding, bom = _detect_encoding(path, sample)
        text = sample.decode(encoding, errors="replace").lstrip("\ufeff \t\r\n")
        if not text:
            raise EmptyFile("the file holds only white space", file=path)
        fmt = "jsonl" if text.startswith("{") else "csv"
    # the sample is the whole file when the file is that small
    lines = [line for line in text.splitlines() if line.strip()] if fmt == "csv" else []
    header_only = fmt == "csv" and size <= SNIFF_BYTES and len(lines) <= 1
    content_hash, has_replacement = hash_and_scan(path)
    return FileInfo(
        path=path,
        size=size,
        content_hash=content_hash,
        format=fmt,
        encoding=encoding,
        has_bom=bom,
        may_hold_replacement=has_replacement or fmt != "csv" or encoding != "utf-8" or bom,
        header_only=header_only,
    )


def _temp_file(workdir: Path, suffix: str) -> Path:
    """A new empty file in workdir (its descriptor closed: the caller opens it by name)."""
    fd, name = tempfile.mkstemp(prefix="crmw-", suffix=suffix, dir=workdir)
    os.close(fd)
    return Path(name)


def utf8_copy(info: FileInfo, workdir: Path) -> Path:
    """A path to the file's text as UTF-8 without BOM: the file itself when it already is."""
    if info.encoding == "utf-8" and not info.has_bom:
        return info.path
    target = _temp_file(workdir, ".utf8")
    decoder = codecs.getincrementaldecoder(info.encoding)(errors="strict")
    first = True
    with info.path.open("rb") as src, target.open("w", encoding="utf-8", newline="") as dst:
        while chunk := src.read(CHUNK):
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError:
                # Undecodable bytes stay visible (U+FFFD) and the rows holding them are
                # quarantined as bad_encoding by the loader, never dropped.
                text = chunk.decode(info.encoding, errors="replace")
            if first:
                text = text.lstrip("\ufeff")
                first = False
            dst.write(text)
        dst.write(decoder.decode(b"", final=True))
    return target


def read_header(path: Path, delimiter: str) -> list[str]:
    """The first CSV record of a UTF-8 file, parsed with the csv module."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        head = fh.read(MAX_HEADER_BYTES)
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    try:
        return next(reader)
    except StopIteration:
        return []
    except csv.Error:
        return []


def sniff_delimiter(path: Path) -> str:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        first_line = fh.readline(MAX_HEADER_BYTES)
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def jsonl_keys(path: Path, max_lines: int = 1000) -> list[str]:
    """Keys seen in the first records of a JSON lines file, in first-seen order."""
    keys: dict[str, None] = {}
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for i, line in enumerate(fh):
            if i >= max_lines:
                break
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                keys.update(dict.fromkeys(record))
    return list(keys)


def _cell_text(value, date_format: str, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.strftime(date_format)
        return value.strftime(date_format + " %H:%M:%S")
    if isinstance(value, date):
        return value.strftime(date_format)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value) if not value.is_integer() else str(int(value))
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def xlsx_to_csv(
    path: Path, workdir: Path, date_format: str = "%Y-%m-%d", decimal_comma: bool = False
) -> Path:
    """The first sheet of an XLSX workbook as a UTF-8 CSV (comma separated)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip or XML
        raise UnknownFormat(f"not a readable XLSX workbook: {exc}", file=path) from exc
    target = _temp_file(workdir, ".csv")
    try:
        sheet = workbook.worksheets[0]
        with target.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for row in sheet.iter_rows(values_only=True):
                if row is None or all(v is None for v in row):
                    continue
                writer.writerow([_cell_text(v, date_format, decimal_comma) for v in row])
    finally:
        workbook.close()
    return target
