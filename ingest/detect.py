"""Which dialect and which entity a file is, decided from its header.

The file name is a hint only (`invoices__2024-03.csv` prefers invoices when two
entities fit the header equally well); the header decides.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ingest.contracts import CONTRACTS, get_contract
from ingest.dialects import DIALECTS, Dialect, get_dialect
from ingest.errors import DialectNotRecognised, EntityNotRecognised, FileRefused

MAX_HEADER_LENGTH = 200


@dataclass(frozen=True)
class Detection:
    dialect: Dialect
    entity: str
    # position in the file's header -> contract column
    mapping: dict[int, str]
    # position -> original header, for columns the contract does not know
    extras: dict[int, str]
    headers: tuple[str, ...] = ()


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
    stem = file.name.split(".")[0]
    prefix = stem.split("__")[0].lower()
    return prefix if prefix in CONTRACTS else None


def _score(dialect: Dialect, entity: str, normalised: list[str]) -> tuple[int, float, dict[int, str]]:
    table = {normalise_header(h): col for h, col in dialect.headers[entity].items()}
    mapping = {i: table[h] for i, h in enumerate(normalised) if h in table}
    contract = get_contract(entity)
    mapped = set(mapping.values())
    if not set(contract.required_columns) <= mapped:
        return 0, 0.0, {}
    return len(mapped), len(mapped) / len(contract.columns), mapping


def detect(
    headers: list[str],
    file: Path,
    *,
    dialect: str | None = None,
    entity: str | None = None,
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
    if entity:
        get_contract(entity)
    hint = _entity_hint(file)
    candidates = []
    for d in dialects:
        for e in d.entities():
            if entity and e != entity:
                continue
            matched, coverage, mapping = _score(d, e, normalised)
            if matched:
                candidates.append((matched, coverage, e == hint, d.name == "generic", d, e, mapping))
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
    _, _, _, _, chosen_dialect, chosen_entity, mapping = best
    extras = {i: h for i, h in enumerate(headers) if i not in mapping}
    return Detection(
        dialect=chosen_dialect, entity=chosen_entity, mapping=mapping, extras=extras, headers=tuple(headers)
    )
