"""Which dialect and which entity a file is, decided from its header (a JSON lines file's keys).

The header decides; the file name is a hint only (`invoices__2024-03.csv`, or a vendor's own
object name, `Opportunity.csv`): among the entities whose required columns the header carries and
that read as many of its columns as any, the one the name suggests wins.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from ingest.contracts import get_contract
from ingest.dialects import DIALECTS, Dialect, Field, entity_for_file_name, get_dialect
from ingest.errors import DialectNotRecognised, EntityNotRecognised, FileRefused

MAX_HEADER_LENGTH = 200


@dataclass(frozen=True)
class Detection:
    dialect: Dialect
    entity: str
    # position in the file's header -> contract column, for columns read whole from one header
    mapping: dict[int, str]
    # position -> original header, for columns the contract does not know
    extras: dict[int, str]
    headers: tuple[str, ...] = ()
    # the dialect's fields this file carries, in precedence order
    fields: tuple[Field, ...] = ()
    # normalised header (top-level key) -> position
    positions: dict[str, int] = field(default_factory=dict)


def normalise_header(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "")
    text = text.strip().strip('"').strip().lower().replace("ё", "е")
    return re.sub(r"\s+", " ", text)


def check_header(headers: list[str], file: Path) -> None:
    if not headers or all(not h.strip() for h in headers):
        raise FileRefused(
            "the file has no header row", file=file, hint="the first line must name the columns"
        )
    for position, header in enumerate(headers, start=1):
        if any(unicodedata.category(ch) == "Cc" and ch not in "\t" for ch in header):
            raise FileRefused(
                f"header {position} contains control characters",
                file=file,
                column=repr(header[:40]),
                hint="this is not an export we know; check the file is what you meant to load",
            )
        if len(header) > MAX_HEADER_LENGTH:
            raise FileRefused(
                f"header {position} is {len(header)} characters long",
                file=file,
                hint="column names longer than 200 characters are not headers",
            )


def _entity_hint(file: Path) -> str | None:
    return entity_for_file_name(file.name)


@dataclass(frozen=True)
class _Fit:
    matched: int
    coverage: float
    fields: tuple[Field, ...]
    mapping: dict[int, str]
    consumed: frozenset[int]


def _whole_roots(f: Field, nested: bool) -> tuple[str, ...]:
    if f.key_of:
        return tuple(r for part in f.key_of for r in _whole_roots(part, nested))
    if not nested:
        return f.sources
    return f.sources if f.param is None and "." not in f.source else ()


@dataclass(frozen=True)
class _Prepared:
    """A field with its headers normalised once (detection runs for every dialect and entity)."""

    field: Field
    roots: tuple[str, ...]
    needs_all: bool
    whole: tuple[str, ...]
    plain: str | None


_PREPARED: dict[tuple[int, str], tuple[_Prepared, ...]] = {}


def _prepared(dialect: Dialect, entity: str) -> tuple[_Prepared, ...]:
    key = (id(dialect), entity)
    if key not in _PREPARED:
        nested = dialect.nested
        _PREPARED[key] = tuple(
            _Prepared(
                field=f,
                roots=tuple(normalise_header(r) for r in f.roots(nested)),
                needs_all=f.needs_all_roots(),
                whole=tuple(normalise_header(r) for r in _whole_roots(f, nested)),
                plain=normalise_header(f.source) if f.is_plain else None,
            )
            for f in dialect.fields[entity]
        )
    return _PREPARED[key]


def _fit(dialect: Dialect, entity: str, positions: dict[str, int]) -> _Fit | None:
    """How well the header fits an entity of a dialect; None when a required column is missing."""
    present = [
        p
        for p in _prepared(dialect, entity)
        if p.roots and (all if p.needs_all else any)(r in positions for r in p.roots)
    ]
    contract = get_contract(entity)
    covered = {p.field.column for p in present}
    if not covered or not set(contract.required_columns) <= covered:
        return None
    mapping = {positions[p.plain]: p.field.column for p in present if p.plain in positions}
    # a header is consumed when a field reads it whole; a nested record read in part stays an extra
    consumed = {positions[r] for p in present for r in p.whole if r in positions}
    fields = tuple(p.field for p in present)
    return _Fit(len(covered), len(covered) / len(contract.columns), fields, mapping, frozenset(consumed))


def detect(
    headers: list[str],
    file: Path,
    *,
    dialect: str | None = None,
    entity: str | None = None,
    file_format: str | None = None,
) -> Detection:
    check_header(headers, file)
    normalised = [normalise_header(h) for h in headers]
    duplicates = {h for h in normalised if h and normalised.count(h) > 1}
    if duplicates:
        raise FileRefused(
            f"the header repeats column(s) {sorted(duplicates)}",
            file=file,
            hint="each column must appear once",
        )
    dialects = [get_dialect(dialect)] if dialect else list(DIALECTS.values())
    if file_format:
        dialects = [d for d in dialects if file_format in d.formats]
    if entity:
        get_contract(entity)
    hint = _entity_hint(file)
    positions = {h: i for i, h in enumerate(normalised) if h}
    candidates = []
    for d in dialects:
        for e in d.entities():
            if entity and e != entity:
                continue
            fit = _fit(d, e, positions)
            if fit:
                # the file's name breaks a tie in matched columns: a vendor's objects share many
                # field names (Id, Name, OwnerId, CreatedDate), so coverage alone would mislead
                candidates.append((fit.matched, e == hint, fit.coverage, d.name == "generic", d, e, fit))
    if not candidates:
        if entity:
            contract = get_contract(entity)
            raise EntityNotRecognised(
                f"the header does not carry the required columns of {entity} "
                f"({', '.join(contract.required_columns)})",
                file=file,
                hint=f"header was: {', '.join(h[:40] for h in headers[:20])}",
            )
        raise DialectNotRecognised(
            "the header matches no entity of any dialect",
            file=file,
            hint=f"header was: {', '.join(h[:40] for h in headers[:20])}; see docs/exports.md",
        )
    candidates.sort(key=lambda c: c[:4], reverse=True)
    best = candidates[0]
    if len(candidates) > 1 and candidates[1][:4] == best[:4]:
        names = " or ".join(f"{c[4].name}/{c[5]}" for c in candidates[:2])
        raise EntityNotRecognised(
            f"the header fits {names} equally well",
            file=file,
            hint="name the file <entity>__<period>.csv or pass --entity",
        )
    _, _, _, _, chosen_dialect, chosen_entity, fit = best
    extras = {i: h for i, h in enumerate(headers) if i not in fit.consumed and i not in fit.mapping}
    return Detection(
        dialect=chosen_dialect,
        entity=chosen_entity,
        mapping=fit.mapping,
        extras=extras,
        headers=tuple(headers),
        fields=fit.fields,
        positions=positions,
    )
