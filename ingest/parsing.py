"""Value parsing: one rule per logical type, in two forms that must agree.

- `sql_*` functions build DuckDB SQL expressions; the loader uses them so parsing
  runs in bulk inside DuckDB (no Python loop per row).
- `parse_*` functions are the Python reference of the same rule; the property
  tests check that both give the same answer on arbitrary text, and the XLSX
  reader and generator use them.

SQL expressions only ever receive column references the loader generated itself
(`"c0"`, `"t_amount"`), never text from an export.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)

MIN_DATE = date(1990, 1, 1)
MAX_DATE = date(2100, 12, 31)
# Whitespace an export may put around or inside numbers: space, NBSP, narrow NBSP, tab.
SPACES = " \u00a0\u202f\t"
# Space separators (Unicode Zs: space, NBSP, narrow NBSP, ...) are trimmed around
# values: exactly what DuckDB's one-argument trim removes, and it is fast.
_TRIM_CHARS = (
    "\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)


def sql_literal(text: str) -> str:
    """Quote a constant from *our own code* (contract values, formats) as a SQL string."""
    return "'" + text.replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --------------------------------------------------------------------------- text
def clean_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip(_TRIM_CHARS)
    return value or None


def sql_clean_text(expr: str) -> str:
    return f"nullif(trim({expr}), '')"


# --------------------------------------------------------------------------- INN / KPP
def inn_check_digit(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_is_valid(value: str | None) -> bool:
    """True for a 10-digit (organisation) or 12-digit (individual) INN with correct check digits."""
    if value is None or not value.isascii() or not value.isdigit():
        return False
    if len(value) == 10:
        return inn_check_digit(value[:9], INN10_WEIGHTS) == int(value[9])
    if len(value) == 12:
        return inn_check_digit(value[:10], INN11_WEIGHTS) == int(value[10]) and inn_check_digit(
            value[:11], INN12_WEIGHTS
        ) == int(value[11])
    return False


def parse_inn(value: str | None) -> str | None:
    """Clean text -> the INN if valid, else None. Spaces inside are tolerated."""
    value = clean_text(value)
    if value is None:
        return None
    value = re.sub(f"[{SPACES}]", "", value)
    return value if inn_is_valid(value) else None


def _sql_digit(expr: str, pos: int) -> str:
    return f"(ascii(substr({expr}, {pos}, 1)) - 48)"


def _sql_check(expr: str, weights: tuple[int, ...]) -> str:
    terms = " + ".join(f"{w} * {_sql_digit(expr, i + 1)}" for i, w in enumerate(weights))
    return f"((({terms}) % 11) % 10)"


def sql_inn(expr: str) -> str:
    """Expression: the INN (digits only) when valid, else NULL."""
    s = f"regexp_replace({expr}, '[ \u00a0\u202f\t]', '', 'g')"
    ten = f"{_sql_check('s', INN10_WEIGHTS)} = {_sql_digit('s', 10)}"
    twelve = (
        f"{_sql_check('s', INN11_WEIGHTS)} = {_sql_digit('s', 11)} "
        f"and {_sql_check('s', INN12_WEIGHTS)} = {_sql_digit('s', 12)}"
    )
    # A one-element list binds the cleaned text once, as `s`.
    return (
        f"(list_transform([{s}], lambda s: case "
        f"when regexp_full_match(s, '[0-9]{{10}}') and {ten} then s "
        f"when regexp_full_match(s, '[0-9]{{12}}') and {twelve} then s end))[1]"
    )


KPP_PATTERN = r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}"


def parse_kpp(value: str | None) -> str | None:
    value = clean_text(value)
    if value is None:
        return None
    value = value.upper()
    return value if re.fullmatch(KPP_PATTERN, value) else None


def sql_kpp(expr: str) -> str:
    return f"case when regexp_full_match(upper({expr}), '{KPP_PATTERN}') then upper({expr}) end"


# --------------------------------------------------------------------------- e-mail / phone
_CYR = "\u0430-\u044f\u0451"  # а-я, ё: Cyrillic domains (.рф) are real
EMAIL_PATTERN = (
    r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@"
    + f"[a-z0-9{_CYR}-]+"
    + r"(\."
    + f"[a-z0-9{_CYR}-]+)*"
    + r"\."
    + f"[a-z{_CYR}]{{2,}}"
)


def parse_email(value: str | None) -> str | None:
    value = clean_text(value)
    if value is None:
        return None
    value = value.lower()
    if value.startswith("mailto:"):
        value = value[len("mailto:") :]
    return value if re.fullmatch(EMAIL_PATTERN, value) else None


def sql_email(expr: str) -> str:
    e = f"regexp_replace(lower({expr}), '^mailto:', '')"
    return f"case when regexp_full_match({e}, {sql_literal(EMAIL_PATTERN)}) then {e} end"


PHONE_ALLOWED = "\\+?[0-9 ()\\-.\u00a0]+"


def parse_phone(value: str | None) -> str | None:
    """Russian and international phones -> '+' and digits; 8 and 7 prefixes become +7."""
    value = clean_text(value)
    if value is None or not re.fullmatch(PHONE_ALLOWED, value):
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if len(digits) == 11 and digits[0] in "78" and not value.startswith("+"):
        return "+7" + digits[1:]
    if len(digits) == 11 and value.startswith("+7"):
        return "+" + digits
    if len(digits) == 10 and digits[0] == "9" and not value.startswith("+"):
        return "+7" + digits
    if value.startswith("+") and 10 <= len(digits) <= 15 and not value.startswith("+7"):
        return "+" + digits
    return None


def sql_phone(expr: str) -> str:
    d = f"regexp_replace({expr}, '[^0-9]', '', 'g')"
    plus = f"starts_with({expr}, '+')"
    return (
        f"case when not regexp_full_match({expr}, {sql_literal(PHONE_ALLOWED)}) then null "
        f"when length({d}) = 11 and left({d}, 1) in ('7', '8') and not {plus} then '+7' || substr({d}, 2) "
        f"when length({d}) = 11 and starts_with({expr}, '+7') then '+' || {d} "
        f"when length({d}) = 10 and left({d}, 1) = '9' and not {plus} then '+7' || {d} "
        f"when {plus} and length({d}) between 10 and 15 and not starts_with({expr}, '+7') then '+' || {d} "
        f"end"
    )


# --------------------------------------------------------------------------- numbers
_DEC_POINT = r"[+-]?[0-9]+(\.[0-9]+)?"
_DEC_COMMA = r"[+-]?[0-9]+([.,][0-9]+)?"
# Ambiguous numbers are never rounded quietly (they get the reason ambiguous_number):
# - in a decimal-comma dialect, 1.234 may be a thousand two hundred and thirty-four (a point
#   grouping thousands) or one and a bit (a decimal point);
# - a value with more than two decimals that are not zeros (12.345) would be changed by rounding.
_POINT_GROUPS_THOUSANDS = r"[+-]?[0-9]{1,3}\.[0-9]{3}"
_BEYOND_CENTS = r"[+-]?[0-9]+\.[0-9]{2}0*[1-9][0-9]*"


def _number_text(value: str | None, decimal_comma: bool) -> tuple[str, str] | None:
    """(the text as written, without spaces; the same with a decimal point) when it is a number."""
    value = clean_text(value)
    if value is None:
        return None
    if decimal_comma:
        value = re.sub(f"[{SPACES}]", "", value)
        return (value, value.replace(",", ".")) if re.fullmatch(_DEC_COMMA, value) else None
    return (value, value) if re.fullmatch(_DEC_POINT, value) else None


def decimal_is_ambiguous(value: str | None, decimal_comma: bool) -> bool:
    """Whether the text is a number that cannot be stored at two decimals without a guess."""
    number = _number_text(value, decimal_comma)
    if number is None:
        return False
    written, text = number
    return bool(
        (decimal_comma and re.fullmatch(_POINT_GROUPS_THOUSANDS, written))
        or re.fullmatch(_BEYOND_CENTS, text)
    )


def parse_decimal(value: str | None, decimal_comma: bool) -> Decimal | None:
    """The number at two decimals; None when the text is not a number, or an ambiguous one."""
    number = _number_text(value, decimal_comma)
    if number is None or decimal_is_ambiguous(value, decimal_comma):
        return None
    try:
        parsed = Decimal(number[1]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None
    return parsed if abs(parsed) < Decimal(10) ** 16 else None


def _sql_without_spaces(expr: str) -> str:
    return f"regexp_replace({expr}, '[ \u00a0\u202f\t]', '', 'g')"


def sql_decimal_ambiguous(expr: str, decimal_comma: bool) -> str:
    """Expression: whether the text is an ambiguous number (see decimal_is_ambiguous)."""
    if decimal_comma:
        s = _sql_without_spaces(expr)
        return (
            f"(regexp_full_match({s}, '{_POINT_GROUPS_THOUSANDS}') "
            f"or regexp_full_match(replace({s}, ',', '.'), '{_BEYOND_CENTS}'))"
        )
    return f"regexp_full_match({expr}, '{_BEYOND_CENTS}')"


def sql_decimal(expr: str, decimal_comma: bool) -> str:
    if decimal_comma:
        s = _sql_without_spaces(expr)
        checked = f"case when regexp_full_match({s}, '{_DEC_COMMA}') then replace({s}, ',', '.') end"
    else:
        checked = f"case when regexp_full_match({expr}, '{_DEC_POINT}') then {expr} end"
    number = f"try_cast(try_cast({checked} as DECIMAL(38,6)) as DECIMAL(18,2))"
    return f"case when not coalesce({sql_decimal_ambiguous(expr, decimal_comma)}, false) then {number} end"


def parse_integer(value: str | None) -> int | None:
    value = clean_text(value)
    if value is None or not re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        return None
    return int(value)


def sql_integer(expr: str) -> str:
    return f"case when regexp_full_match({expr}, '[+-]?[0-9]{{1,18}}') then try_cast({expr} as BIGINT) end"


# --------------------------------------------------------------------------- dates
# Timestamp formats are strptime patterns, understood the same way by Python and DuckDB, plus:
# - patterns with %z read a UTC offset (+03:00, +0300) or a trailing Z, and are converted to UTC;
# - EPOCH_MICROS reads whole microseconds since 1970-01-01 UTC (GA4's event_timestamp).
EPOCH_MICROS = "epoch_us"
_EPOCH = datetime(1970, 1, 1)
# An offset we read: Z, or +HH:MM / +HHMM at the very end (Python and DuckDB differ on the rest).
_ZONE_SUFFIX = r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])$"
_EPOCH_DIGITS = r"[0-9]{1,17}"


def _zoned(fmt: str) -> bool:
    return "%z" in fmt


def parse_date(value: str | None, formats: tuple[str, ...]) -> date | None:
    value = clean_text(value)
    if value is None:
        return None
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return parsed if MIN_DATE <= parsed <= MAX_DATE else None
    return None


def _strptime(value: str, fmt: str) -> datetime | None:
    if fmt == EPOCH_MICROS:
        return _EPOCH + timedelta(microseconds=int(value)) if re.fullmatch(_EPOCH_DIGITS, value) else None
    if _zoned(fmt):
        if not re.search(_ZONE_SUFFIX, value):
            return None
        value = re.sub("Z$", "+00:00", value)
    try:
        parsed = datetime.strptime(value, fmt)
    except ValueError:
        return None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def parse_timestamp(value: str | None, formats: tuple[str, ...]) -> datetime | None:
    value = clean_text(value)
    if value is None:
        return None
    for fmt in formats:
        parsed = _strptime(value, fmt)
        if parsed is None:
            continue
        return parsed if MIN_DATE <= parsed.date() <= MAX_DATE else None
    return None


def _sql_formats(formats: tuple[str, ...]) -> str:
    return "[" + ", ".join(sql_literal(f) for f in formats) + "]"


def _sql_in_range(value: str) -> str:
    return (
        f"case when {value} between DATE '{MIN_DATE.isoformat()}' and DATE '{MAX_DATE.isoformat()}' "
        f"then {value} end"
    )


def sql_date(expr: str, formats: tuple[str, ...]) -> str:
    # Dates must be the whole value: a timestamp is not silently truncated to a date.
    return _sql_in_range(f"try_strptime({expr}, {_sql_formats(formats)})::DATE")


def _sql_parse_timestamp(expr: str, formats: tuple[str, ...]) -> str:
    """The first format that parses, as UTC TIMESTAMP (formats of one kind are tried together).

    Naive, zoned and epoch formats are parsed apart: DuckDB would read a naive text in the
    session's time zone if it were tried in one list with zoned formats. A text can match
    only one kind, so trying the kinds one after another keeps the order of `formats`.
    """
    naive = tuple(f for f in formats if f != EPOCH_MICROS and not _zoned(f))
    zoned = tuple(f for f in formats if _zoned(f))
    parts = []
    if naive:
        parts.append(f"try_strptime({expr}, {_sql_formats(naive)})")
    if zoned:
        # One call per zoned format: given a list, DuckDB 2.0 rolls 30 February over to 1 March.
        text = f"regexp_replace({expr}, 'Z$', '+00:00')"
        tried = ", ".join(f"try_strptime({text}, {sql_literal(f)})" for f in zoned)
        parsed = tried if len(zoned) == 1 else f"coalesce({tried})"
        parts.append(
            f"case when regexp_matches({expr}, {sql_literal(_ZONE_SUFFIX)}) then timezone('UTC', {parsed}) end"
        )
    if EPOCH_MICROS in formats:
        parts.append(
            f"case when regexp_full_match({expr}, {sql_literal(_EPOCH_DIGITS)}) "
            f"then make_timestamp(({expr})::BIGINT) end"
        )
    return parts[0] if len(parts) == 1 else f"coalesce({', '.join(parts)})"


def sql_timestamp(expr: str, formats: tuple[str, ...]) -> str:
    ts = _sql_parse_timestamp(expr, formats)
    return f"case when {ts}::DATE between DATE '{MIN_DATE}' and DATE '{MAX_DATE}' then {ts} end"


def parse_date_of_timestamp(value: str | None, formats: tuple[str, ...]) -> date | None:
    """The calendar date (UTC) of a timestamp: for date columns an export only has as timestamps."""
    parsed = parse_timestamp(value, formats)
    return parsed.date() if parsed else None


def sql_date_of_timestamp(expr: str, formats: tuple[str, ...]) -> str:
    return f"({sql_timestamp(expr, formats)})::DATE"


# --------------------------------------------------------------------------- booleans, enums
def parse_boolean(value: str | None, true_values, false_values) -> bool | None:
    value = clean_text(value)
    if value is None:
        return None
    value = value.lower()
    if value in true_values:
        return True
    if value in false_values:
        return False
    return None


def sql_boolean(expr: str, true_values, false_values) -> str:
    t = ", ".join(sql_literal(v) for v in true_values)
    f = ", ".join(sql_literal(v) for v in false_values)
    return f"case when lower({expr}) in ({t}) then true when lower({expr}) in ({f}) then false end"


def parse_enum(value: str | None, allowed: tuple[str, ...]) -> str | None:
    value = clean_text(value)
    if value is None:
        return None
    by_folded = {a.casefold(): a for a in allowed}
    return by_folded.get(value.casefold())


def sql_enum(expr: str, allowed: tuple[str, ...]) -> str:
    whens = " ".join(f"when {sql_literal(a.lower())} then {sql_literal(a)}" for a in allowed)
    return f"case lower({expr}) {whens} end"


# --------------------------------------------------------------------------- mojibake
# UTF-8 Cyrillic read as cp1251 shows as 'Р' or 'С' followed by a character that
# never follows them in Russian (typographic marks, rare Cyrillic, Latin-1 signs).
MOJIBAKE_HINT = "[РС][\u0080-\u00bf\u0400-\u040f\u0450-\u045f\u0490-\u0491\u2010-\u2122]"
# Some of them do follow 'Р' or 'С' in correctly written text ("ООО «АЛЬФА-Р»", "Р №5",
# "СЁ"): a pair ending in one of these proves nothing, and a repair needs at least one
# pair that correct text cannot hold.
AMBIGUOUS_AFTER_RS = "«»Ёё\u00a0№–—…“”‘’„•"


def mojibake_is_proven(value: str) -> bool:
    """Whether the text holds a mojibake pair that correctly written text cannot hold."""
    return any(m.group()[1] not in AMBIGUOUS_AFTER_RS for m in re.finditer(MOJIBAKE_HINT, value))


def repair_mojibake(value: str | None) -> str | None:
    """Undo UTF-8 text that was decoded as cp1251, when the repair is proven.

    Proof: the text holds a pair correct text cannot (see mojibake_is_proven), encodes to
    cp1251, and those bytes decode as strict UTF-8 into text with Cyrillic letters. Returns None when no proven repair exists.
    """
    if not value or not mojibake_is_proven(value):
        return None
    try:
        repaired = value.encode("cp1251").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None
    if repaired == value or not re.search("[\u0410-\u044f\u0401\u0451]", repaired):
        return None
    return repaired


# --------------------------------------------------------------------------- vendor values
def parse_value_map(value: str | None, pairs: tuple[tuple[str, str | None], ...]) -> str | None:
    """An export's code for a value -> ours (case-insensitive); text not in the map passes through
    unchanged, so that the type's own check (an enum's allowed list) rejects it with its usual reason."""
    value = clean_text(value)
    if value is None:
        return None
    lowered = value.lower()
    for vendor, ours in pairs:
        if vendor.lower() == lowered:
            return ours
    return value


def sql_value_map(expr: str, pairs: tuple[tuple[str, str | None], ...]) -> str:
    whens = " ".join(
        f"when {sql_literal(vendor.lower())} then {sql_literal(ours) if ours is not None else 'NULL'}"
        for vendor, ours in pairs
    )
    return f"case lower({expr}) {whens} else {expr} end"


# Salesforce record ids: 15 characters, case-sensitive; the 18-character form appends 3 characters
# that encode which of the 15 are capitals, so it is unique even where case is lost. We store the
# 18-character form: a 15-character id gets its suffix computed, anything else is kept as written.
_SF_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SF_ID15 = "[a-zA-Z0-9]{15}"


def salesforce_id18(value: str | None) -> str | None:
    value = clean_text(value)
    if value is None or not re.fullmatch(_SF_ID15, value):
        return value
    suffix = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(value[chunk * 5 : chunk * 5 + 5]) if "A" <= ch <= "Z")
        suffix += _SF_SUFFIX_ALPHABET[bits]
    return value + suffix


def sql_salesforce_id18(expr: str) -> str:
    def chunk(k: int) -> str:
        bits = " + ".join(
            f"(case when ascii(substr({expr}, {k * 5 + i + 1}, 1)) between 65 and 90 then {1 << i} else 0 end)"
            for i in range(5)
        )
        return f"substr({sql_literal(_SF_SUFFIX_ALPHABET)}, 1 + {bits}, 1)"

    suffix = " || ".join(chunk(k) for k in range(3))
    return f"case when regexp_full_match({expr}, {sql_literal(_SF_ID15)}) then {expr} || {suffix} else {expr} end"


# A key derived from several fields, for exports that have none (GA4 events): the MD5 (hex) of the
# fields' trimmed text joined by '|', an empty field counting as ''.
def derive_key(parts: list[str | None]) -> str:
    text = "|".join(clean_text(p) or "" for p in parts)
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def sql_derive_key(exprs: list[str]) -> str:
    joined = " || '|' || ".join(f"coalesce({sql_clean_text(e)}, '')" for e in exprs)
    return f"md5({joined})"
