"""A reference count of the records a CSV file holds, written apart from the loader to check it.

The rule (docs/exports.md, "What a record is"): lines end at LF, CRLF or a lone CR; an empty line
between records is no record; a record is one line, or several when a quoted field runs over line
ends; a record that would run over several lines and is not well formed (its quote never closes,
text follows a closing quote, it has another number of fields than the header) counts as one
broken record, its first line, and counting goes on at the next line.

This is deliberately simple and slow: one character at a time over the bytes read as Latin-1 (the
delimiter, quote and line ends are ASCII in every encoding an export comes in, so the structure is
the same whatever the file's encoding).
"""

from __future__ import annotations

import re

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n|$)")


def _lines(data: bytes) -> list[str]:
    found = [m.group().decode("latin-1") for m in _LINE.finditer(data)]
    return [line for line in found if line]  # the last match is empty


def _body(line: str) -> str:
    return line[:-2] if line.endswith("\r\n") else line.rstrip("\r\n")


def _record_ends(lines: list[str], start: int, n_fields: int, delimiter: str) -> int | None:
    """The index of the last line of a well-formed record starting at line `start`, or None."""
    fields = 1
    in_quotes = after_quote = False
    at_start = True
    for index in range(start, len(lines)):
        text = _body(lines[index])
        position = 0
        while position < len(text):
            ch = text[position]
            if in_quotes:
                if ch == '"' and text[position + 1 : position + 2] == '"':
                    position += 1
                elif ch == '"':
                    in_quotes, after_quote = False, True
            elif after_quote:
                if ch == delimiter:
                    fields, after_quote, at_start = fields + 1, False, True
                elif ch != " ":
                    return None  # text after a closing quote
            elif ch == delimiter:
                fields, at_start = fields + 1, True
            elif ch == '"' and at_start:
                in_quotes, at_start = True, False
            else:
                at_start = False
            position += 1
        if not in_quotes:
            return index if fields == n_fields else None
    return None  # the quote never closes


def reference_record_count(data: bytes, n_fields: int, delimiter: str = ",") -> int:
    """How many records (loaded or quarantined, broken ones included) follow the header."""
    lines = _lines(data)
    count, index = 0, 1
    while index < len(lines):
        if _body(lines[index]) == "":
            index += 1
            continue
        end = _record_ends(lines, index, n_fields, delimiter)
        count += 1
        index = end + 1 if end is not None else index + 1
    return count
