"""Erasing a person from the files under the home: the landing files (record by record, in their own
format and encoding), and whatever else a run wrote there (reports, data docs, logs, dbt's files,
Dagster's storage, the resolution's pair cache, an interrupted load's scratch copies).

A landing file that was loaded loses exactly the records the warehouse deleted (by record number:
the loader numbers records the same way), and in the others the person's record ids become their
tokens and the person's values inside text become [erased]; a file not loaded loses the records
that hold one of the person's values. A rewritten export has a new content hash: ingest takes it as
a new version of the same file (same path), which replaces the old version's rows.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import shutil
import sqlite3
from pathlib import Path

from ingest.readers import inspect_file, sniff_delimiter, utf8_copy
from ingest.records import iter_records, line_end
from privacy.person import Person
from warehouse.settings import Settings

log = logging.getLogger(__name__)

EXPORT_SUFFIXES = {".csv", ".txt", ".tsv", ".jsonl", ".ndjson", ".json", ".xlsx"}
SQLITE_MAGIC = b"SQLite format 3\x00"
# caches of rows that the next build recomputes: removed rather than edited
ROW_CACHES = ("*.pairs.pkl",)


class Scrubber:
    """The person's values, ids and text patterns, applied to one value at a time."""

    def __init__(self, person: Person, patterns: list[tuple[str, str]]) -> None:
        self.whole = person.whole_values()
        self.digits = person.digit_values()
        self.patterns = [(re.compile(p), r) for p, r in patterns]
        groups = [f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})" for p, _ in patterns]
        self.combined = re.compile("|".join(groups)) if groups else None

    def holds_person(self, value) -> bool:
        """Whether a value is one of the person's, whole (an e-mail, a phone, an INN, a name)."""
        if value is None:
            return False
        text = str(value).strip()
        if text.lower() in self.whole:
            return True
        return bool(self.digits) and len(text) <= 40 and re.sub(r"\D", "", text) in self.digits

    def text(self, value: str) -> str:
        if self.combined is None or not self.combined.search(value):
            return value
        for pattern, replacement in self.patterns:
            value = pattern.sub(replacement, value)
        return value

    def mentions(self, text: str) -> bool:
        return self.combined is not None and self.combined.search(text) is not None


# --------------------------------------------------------------------------- landing exports
def _rewrite_csv(path: Path, scrubber: Scrubber, drop: set[int], loaded: bool, workdir: Path) -> bool:
    info = inspect_file(path)
    text_path = utf8_copy(info, workdir)
    try:
        delimiter = sniff_delimiter(text_path)
        with text_path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
            lines = iter(fh)
            header = next(lines, "")
            ending = line_end(header) or "\n"
            header_fields = next(csv.reader([header], delimiter=delimiter), [])
            out = io.StringIO()
            out.write(scrubber.text(header))
            writer = csv.writer(out, delimiter=delimiter, lineterminator=ending)
            changed = False
            for number, (fields, raw) in enumerate(
                iter_records(lines, len(header_fields), delimiter), start=1
            ):
                text = raw.split("\n", 1)[1] if fields is None else None
                if number in drop or (
                    not loaded and fields is not None and any(map(scrubber.holds_person, fields))
                ):
                    changed = True
                    continue
                if fields is None:
                    new = scrubber.text(text)
                    out.write(new + ending)
                    changed |= new != text
                    continue
                new_fields = [scrubber.text(f) for f in fields]
                changed |= new_fields != fields
                writer.writerow(new_fields)
    finally:
        if text_path != path:
            text_path.unlink(missing_ok=True)
    if changed:
        encoding = "utf-8-sig" if info.has_bom else info.encoding
        path.write_bytes(out.getvalue().encode(encoding, errors="replace"))
    return changed


def _scrub_json(value, scrubber: Scrubber):
    if isinstance(value, str):
        return scrubber.text(value)
    if isinstance(value, list):
        return [_scrub_json(v, scrubber) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_json(v, scrubber) for k, v in value.items()}
    return value


def _json_holds_person(value, scrubber: Scrubber) -> bool:
    if isinstance(value, dict):
        return any(_json_holds_person(v, scrubber) for v in value.values())
    if isinstance(value, list):
        return any(_json_holds_person(v, scrubber) for v in value)
    return isinstance(value, str) and scrubber.holds_person(value)


def _rewrite_jsonl(path: Path, scrubber: Scrubber, drop: set[int], loaded: bool, encoding: str) -> bool:
    out, changed, number = [], False, 0
    with path.open("r", encoding=encoding, errors="replace", newline="") as fh:
        for line in fh:
            body = line.rstrip("\r\n")
            if body == "":
                out.append(line)
                continue
            number += 1
            try:
                record = json.loads(body)
            except ValueError:
                record = None
            if number in drop or (not loaded and record is not None and _json_holds_person(record, scrubber)):
                changed = True
                continue
            if record is None:
                new = scrubber.text(body)
            else:
                scrubbed = _scrub_json(record, scrubber)
                new = body if scrubbed == record else json.dumps(scrubbed, ensure_ascii=False)
            changed |= new != body
            out.append(new + line[len(body) :])
    if changed:
        path.write_text("".join(out), encoding=encoding)
    return changed


def _rewrite_json_array(path: Path, scrubber: Scrubber, drop: set[int], loaded: bool, encoding: str) -> bool:
    elements = json.loads(path.read_text(encoding=encoding, errors="replace"))
    if not isinstance(elements, list):
        return False
    kept = [
        _scrub_json(e, scrubber)
        for n, e in enumerate(elements, start=1)
        if n not in drop and (loaded or not _json_holds_person(e, scrubber))
    ]
    if kept == elements:
        return False
    path.write_text(json.dumps(kept, ensure_ascii=False), encoding=encoding)
    return True


def _rewrite_xlsx(path: Path, scrubber: Scrubber, drop: set[int], loaded: bool) -> bool:
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    changed, number, header = False, 0, None
    for sheet in workbook.worksheets:
        rows_to_delete = []
        first = True
        for row in sheet.iter_rows():
            values = [c.value for c in row]
            if all(v is None for v in values):
                continue
            if first:
                first = False
                if header is None or values != header:
                    header = values
                    continue  # a sheet's header: records follow it (numbered on from the sheet before)
                continue
            number += 1
            if number in drop or (
                not loaded and any(scrubber.holds_person(v) for v in values if isinstance(v, str))
            ):
                rows_to_delete.append(row[0].row)
                continue
            for cell in row:
                if isinstance(cell.value, str):
                    new = scrubber.text(cell.value)
                    if new != cell.value:
                        cell.value, changed = new, True
        for index in reversed(rows_to_delete):
            sheet.delete_rows(index)
            changed = True
    if changed:
        workbook.save(path)
    workbook.close()
    return changed


def scrub_landing(
    settings: Settings, scrubber: Scrubber, dropped: dict[str, set[int]], loaded: set[str]
) -> list[str]:
    """Rewrite the landing exports that hold the person; returns their paths."""
    rewritten = []
    workdir = settings.warehouse_dir
    for path in sorted(p for p in settings.landing_dir.rglob("*") if p.is_file() and not p.is_symlink()):
        if path.suffix.lower() not in EXPORT_SUFFIXES or "ground_truth" in path.parts:
            continue
        key = str(path.resolve())
        drop = dropped.get(key, set())
        try:
            info = inspect_file(path)
        except Exception:  # noqa: BLE001 - a file ingest refuses is scrubbed as text below
            continue
        if not drop and info.format != "xlsx":
            sample = path.read_bytes().decode(
                info.encoding if info.encoding != "binary" else "utf-8", errors="replace"
            )
            if not scrubber.mentions(sample) and not any(
                scrubber.holds_person(v) for v in re.split(r"[,;\t|\r\n\"]", sample) if v
            ):
                continue
        if info.format == "xlsx":
            changed = _rewrite_xlsx(path, scrubber, drop, key in loaded)
        elif info.format == "jsonl":
            changed = _rewrite_jsonl(path, scrubber, drop, key in loaded, info.encoding)
        elif info.format == "json_array":
            changed = _rewrite_json_array(path, scrubber, drop, key in loaded, info.encoding)
        else:
            changed = _rewrite_csv(path, scrubber, drop, key in loaded, workdir)
        if changed:
            rewritten.append(str(path))
    return rewritten


# --------------------------------------------------------------------------- every other file
def _scrub_sqlite(path: Path, scrubber: Scrubber) -> bool:
    """Text of every table of an SQLite file (Dagster's run and event storage), then VACUUM, so the
    old pages are gone from the file."""
    con = sqlite3.connect(path)
    changed = 0
    try:
        con.create_function(
            "crmw_erase", 1, lambda v: scrubber.text(v) if isinstance(v, str) else v, deterministic=True
        )
        tables = [
            r[0]
            for r in con.execute(
                "select name from sqlite_master where type = 'table' and name not like 'sqlite_%'"
            )
        ]
        for table in tables:
            columns = [r[1] for r in con.execute(f'pragma table_info("{table}")')]
            for column in columns:
                cur = con.execute(
                    f'update "{table}" set "{column}" = crmw_erase("{column}") '
                    f'where typeof("{column}") = \'text\' and crmw_erase("{column}") <> "{column}"'
                )
                changed += cur.rowcount
        con.commit()
        if changed:
            con.execute("vacuum")
    finally:
        con.close()
    return changed > 0


def _text_of(data: bytes) -> tuple[str, str] | None:
    if b"\x00" in data[:8192]:
        return None
    for encoding in ("utf-8", "cp1251"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return None


def scrub_other_files(settings: Settings, scrubber: Scrubber) -> tuple[list[str], list[str]]:
    """Every file under the home but the warehouse files, the secret and the landing exports."""
    rewritten, removed = [], []
    skip = {settings.warehouse_path, settings.published_path}
    for stale in settings.warehouse_dir.glob("crmw-ingest-*"):  # an interrupted load's scratch copies
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(str(stale))
    for pattern in ROW_CACHES:
        for cache in settings.artifacts_dir.rglob(pattern):
            cache.unlink(missing_ok=True)
            removed.append(str(cache))
    for path in sorted(p for p in settings.home.rglob("*") if p.is_file() and not p.is_symlink()):
        if path in skip or settings.secrets_dir in path.parents or not path.exists():
            continue  # (a report's PDF may have gone with its HTML)
        if (
            settings.landing_dir in path.parents
            and path.suffix.lower() in EXPORT_SUFFIXES
            and "ground_truth" not in path.parts
        ):
            continue  # scrub_landing's
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
        if head == SQLITE_MAGIC:
            if _scrub_sqlite(path, scrubber):
                rewritten.append(str(path))
            continue
        decoded = _text_of(path.read_bytes())
        if decoded is None:
            continue
        text, encoding = decoded
        new = scrubber.text(text)
        if new == text:
            continue
        path.write_bytes(new.encode(encoding))
        rewritten.append(str(path))
        # a report's PDF is a rendering of its HTML: it goes with it (`crmw report` renders it again)
        if path.suffix == ".html":
            for pdf in path.parent.glob("*.pdf"):
                pdf.unlink()
                removed.append(str(pdf))
    return rewritten, removed


def scrub_home_files(
    settings: Settings,
    person: Person,
    patterns: list[tuple[str, str]],
    dropped: list[tuple[str, int]],
    loaded: set[str] | None = None,
) -> tuple[list[str], list[str]]:
    scrubber = Scrubber(person, patterns)
    by_file: dict[str, set[int]] = {}
    for source, number in dropped:
        by_file.setdefault(str(Path(source).resolve()), set()).add(int(number))
    rewritten = scrub_landing(settings, scrubber, by_file, loaded if loaded is not None else set(by_file))
    more, removed = scrub_other_files(settings, scrubber)
    return rewritten + more, removed
