"""Splitting a CSV file into records line by line, for the files DuckDB's reader cannot be trusted
with: a quote opened and never closed (the reader would swallow every record after it into one
rejected record), or carriage returns that end lines on their own (old Mac exports, or a stray one
the reader stops at).

What a record is (docs/exports.md, "What a record is"), here and in DuckDB's reader alike:

- lines end at LF, CRLF or a lone CR; an empty line between records is no record;
- a record is one line, or several when a quoted field runs over line ends;
- a record that runs over several lines and is not well formed (its quote never closes, it has
  another number of fields than the header, text follows a closing quote, or it grows past
  MAX_RECORD_CHARS) is not one record: its first line is a broken record (quarantined), and
  reading goes on at the next line. So a stray quote costs one record, never the rest of the file.

`split_records` writes the well-formed records to a new CSV (CRLF line ends, quoted where needed)
that DuckDB reads as it is, and returns the broken ones by record number: the loader quarantines
them and numbers the others around them, exactly as it does for records DuckDB's reader rejects.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from pathlib import Path

# A record, even one whose quoted fields run over many lines, is never longer than this (DuckDB's
# reader refuses longer lines too): a stray quote near the start of a large file is found broken
# after this much text, not after reading the whole rest of the file.
MAX_RECORD_CHARS = 8 * 1024 * 1024
QUOTE = '"'


class _Fields:
    """The fields of one record, parsed as its lines arrive (RFC 4180 as DuckDB's reader has it:
    a field that starts with a quote is quoted, with "" for a quote inside and only spaces between
    the closing quote and the delimiter; in an unquoted field a quote is a character like any)."""

    def __init__(self, delimiter: str) -> None:
        self.delimiter = delimiter
        self.fields: list[str] = []
        self.current: list[str] = []
        self.in_quotes = False
        self.quoted = False  # the current field started with a quote (and it has closed)
        self.at_field_start = True
        self.malformed = False
        self.chars = 0

    def feed(self, text: str) -> None:
        self.chars += len(text)
        if self.malformed:
            return
        if not self.in_quotes and QUOTE not in text:  # the common case: a line without quotes
            parts = text.split(self.delimiter)
            if self.quoted and parts[0].strip(" "):
                self.malformed = True
                return
            if not self.quoted:
                self.current.append(parts[0])
            for part in parts[1:]:
                self._end_field()
                self.current.append(part)
            if len(parts) > 1:
                self.at_field_start = False
            return
        i, n = 0, len(text)
        while i < n:
            ch = text[i]
            if self.in_quotes:
                if ch == QUOTE:
                    if i + 1 < n and text[i + 1] == QUOTE:
                        self.current.append(QUOTE)
                        i += 2
                        continue
                    self.in_quotes = False
                else:
                    self.current.append(ch)
            elif self.quoted:  # after a closing quote: spaces, then the delimiter
                if ch == self.delimiter:
                    self._end_field()
                elif ch != " ":
                    self.malformed = True
                    return
            elif ch == self.delimiter:
                self._end_field()
            elif ch == QUOTE and self.at_field_start:
                self.in_quotes = self.quoted = True
            else:
                self.current.append(ch)
            self.at_field_start = ch == self.delimiter and not self.in_quotes
            i += 1

    def _end_field(self) -> None:
        self.fields.append("".join(self.current))
        self.current = []
        self.quoted = False
        self.at_field_start = True

    def finish(self) -> list[str]:
        self._end_field()
        return self.fields


def _lines(path: Path) -> Iterator[str]:
    """The file's lines with their ends (LF, CRLF or a lone CR)."""
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:
        yield from fh


def _body(line: str) -> str:
    """The line without its end."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\r", "\n")):
        return line[:-1]
    return line


def _problem(record: _Fields, fields: list[str] | None, n_fields: int) -> str | None:
    """Why a record is broken (in the words of DuckDB's reader), or None when it is well formed."""
    if record.malformed:
        return "UNQUOTED VALUE: text follows a closing quote"
    if record.in_quotes:
        return "UNTERMINATED QUOTE: a quote opened in this record never closes"
    if record.chars > MAX_RECORD_CHARS:
        return f"LINE SIZE OVER MAXIMUM: the record is longer than {MAX_RECORD_CHARS:,} characters"
    if fields is not None and len(fields) < n_fields:
        return f"MISSING COLUMNS: {len(fields)} fields, the header has {n_fields}"
    if fields is not None and len(fields) > n_fields:
        return f"TOO MANY COLUMNS: {len(fields)} fields, the header has {n_fields}"
    return None


def iter_records(
    lines: Iterator[str], n_fields: int, delimiter: str
) -> Iterator[tuple[list[str] | None, str]]:
    """(fields, text) per record after the header, in order. A broken record has fields None, and
    its text is its problem and its first line ("PROBLEM: why\nthe line")."""
    pending: deque[str] = deque()  # lines read ahead and given back (a broken record's other lines)

    def next_line() -> str | None:
        if pending:
            return pending.popleft()
        return next(lines, None)

    while (line := next_line()) is not None:
        body = _body(line)
        if body == "":
            continue
        record = _Fields(delimiter)
        record.feed(body)
        taken = [line]
        while record.in_quotes and not record.malformed and record.chars <= MAX_RECORD_CHARS:
            more = next_line()
            if more is None:
                break
            taken.append(more)
            record.feed(line_end(taken[-2]) + _body(more))
        fields = None if record.in_quotes or record.malformed else record.finish()
        problem = _problem(record, fields, n_fields)
        if problem is None:
            yield fields, "".join(taken)
        else:
            pending.extendleft(reversed(taken[1:]))  # read on from the next line
            yield None, f"{problem}\n{body}"


def line_end(line: str) -> str:
    return line[len(_body(line)) :]


def split_records(text_path: Path, target: Path, n_fields: int, delimiter: str) -> dict[int, str]:
    """Write the header and the well-formed records of `text_path` (UTF-8) to `target`, and return
    the broken records: record number (1-based, header excluded) -> its problem and first line."""
    lines = _lines(text_path)
    header = next(lines, "")
    broken: dict[int, str] = {}
    with target.open("w", encoding="utf-8", newline="") as fh:
        # CRLF: the writer quotes a value holding either line-end character only when both end lines
        writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        fh.write(_body(header) + "\r\n")
        for number, (fields, text) in enumerate(iter_records(lines, n_fields, delimiter), start=1):
            if fields is None:
                broken[number] = text
            else:
                writer.writerow(fields)
    return broken
