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
import time
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from charset_normalizer import from_bytes

from ingest.errors import EmptyFile, FileChanged, FileRefused, NotATextFile, UnknownFormat

log = logging.getLogger(__name__)

CHUNK = 4 * 1024 * 1024
SNIFF_BYTES = 256 * 1024
XLSX_MAGIC = b"PK\x03\x04"
MAX_HEADER_BYTES = 1024 * 1024
# An XLSX workbook is refused when its sheets' XML is larger than this, or when converting it takes
# longer: a few kilobytes of zip can claim a million rows of sixteen thousand columns.
XLSX_MAX_XML_BYTES = 2 * 1024**3
XLSX_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class FileInfo:
    path: Path
    size: int
    content_hash: str
    format: str  # csv | jsonl | json_array | xlsx
    encoding: str  # python codec name of the original bytes
    has_bom: bool
    # whether the text may hold U+FFFD (the replacement character marks undecodable bytes):
    # False only for UTF-8 files whose bytes hold none, read as they are
    may_hold_replacement: bool = True
    # a CSV with a header and no records (a month without campaigns, say)
    header_only: bool = False
    # a carriage return that does not end a CRLF pair (old Mac line ends, or a stray one): such
    # files are split into records line by line (ingest.records), not by DuckDB's reader
    lone_cr: bool = False
    # size, modification time and inode when the file was hashed: a file that no longer has them
    # changed while it was loaded (see still_unchanged)
    signature: tuple[int, int, int] = (0, 0, 0)


REPLACEMENT_UTF8 = "\ufffd".encode()


def hash_and_scan(path: Path) -> tuple[str, bool, bool]:
    """The file's SHA-256, whether its bytes hold U+FFFD in UTF-8, and whether they hold a carriage
    return that is not followed by a line feed, in one pass."""
    digest = hashlib.sha256()
    found = False
    lone_cr = False
    tail = b""
    pending_cr = False  # the previous chunk ended with CR: it is lone unless this one starts with LF
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            if not found:
                found = REPLACEMENT_UTF8 in tail + chunk[:2] or REPLACEMENT_UTF8 in chunk
                tail = chunk[-2:]
            if not lone_cr:
                ends_with_cr = chunk.endswith(b"\r")
                crs = chunk.count(b"\r") - ends_with_cr
                lone_cr = (pending_cr and not chunk.startswith(b"\n")) or crs > chunk.count(b"\r\n")
                pending_cr = ends_with_cr
    return digest.hexdigest(), found, lone_cr or pending_cr


def file_signature(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def still_unchanged(info: FileInfo) -> None:
    """Raise FileChanged when the file is no longer the one that was hashed (an export still being
    written, or replaced while it was loaded): its rows would not be the rows of its hash."""
    try:
        now = file_signature(info.path)
    except OSError as exc:
        raise FileChanged(f"the file went away while it was loaded ({exc.strerror})", file=info.path) from exc
    if now != info.signature:
        raise FileChanged(
            f"the file changed while it was loaded ({info.signature[0]:,} bytes, now {now[0]:,})",
            file=info.path,
            hint="nothing of it was loaded; load it again once the export has finished writing",
        )


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
    signature = file_signature(path)
    size = signature[0]
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
        fmt = "jsonl" if text.startswith("{") else "json_array" if text.startswith("[") else "csv"
    # the sample is the whole file when the file is that small
    lines = [line for line in text.splitlines() if line.strip()] if fmt == "csv" else []
    header_only = fmt == "csv" and size <= SNIFF_BYTES and len(lines) <= 1
    content_hash, has_replacement, lone_cr = hash_and_scan(path)
    info = FileInfo(
        path=path,
        size=size,
        content_hash=content_hash,
        format=fmt,
        encoding=encoding,
        has_bom=bom,
        may_hold_replacement=has_replacement or fmt != "csv" or encoding != "utf-8" or bom,
        header_only=header_only,
        lone_cr=lone_cr and encoding != "utf-16",
        signature=signature,
    )
    still_unchanged(info)  # the hash is of the bytes we will read
    return info


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
    # newline="": lines end at LF, CRLF or a lone CR (old Mac exports) alike
    reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
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


def json_array_keys(path: Path, max_objects: int = 1000) -> list[str]:
    """Keys seen in the first objects of a JSON array file, in first-seen order."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        text = fh.read(MAX_HEADER_BYTES)
    decoder = json.JSONDecoder()
    keys: dict[str, None] = {}
    position = text.index("[") + 1
    for _ in range(max_objects):
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            value, position = decoder.raw_decode(text, position)
        except ValueError:
            break  # the end of the array, or of what was read of it
        if isinstance(value, dict):
            keys.update(dict.fromkeys(value))
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
        # 15 significant digits, as Excel shows them: a sum stored as 0.30000000000000004 is 0.3
        text = str(int(value)) if value.is_integer() else f"{value:.15g}"
        return text.replace(".", ",") if decimal_comma else text
    return str(value)


def _xlsx_xml_bytes(path: Path) -> int:
    """How many bytes of XML the workbook's sheets and shared strings unpack to."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(
                item.file_size
                for item in archive.infolist()
                if item.filename.startswith("xl/worksheets/") or item.filename == "xl/sharedStrings.xml"
            )
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnknownFormat(f"not a readable XLSX workbook: {exc}", file=path) from exc


def _sheet_rows(sheet, date_format: str, decimal_comma: bool, deadline: float, path: Path):
    """The sheet's non-empty rows as text, reading only the cells the sheet holds (its declared
    dimension is ignored: it can be wrong either way, too small or absurdly large)."""
    sheet.reset_dimensions()
    for row in sheet.iter_rows(values_only=True):
        if time.monotonic() > deadline:
            raise FileRefused(
                f"reading the workbook took longer than {XLSX_MAX_SECONDS:.0f} s; it was refused",
                file=path,
                hint="save the sheet as CSV and load that",
            )
        if not row or all(v is None for v in row):
            continue
        yield [_cell_text(v, date_format, decimal_comma) for v in row]


def _fit_width(cells: list[str], width: int) -> list[str]:
    """A row with as many cells as the header: missing cells are empty, and empty cells past the
    header dropped (a value past the header stays, and the row is rejected as malformed)."""
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    while len(cells) > width and cells[-1] == "":
        cells.pop()
    return cells


def xlsx_to_csv(
    path: Path, workdir: Path, date_format: str = "%Y-%m-%d", decimal_comma: bool = False
) -> Path:
    """The workbook's data as a UTF-8 CSV (comma separated): its first sheet with data, and the
    sheets after it that carry the same header (an export split over sheets). A workbook with
    another sheet of data is refused, naming the sheet: nothing in it is ignored silently."""
    from openpyxl import load_workbook

    xml_bytes = _xlsx_xml_bytes(path)
    if xml_bytes > XLSX_MAX_XML_BYTES:
        raise FileRefused(
            f"the workbook unpacks to {xml_bytes / 1024**3:.1f} GiB of XML "
            f"(more than {XLSX_MAX_XML_BYTES / 1024**3:.0f} GiB); it was refused",
            file=path,
            hint="save the sheet as CSV and load that",
        )
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken zip or XML
        raise UnknownFormat(f"not a readable XLSX workbook: {exc}", file=path) from exc
    deadline = time.monotonic() + XLSX_MAX_SECONDS
    target = _temp_file(workdir, ".csv")
    header: list[str] | None = None
    try:
        with target.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            for sheet in workbook.worksheets:
                rows = _sheet_rows(sheet, date_format, decimal_comma, deadline, path)
                first = next(rows, None)
                if first is None:
                    continue
                first = _fit_width(first, 0)
                if header is None:
                    header = first
                    writer.writerow(header)
                elif first != header:
                    raise FileRefused(
                        f"sheet {sheet.title!r} holds data under another header than the first sheet's",
                        file=path,
                        hint="save each sheet as its own file (or delete the sheet) and load again",
                    )
                for cells in rows:
                    writer.writerow(_fit_width(cells, len(header)))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        workbook.close()
    return target
