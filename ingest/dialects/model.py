"""What a dialect is made of: fields that say where each contract column comes from in an export.

A dialect is data. Most columns are read whole from one header, and a dialect can say so with a
plain `{header: column}` table. Vendor exports need a little more, always declared here and turned
into SQL in one place (ingest/load.py):

- `values`: the export's codes for an enum (Salesforce 'Closed Won', Bitrix 'WON') -> ours;
- `id_form`: ids normalised to one form (Salesforce 15-character ids -> 18 characters);
- `prefixes`: a polymorphic reference split by the kind of record it points to (Salesforce WhoId
  holds a contact id, 003..., or a lead id, 00Q...);
- `when`: a field that applies only where another field has one of some values (Opportunity
  CloseDate is the expected close date while IsClosed is false, the close date once it is true);
- several sources joined with a space (name parts), several fields for one column (the first
  non-empty wins: Task and Event carry the time in different fields);
- JSON paths into nested records (`device.category`) and key/value arrays (`param`: GA4's
  event_params), epoch-microsecond timestamps (a dialect timestamp format), and a key derived from
  several fields where the export has none (`key_of`).

Nothing here is SQL: field names and codes are constants of this code base, checked below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ingest.contracts import CONTRACTS

IdForm = Literal["salesforce"]
FileFormat = Literal["csv", "jsonl", "xlsx"]
ALL_FORMATS: tuple[FileFormat, ...] = ("csv", "jsonl", "xlsx")
# JSON path segments and key/value parameter names a dialect may use (they end up in SQL literals).
_PATH_SEGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


@dataclass(frozen=True)
class Field:
    """One place in an export that feeds one contract column."""

    column: str
    # CSV: the header; JSON lines: a dotted path from the record (`geo.region`). A tuple joins the
    # non-empty texts of several sources with a space (name parts).
    source: str | tuple[str, ...] = ""
    # JSON lines: the value of the element whose `key` is `param` in the key/value array at `source`
    # ({key, value: {string_value | int_value | double_value | float_value}}, GA4's event_params).
    param: str | None = None
    # (export text, our value): matched case-insensitively after trimming; our value None means the
    # export's value has no counterpart and is stored empty. Text not listed passes through, so the
    # column's own check rejects it. The first pair for a value is what the generator writes.
    values: tuple[tuple[str, str | None], ...] = ()
    id_form: IdForm | None = None
    # only values starting with one of these (case-sensitive, as Salesforce key prefixes are)
    prefixes: tuple[str, ...] = ()
    # only rows where the source `when[0]` has one of the values `when[1]` (case-insensitive)
    when: tuple[str, tuple[str, ...]] | None = None
    # whole numbers: multiply (an export counting minutes feeding a column of seconds)
    scale: int = 1
    # a date column the export only has as a timestamp: the UTC date of it
    date_of_timestamp: bool = False
    # a key the export lacks: the MD5 of these fields' text (see parsing.derive_key)
    key_of: tuple[Field, ...] = ()
    # shown in docs/exports.md
    note: str = ""

    @property
    def sources(self) -> tuple[str, ...]:
        return self.source if isinstance(self.source, tuple) else ((self.source,) if self.source else ())

    @property
    def is_plain(self) -> bool:
        """Read whole and unchanged from one header."""
        return (
            isinstance(self.source, str)
            and bool(self.source)
            and self.param is None
            and not (self.values or self.id_form or self.prefixes or self.when or self.key_of)
            and self.scale == 1
            and not self.date_of_timestamp
        )

    def roots(self, nested: bool) -> tuple[str, ...]:
        """Headers (or top-level JSON keys) the field reads; `when` sources not included."""
        if self.key_of:
            return tuple(dict.fromkeys(r for part in self.key_of for r in part.roots(nested)))
        if nested:
            return tuple(s.split(".")[0] for s in self.sources)
        return self.sources

    def needs_all_roots(self) -> bool:
        # name parts: any of them is enough; everything else needs every source it names
        return not isinstance(self.source, tuple)

    def written(self, ours: str | None) -> str | None:
        """The export's text for one of our values (what the generator writes)."""
        if ours is None or not self.values:
            return ours
        for vendor, mapped in self.values:
            if mapped == ours:
                return vendor
        raise KeyError(f"field {self.sources} has no export value for {ours!r}")


@dataclass(frozen=True)
class Dialect:
    name: str
    description: str
    delimiter: str
    # strptime formats (DuckDB/Python), tried in order; see parsing.py for %z and EPOCH_MICROS
    date_formats: tuple[str, ...]
    timestamp_formats: tuple[str, ...]
    decimal_comma: bool
    # entity -> {export header -> contract column}: plain one-to-one columns. Derived from
    # `fields` when a dialect gives those instead.
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # encoding the generator writes; readers detect the encoding of every file
    write_encoding: str = "utf-8"
    true_values: tuple[str, ...] = ("true", "1", "yes", "y", "t")
    false_values: tuple[str, ...] = ("false", "0", "no", "n", "f")
    extra: dict[str, str] = field(default_factory=dict)
    # entity -> fields, in precedence order (earlier fields of a column win where not empty).
    # Derived from `headers` when a dialect gives those instead.
    fields: dict[str, tuple[Field, ...]] = field(default_factory=dict)
    # file formats the dialect comes in
    formats: tuple[FileFormat, ...] = ALL_FORMATS
    # how the vendor names its files (lower-case, without extension or period) -> entity:
    # a tie-breaker for detection, like `<entity>__<period>.csv` for ours
    file_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fields and not self.headers:
            plain = {e: {f.source: f.column for f in fs if f.is_plain} for e, fs in self.fields.items()}
            object.__setattr__(self, "headers", plain)
        elif self.headers and not self.fields:
            derived = {
                e: tuple(Field(column=col, source=header) for header, col in hs.items())
                for e, hs in self.headers.items()
            }
            object.__setattr__(self, "fields", derived)
        self._check()

    @property
    def nested(self) -> bool:
        """Sources are JSON paths into nested records (a JSON-lines-only dialect)."""
        return self.formats == ("jsonl",)

    def _check(self) -> None:
        for entity, fields in self.fields.items():
            contract = CONTRACTS[entity]
            for f in fields:
                contract.column(f.column)
                seen: dict[str, str | None] = {}
                for vendor, ours in f.values:
                    key = vendor.lower()
                    if key in seen and seen[key] != ours:
                        raise ValueError(f"{self.name}.{entity}: {vendor!r} maps to two values")
                    seen[key] = ours
                    if ours is None and contract.column(f.column).required:
                        raise ValueError(f"{self.name}.{entity}: {vendor!r} cannot empty required {f.column}")
                    allowed = contract.column(f.column).allowed
                    if ours is not None and allowed and ours not in allowed:
                        raise ValueError(f"{self.name}.{entity}: {ours!r} is not a value of {f.column}")
                if self.nested:
                    for path in [*(p for part in (f, *f.key_of) for p in part.sources)]:
                        if not all(_PATH_SEGMENT.fullmatch(s) for s in path.split(".")):
                            raise ValueError(f"{self.name}.{entity}: bad JSON path {path!r}")
                    if f.param is not None and not _PATH_SEGMENT.fullmatch(f.param):
                        raise ValueError(f"{self.name}.{entity}: bad parameter name {f.param!r}")

    def header_for(self, entity: str, column: str) -> str:
        for header, col in self.headers[entity].items():
            if col == column:
                return header
        raise KeyError(f"dialect {self.name} has no header for {entity}.{column}")

    def entities(self) -> tuple[str, ...]:
        return tuple(self.fields)

    def fields_for(self, entity: str, column: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields.get(entity, ()) if f.column == column)

    def field_for(self, entity: str, column: str) -> Field:
        """The first (preferred) field of a column: what the generator writes."""
        found = self.fields_for(entity, column)
        if not found:
            raise KeyError(f"dialect {self.name} has no field for {entity}.{column}")
        return found[0]

    def missing_columns(self, entity: str) -> tuple[str, ...]:
        """Contract columns this dialect's exports do not carry."""
        have = {f.column for f in self.fields.get(entity, ())}
        return tuple(c for c in CONTRACTS[entity].column_names if c not in have)
